"""Remote duets on loopback: clock-sync error against injected delay, and a load run.

Starts the room server (uvicorn, room routes only, server clock 1000.25 s ahead of the
machine's) in a separate process on a free 127.0.0.1 port, then:

1. **Clock sync.** For each one-way delay / jitter / stall setting, a Python client pings the
   server through the loopback delaying proxy of the tests (``tests/netem_proxy.py``) and
   estimates the offset with :class:`drumjam.session.clock.ClockSync`; the error is the
   estimate minus the true 1000.25 s. Two runs of 48 pings per setting.
2. **Load.** ``--rooms`` rooms x 2 players, each player sending ``--rate`` hits a second for
   ``--seconds`` s (10 hits/s = sixteenth notes at 150 BPM), every room at its own phase. For
   every hit: the time from sending to its acknowledgement and to the partner's relay; at the
   end, the hits the server kept (from each room's result) against the hits sent.

Loopback only; every loop is bounded in count and time.

    python benchmarks/remote.py                       # 100 rooms x 2 x 10 hits/s x 60 s
    python benchmarks/remote.py --rooms 20 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from netem_proxy import DelayProxy

from drumjam.session.clock import ClockSync

SERVER_AHEAD_S = 1000.25
LEAD_IN_S = 3.0
CLOCK_SETTINGS = [  # (one-way delay ms, jitter ms, stall probability)
    (0.5, 0.0, 0.0), (5, 1, 0.0), (15, 3, 0.0), (15, 3, 0.05), (30, 5, 0.0), (30, 10, 0.0),
    (60, 10, 0.0), (60, 10, 0.05),
]
console = Console(width=120)
LOAD_BEFORE = [0.0]


# ---------------------------------------------------------------------- server process
def serve(port: int, song_s: float) -> None:
    """Run the room server (called in the child process)."""
    import uvicorn
    from fastapi import FastAPI

    from drumjam.model import BeatMap, Chart
    from drumjam.library import Song
    from drumjam.web import room_routes

    beatmap = BeatMap.constant(150.0, song_s)
    chart = Chart.from_grid(beatmap, 16, ["hihat_closed"], title="sixteenths at 150 BPM")
    song = Song(id="load", title="load", beatmap=beatmap, chart=chart, grid=16,
                audio_path=Path("none.ogg"))
    app = FastAPI()
    app.include_router(room_routes.router)
    service = room_routes.RoomService(
        clock_s=lambda: time.time() + SERVER_AHEAD_S, songs={"load": song}.__getitem__,
        lead_in_s=LEAD_IN_S, rejoin_grace_s=2.0)
    app.state.rooms = service
    handle_ms: list[float] = []
    handle = room_routes._handle

    async def timed_handle(service, room, seat, msg, received_ms):
        # server latency of a hit: from its arrival to its ack being ready (relay sent)
        reply = await handle(service, room, seat, msg, received_ms)
        if msg.type == "hit":
            handle_ms.append(service.now_ms() - received_ms)
        return reply

    room_routes._handle = timed_handle

    @app.get("/bench/server-latency")
    async def server_latency() -> list[float]:
        return handle_ms

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(port: int, song_s: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--song-seconds", str(song_s)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the room server did not start")


async def open_room(port: int) -> tuple[str, str, str]:
    """Create and join a room over HTTP; returns (code, token A, token B)."""
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        host = (await http.post("/api/rooms", json={"song_id": "load", "name": "A"})).json()
        guest = (await http.post("/api/rooms/join", json={"code": host["code"], "name": "B"})).json()
    return host["code"], host["token"], guest["token"]


async def enter(ws, code: str, token: str) -> None:
    """Say hello with the room's code and the player's token; wait for the welcome."""
    await ws.send(json.dumps({"type": "hello", "code": code, "token": token}))
    await ws.recv()


# ---------------------------------------------------------------------- clock sync
async def clock_error_ms(port: int, pings: int = 48, gap_s: float = 0.04) -> tuple[float, float]:
    """Offset error and fastest round trip (ms) after ``pings`` round trips."""
    code, token, _ = await open_room(port)
    sync = ClockSync()
    async with connect(f"ws://127.0.0.1:{port}/api/rooms/ws") as ws:
        await enter(ws, code, token)
        for _ in range(pings):
            t0 = time.time()
            await ws.send(json.dumps({"type": "ping", "t0_ms": t0 * 1e3}))
            while (msg := json.loads(await ws.recv()))["type"] != "pong":
                pass
            t3 = time.time()
            sync.add(t0, msg["t1_ms"] / 1e3, msg["t2_ms"] / 1e3, t3)
            await asyncio.sleep(gap_s)
    now = time.time()
    return (sync.to_server(now) - (now + SERVER_AHEAD_S)) * 1e3, sync.estimate.rtt_s * 1e3


def clock_table(server_port: int) -> Table:
    table = Table(title="Clock sync through the delaying proxy (2 runs x 48 pings each)")
    for col in ("one-way delay", "jitter (+-)", "stalls", "fastest RTT", "|error| run 1", "|error| run 2"):
        table.add_column(col, justify="right")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("clock sync", total=len(CLOCK_SETTINGS) * 2)
        for delay, jitter, stall in CLOCK_SETTINGS:
            errors, rtts = [], []
            for seed in (1, 2):
                with DelayProxy(server_port, delay_s=delay / 1e3, jitter_s=jitter / 1e3,
                                stall_probability=stall, lifetime_s=60, seed=seed) as proxy:
                    err, rtt = asyncio.run(clock_error_ms(proxy.port))
                errors.append(abs(err))
                rtts.append(rtt)
                progress.advance(task)
            table.add_row(f"{delay:g} ms", f"{jitter:g} ms", f"{stall:.0%}", f"{min(rtts):.2f} ms",
                          f"{errors[0]:.3f} ms", f"{errors[1]:.3f} ms")
    return table


# ---------------------------------------------------------------------- load
class Player:
    def __init__(self) -> None:
        self.sent: dict[int, float] = {}
        self.ack_ms: list[float] = []
        self.relay_ms: list[float] = []
        self.result: dict | None = None


class RoomRun:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.start_ms = 0.0


def shared_now_ms() -> float:
    return (time.time() + SERVER_AHEAD_S) * 1e3


async def play(port: int, code: str, token: str, me: Player, room: RoomRun, starter: bool,
               rate: float, seconds: float, phase_s: float) -> None:
    async with connect(f"ws://127.0.0.1:{port}/api/rooms/ws", max_queue=None) as ws:
        await enter(ws, code, token)

        async def listen() -> None:
            async for text in ws:
                now = time.perf_counter()
                msg = json.loads(text)
                if msg["type"] == "judgment" and msg["seq"] in me.sent:
                    me.ack_ms.append((now - me.sent[msg["seq"]]) * 1e3)
                elif msg["type"] == "partner_hit":
                    me.relay_ms.append(shared_now_ms() - (room.start_ms + msg["time_s"] * 1e3))
                elif msg["type"] == "start":
                    room.start_ms = msg["start_ms"]
                    room.started.set()
                elif msg["type"] == "end":
                    me.result = msg["result"]
                    return

        listener = asyncio.create_task(listen())
        if starter:
            await ws.send(json.dumps({"type": "start"}))
        await asyncio.wait_for(room.started.wait(), 30)
        for k in range(int(seconds * rate)):
            due_ms = room.start_ms + (phase_s + k / rate) * 1e3
            await asyncio.sleep(max(0.0, (due_ms - shared_now_ms()) / 1e3))
            me.sent[k] = time.perf_counter()
            await ws.send(json.dumps({"type": "hit", "seq": k, "time_s": (shared_now_ms() - room.start_ms) / 1e3,
                                      "voice": "hihat_closed", "velocity": 90}))
        await asyncio.wait_for(listener, seconds + 60)


async def load_run(port: int, rooms: int, rate: float, seconds: float) -> dict:
    rng = random.Random(5)
    tasks, players = [], []
    for _ in range(rooms):
        code, tok_a, tok_b = await open_room(port)
        a, b, room = Player(), Player(), RoomRun()
        players += [a, b]
        phase = rng.uniform(0, 1 / rate)
        tasks.append(play(port, code, tok_a, a, room, True, rate, seconds, phase))
        tasks.append(play(port, code, tok_b, b, room, False, rate, seconds, phase))
    await asyncio.wait_for(asyncio.gather(*tasks), seconds + 120)
    kept = 0
    for a in players[::2]:
        for score in (a.result or {}).get("players", []):
            kept += score["score"]["matched"] + score["score"]["extra"]
    return {"sent": sum(len(p.sent) for p in players), "kept": kept,
            "acked": sum(len(p.ack_ms) for p in players),
            "ack_ms": np.concatenate([p.ack_ms for p in players]),
            "relay_ms": np.concatenate([p.relay_ms for p in players])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="hits per second per player")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--skip-clock", action="store_true")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--song-seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.song_seconds)
        return
    if not (1 <= args.rooms <= 200 and 1 <= args.seconds <= 120 and 0.5 <= args.rate <= 20):
        parser.error("keep it bounded: --rooms 1-200, --seconds 1-120, --rate 0.5-20")
    LOAD_BEFORE[0] = os.getloadavg()[0]
    port = free_port()
    server = start_server(port, song_s=LEAD_IN_S + 2.0 + args.seconds + 1.0)
    try:
        if not args.skip_clock:
            console.print(clock_table(port))
        console.print(f"load: {args.rooms} rooms x 2 players x {args.rate:g} hits/s for {args.seconds:g} s ...")
        t0, cpu0, server_cpu0 = time.monotonic(), time.process_time(), cpu_seconds(server.pid)
        out = asyncio.run(load_run(port, args.rooms, args.rate, args.seconds))
        wall = time.monotonic() - t0
        client_cpu = (time.process_time() - cpu0) / wall
        server_cpu = (cpu_seconds(server.pid) - server_cpu0) / wall
        import httpx

        server_ms = np.array(httpx.get(f"http://127.0.0.1:{port}/bench/server-latency", timeout=30).json())
    finally:
        server.terminate()
        server.wait(10)
    acks = out["ack_ms"]
    acks, relays = out["ack_ms"], out["relay_ms"]
    table = Table(title=f"Load on loopback: {args.rooms} rooms x 2 players x {args.rate:g} hits/s x {args.seconds:g} s")
    for col in ("hits sent", "kept", "lost", "server p50", "server p99", "ack p50", "ack p99",
                "relay p50", "relay p99", "server CPU", "clients CPU"):
        table.add_column(col, justify="right")
    ms = (lambda a, q: f"{np.percentile(a, q):.1f} ms")
    table.add_row(str(out["sent"]), str(out["kept"]), str(out["sent"] - out["kept"]),
                  ms(server_ms, 50), ms(server_ms, 99), ms(acks, 50), ms(acks, 99),
                  ms(relays, 50), ms(relays, 99), f"{server_cpu:.0%}", f"{client_cpu:.0%}")
    console.print(table)
    console.print(
        "server: from a hit's arrival at the server to its acknowledgement being ready (checked, kept,\n"
        "scored, relayed to the partner). ack: from the client sending a hit to receiving the ack;\n"
        "relay: to the partner receiving it (both include the client process's own queueing).\n"
        f"kept: hits in the rooms' final results (matched + extra). {out['acked']} acks received; "
        f"wall {wall:.0f} s; CPU shares are of one core, averaged over the wall time; "
        f"load average before the run {LOAD_BEFORE[0]:.1f}.")


if __name__ == "__main__":
    main()
