"""Hit-to-judgment round trip of the jam app's WebSocket on loopback, and what the
write-through of hits to the database adds to it.

Starts ``drumjam.web.app:create_app`` with uvicorn in a separate process on a free 127.0.0.1
port (its own temporary DRUMJAM_HOME, SQLite history), then measures, from send to the
judgment's arrival:

1. one session sending its hits one after the other;
2. 50 sessions at once, each sending a hit every 100 ms (16th notes at 150 BPM) at its own
   phase, 500 hits a second in all;
3. 50 sessions at once, each a hit every 20 ms (16th notes at 750 BPM, 2,500 hits a second):
   the server and the clients then fill this 2-core machine, and the round trip's tail is
   queueing behind them.

On a shared machine the load of other work moves round trips by far more than the
write-through costs, so both are measured in one server whose write-through is switched on
and off every second (a benchmark-only route): phases with and without it alternate under the
same load. Hits sent within 0.25 s after a switch are left out (the writer may still be
writing the last batch of the phase before). The cost is the difference of the pooled
percentiles, with a 95 % interval from a two-level bootstrap (pairs of neighbouring phases,
then hits within them). Inside the server, the same switching is seen on its event loop (how
late a 1 ms sleep wakes: the GIL held by the writer would show there first, with a thousand
samples a second), and the writer's batches are timed (wall time and CPU per hit).

The clients run on uvloop (as uvicorn does), so that the measurement is not the Python client's
own overhead. Loopback only, bounded in time; writes ``results/ws_latency.md``.

    python benchmarks/ws_latency.py [--seconds 30] [--sessions 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import numpy as np
import uvloop
import websockets

SONG = "fast-rock"
RESULTS = Path(__file__).parent / "results" / "ws_latency.md"
#: How long the write-through stays on, then off.
PHASE_S = 1.0
#: Hits sent this soon after a switch are left out.
SETTLE_S = 0.25
#: Hits of one session before the player starts another (hit numbers stay under 20,000).
HITS_PER_SESSION = 15_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_switchable():  # noqa: ANN201 (a FastAPI app)
    """The jam app as it runs, with its write-through switched on and off by
    ``GET /bench/write-through?on=0|1``, and its writer's batches as the writing process timed
    them (hits, wall s, CPU s; served at ``GET /bench/writes``)."""
    from fastapi.routing import APIRoute

    from drumjam.web.app import create_app

    # every benchmark client comes from 127.0.0.1: one address's limits would stop the loads
    app = create_app(rate_limits={"sessions": (1_000_000, 1_000_000.0), "rooms": (10, 6.0)})
    history = app.state.jam.history
    recorder, switch = history.recorder, {"on": True}

    def switchable(session_id: int):  # noqa: ANN202
        record = recorder(session_id)
        return lambda player, hit: record(player, hit) if switch["on"] else None

    history.recorder = switchable
    def set_switch(on: int) -> dict:
        switch["on"] = bool(on)
        return switch

    async def probe(seconds: float) -> list:
        """(time, lag ms) of 1 ms sleeps on the server's event loop for ``seconds``: how late
        the loop gets back to its work, whatever holds it up (the GIL, other processes)."""
        lags, end = [], time.perf_counter() + min(seconds, 600.0)
        while (t := time.perf_counter()) < end:
            await asyncio.sleep(0.001)
            lags.append((t, (time.perf_counter() - t) * 1e3 - 1.0))
        return lags

    app.router.routes[:0] = [APIRoute("/bench/writes", lambda: list(history.log.timings), methods=["GET"]),
                             APIRoute("/bench/write-through", set_switch, methods=["GET"]),
                             APIRoute("/bench/probe", probe, methods=["GET"])]
    return app


def start_server(port: int, home: str) -> subprocess.Popen:
    env = dict(os.environ, DRUMJAM_HOME=home)
    env.pop("DRUMJAM_DB_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "ws_latency:app_switchable",
         "--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--ws-per-message-deflate", "false"],
        env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/songs", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the jam app did not start")


async def one_session(base: str, clock: dict, interval_s: float, phase_s: float,
                      ready: asyncio.Barrier, go: asyncio.Event) -> list[tuple[float, float]]:
    """(send time, round trip ms) of one player's hits, from when every player has joined
    (``ready``) and the clock is set (``go``) to ``clock["until"]`` (perf_counter), the first
    ``phase_s`` after the start: setting sessions up is not measured as playing. A session
    takes :data:`HITS_PER_SESSION` hits, then the player starts another."""
    out: list[tuple[float, float]] = []
    first = True
    while first or time.perf_counter() < clock["until"]:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:  # not timed
            answer = await http.post("/api/sessions", json={"song_id": SONG, "players": [{"name": "bench"}]})
        if not answer.is_success:
            await ready.abort()  # the other players stop waiting for this one
            raise RuntimeError(f"the server refused a session: {answer.status_code} {answer.text[:200]}")
        live = answer.json()
        notes = live["plan"]["notes"]
        async with websockets.connect(base.replace("http", "ws") + live["websocket"], compression=None) as ws:
            if first:
                await ready.wait()
                await go.wait()
                await asyncio.sleep(phase_s)
                first = False
            for i in range(HITS_PER_SESSION):
                if time.perf_counter() >= clock["until"]:
                    break
                note = notes[i % len(notes)]
                t = note["time_s"] + (i // len(notes)) * live["plan"]["duration_s"] + 0.005
                msg = json.dumps({"type": "hit", "seq": i, "player": 0, "time_s": t, "voice": note["voice"]})
                sent = time.perf_counter()
                await ws.send(msg)
                reply = json.loads(await ws.recv())
                out.append((sent, (time.perf_counter() - sent) * 1000.0))
                if reply.get("type") != "judgment":
                    raise RuntimeError(f"unexpected reply {reply}")
                if interval_s:
                    await asyncio.sleep(max(0.0, interval_s - (time.perf_counter() - sent)))
    return out


async def switching(base: str, start: float, until: float, pid: int) -> list[tuple[float, bool, float]]:
    """Switch the write-through on and off every :data:`PHASE_S` from ``start``; (time, on,
    server CPU s) at each switch."""
    switches = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        on = True
        while time.perf_counter() < until:
            await http.get("/bench/write-through", params={"on": int(on)})
            switches.append((time.perf_counter(), on, cpu_s(pid)))
            on = not on
            await asyncio.sleep(max(0.0, start + len(switches) * PHASE_S - time.perf_counter()))
    switches.append((time.perf_counter(), on, cpu_s(pid)))
    return switches


async def played(base: str, pid: int, sessions: int, interval_s: float,
                 seconds: float) -> tuple[list, list, list]:
    """Hits of ``sessions`` sessions for ``seconds``, the write-through switching meanwhile,
    and the server's event-loop lags over the same time."""
    # players are not in step with each other: each session starts at its own phase
    phases = np.random.default_rng(0).uniform(0, interval_s, sessions)
    ready, go, clock = asyncio.Barrier(sessions + 1), asyncio.Event(), {"until": 0.0}
    tasks = [asyncio.create_task(one_session(base, clock, interval_s, p, ready, go)) for p in phases]
    await ready.wait()  # every session set up
    start = time.perf_counter()
    clock["until"] = start + seconds
    go.set()
    async with httpx.AsyncClient(base_url=base, timeout=seconds + 120) as http:
        lags = asyncio.create_task(http.get("/bench/probe", params={"seconds": seconds}))
        switches = await switching(base, start, clock["until"], pid)
        lag_list = (await lags).json()
    hits = [h for r in await asyncio.gather(*tasks) for h in r]
    return hits, switches, lag_list


async def writer_alone(home: str, rate_hz: float, seconds: float) -> tuple[list, list]:
    """The write-through at ``rate_hz`` hits a second with no network and no scoring: an
    event loop queues the hits (as the app's does) and sleeps 1 ms between ticks, the writer
    switched on and off every :data:`PHASE_S`; (time, lag ms) of every tick, and the switches."""
    from drumjam.model import BeatMap, Hit
    from drumjam.session.live import Player
    from drumjam.web.state import History

    history = History(f"sqlite:///{home}/alone.db")
    record = history.recorder(history.open(song_id=SONG, title="bench", players=[Player("bench")],
                                           beatmap=BeatMap.constant(120.0, 60.0), chart=None,
                                           practice={}))
    hit = Hit(1.0, "snare", 100)
    record(0, hit)  # warm-up: the database opened and written once
    history.writer.flush()
    ticks, switches, owed, on = [], [], 0.0, False
    start = last = time.perf_counter()
    while (t := time.perf_counter()) < start + seconds:
        phase_on = int((t - start) / PHASE_S) % 2 == 0
        if phase_on != on or not switches:
            on = phase_on
            switches.append((t, on, 0.0))
        owed += (t - last) * rate_hz
        last = t
        while owed >= 1.0:
            owed -= 1.0
            if on:
                record(0, hit)
        await asyncio.sleep(0.001)
        ticks.append((t, (time.perf_counter() - t) * 1e3 - 1.0))
    switches.append((time.perf_counter(), on, 0.0))
    history.close()
    return ticks, switches


def by_phase(hits: list, switches: list) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    """Round trips of each whole phase, with and without the write-through (the first
    :data:`SETTLE_S` of each left out), and the server's CPU seconds and hits per mode."""
    sent = np.array([h[0] for h in hits])
    rtt = np.array([h[1] for h in hits])
    on, off, cpu = [], [], {True: [0.0, 0], False: [0.0, 0]}
    for (t0, mode, c0), (t1, _, c1) in zip(switches, switches[1:]):
        inside = (sent >= t0 + SETTLE_S) & (sent < t1)
        (on if mode else off).append(rtt[inside])
        cpu[mode][0] += c1 - c0
        cpu[mode][1] += int(((sent >= t0) & (sent < t1)).sum())
    return on, off, cpu


def cpu_s(pid: int) -> float:
    """User + system CPU seconds so far of a process and its child processes (the server's
    hit-writing process), from Linux /proc."""
    total, pids = 0.0, [pid]
    while pids:
        p = pids.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue  # ended meanwhile
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pids += [int(c) for c in children]
    return total


def bootstrap_diff(on: list[np.ndarray], off: list[np.ndarray], q: float,
                   n: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """The difference of the q-th percentiles of the pooled round trips (on - off), and its
    95 % interval from resampling pairs of neighbouring phases, then the hits within each."""
    rng = np.random.default_rng(seed)
    pairs = min(len(on), len(off))
    point = float(np.percentile(np.concatenate(on), q) - np.percentile(np.concatenate(off), q))
    diffs = np.empty(n)
    for k in range(n):
        pick = rng.integers(0, pairs, pairs)
        a = np.concatenate([rng.choice(on[i], on[i].size) for i in pick if on[i].size])
        b = np.concatenate([rng.choice(off[i], off[i].size) for i in pick if off[i].size])
        diffs[k] = np.percentile(a, q) - np.percentile(b, q)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return point, float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="of each load, half with "
                        "the write-through")
    parser.add_argument("--sessions", type=int, default=50, help="simultaneous sessions")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    port = free_port()
    loads = {"1 session, back to back": (1, 0.0),
             f"{args.sessions} sessions, a hit every 100 ms each": (args.sessions, 0.100),
             f"{args.sessions} sessions, a hit every 20 ms each": (args.sessions, 0.020)}
    measured, loop_lags, load_avg = {}, {}, []
    with tempfile.TemporaryDirectory() as home:
        proc = start_server(port, home)
        try:
            base = f"http://127.0.0.1:{port}"
            uvloop.run(played(base, proc.pid, 1, 0.0, 2.0))  # warm-up
            for name, (sessions, interval_s) in loads.items():
                hits, switches, lags = uvloop.run(played(base, proc.pid, sessions, interval_s, args.seconds))
                measured[name] = by_phase(hits, switches)
                loop_lags[name] = by_phase(lags, switches)
                load_avg.append(os.getloadavg()[0])
            writes = np.asarray(httpx.get(f"{base}/bench/writes").json(), dtype=float).reshape(-1, 3)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        rate_hz = args.sessions / 0.020
        ticks, switches = uvloop.run(writer_alone(home, rate_hz, args.seconds))
        alone = by_phase(ticks, switches)
    lines = ["# benchmarks/ws_latency.py", "",
             f"`python benchmarks/ws_latency.py --seconds {args.seconds:g} --sessions {args.sessions}`, "
             f"{date.today()}: one server, the write-through switched on and off every {PHASE_S:g} s; "
             f"{os.cpu_count()} cores shared by server, clients and other work, load average "
             f"{min(load_avg):.1f}-{max(load_avg):.1f} while it ran"
             + (f" (server and clients at niceness {os.nice(0)})" if os.nice(0) else "") + ".", "",
             "Hit-to-judgment round trip over WebSocket on loopback (ms):", "",
             "| load | write-through | hits | p50 | p99 | max | server CPU µs per hit (with its writing process) |",
             "|---|---|---|---|---|---|---|"]
    for name, (on, off, cpu) in measured.items():
        for mode, parts in ((False, off), (True, on)):
            a = np.concatenate(parts)
            lines.append(f"| {name} | {'on' if mode else 'off'} | {a.size} | {np.percentile(a, 50):.2f} | "
                         f"{np.percentile(a, 99):.2f} | {a.max():.2f} | "
                         f"{1e6 * cpu[mode][0] / max(cpu[mode][1], 1):.0f} |")
    lines += ["", "What the write-through adds (on - off), with its 95 % bootstrap interval:", "",
              "| load | p50 | p99 |", "|---|---|---|"]
    for name, (on, off, _) in measured.items():
        cells = []
        for q in (50, 99):
            d, low, high = bootstrap_diff(on, off, q)
            cells.append(f"{d:+.2f} ms [{low:+.2f}, {high:+.2f}]")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    lines += ["", "The server's event loop meanwhile: how much later than asked a 1 ms sleep wakes "
              "(ms), and what the write-through adds:", "",
              "| load | write-through | sleeps | p50 | p99 | max | on - off p99 |", "|---|---|---|---|---|---|---|"]
    for name, (on, off, _) in loop_lags.items():
        d, low, high = bootstrap_diff(on, off, 99)
        for mode, parts in ((False, off), (True, on)):
            a = np.concatenate(parts)
            lines.append(f"| {name} | {'on' if mode else 'off'} | {a.size} | {np.percentile(a, 50):.3f} | "
                         f"{np.percentile(a, 99):.3f} | {a.max():.2f} | "
                         + (f"{d:+.3f} ms [{low:+.3f}, {high:+.3f}] |" if mode else "|"))
    on, off, _ = alone
    d, low, high = bootstrap_diff(on, off, 99)
    lines += ["", f"The write-through alone at {args.sessions} sessions' rate ({rate_hz:.0f} hits a "
              "second queued from an event loop, no network, no scoring): how late a 1 ms sleep of "
              "that loop wakes (ms):", "",
              "| write-through | sleeps | p50 | p99 | max | on - off p99 |", "|---|---|---|---|---|---|"]
    for mode, parts in ((False, off), (True, on)):
        a = np.concatenate(parts)
        lines.append(f"| {'on' if mode else 'off'} | {a.size} | {np.percentile(a, 50):.3f} | "
                     f"{np.percentile(a, 99):.3f} | {a.max():.2f} | "
                     + (f"{d:+.3f} ms [{low:+.3f}, {high:+.3f}] |" if mode else "|"))
    if writes.size:
        lines += ["", "The writer's batches inside the server, all phases with the write-through:", "",
                  "| batches | hits per batch, median / max | write ms, p50 / p99 / max | writer CPU µs per hit |",
                  "|---|---|---|---|",
                  f"| {len(writes)} | {np.median(writes[:, 0]):.0f} / {writes[:, 0].max():.0f} | "
                  f"{1e3 * np.percentile(writes[:, 1], 50):.2f} / {1e3 * np.percentile(writes[:, 1], 99):.2f} / "
                  f"{1e3 * writes[:, 1].max():.2f} | {1e6 * writes[:, 2].sum() / writes[:, 0].sum():.1f} |"]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
