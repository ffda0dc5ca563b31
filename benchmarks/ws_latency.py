"""Hit-to-judgment round trip of the jam app's WebSocket on loopback.

Starts ``drumjam.web.app:create_app`` with uvicorn in a separate process on a free 127.0.0.1
port (its own temporary DRUMJAM_HOME), then measures, from send to the judgment's arrival:

1. one session sending its hits one after the other;
2. 50 sessions at once, each sending a hit every 20 ms (a busy drummer's 16th notes at
   190 BPM) at its own phase, 2,500 hits a second in all.

Both are measured twice: with every hit written through to the database as it arrives (the
app as it runs) and with hits kept in memory only (the write-through switched off), so that
the difference is the cost of the write-through.

The clients run on uvloop (as uvicorn does), so that the measurement is not the Python client's
own overhead. Prints a table of p50 / p99 / max in ms. Loopback only, bounded in hits and time.

    python benchmarks/ws_latency.py [--hits 400] [--sessions 50]
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
from pathlib import Path

import httpx
import numpy as np
import uvloop
import websockets

SONG = "fast-rock"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_in_memory():  # noqa: ANN201 (a FastAPI app)
    """The jam app with the write-through switched off: hits kept in memory only."""
    from drumjam.web.app import create_app

    app = create_app()
    app.state.jam.history.recorder = lambda _session_id: None
    return app


def start_server(port: int, home: str, write_through: bool = True) -> subprocess.Popen:
    env = dict(os.environ, DRUMJAM_HOME=home)
    env.pop("DRUMJAM_DB_URL", None)
    factory = "drumjam.web.app:create_app" if write_through else "ws_latency:app_in_memory"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--app-dir", str(Path(__file__).parent),
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--ws-per-message-deflate", "false"],
        env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/songs", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the jam app did not start")


async def one_session(base: str, n_hits: int, interval_s: float, phase_s: float = 0.0,
                      ready: asyncio.Barrier | None = None) -> list[float]:
    """Round trips (ms) of one session's hits, the first sent ``phase_s`` after every session
    has joined (``ready``), so that setting sessions up is not measured as playing."""
    async with httpx.AsyncClient(base_url=base) as http:
        live = (await http.post("/api/sessions", json={"song_id": SONG, "players": [{"name": "bench"}]})).json()
    notes = live["plan"]["notes"]
    rtts = []
    async with websockets.connect(base.replace("http", "ws") + live["websocket"], compression=None) as ws:
        if ready is not None:
            await ready.wait()
        await asyncio.sleep(phase_s)
        for i in range(n_hits):
            note = notes[i % len(notes)]
            t = note["time_s"] + (i // len(notes)) * live["plan"]["duration_s"] + 0.005
            msg = json.dumps({"type": "hit", "seq": i, "player": 0, "time_s": t, "voice": note["voice"]})
            sent = time.perf_counter()
            await ws.send(msg)
            reply = json.loads(await ws.recv())
            rtts.append((time.perf_counter() - sent) * 1000.0)
            if reply.get("type") != "judgment":
                raise RuntimeError(f"unexpected reply {reply}")
            if interval_s:
                await asyncio.sleep(max(0.0, interval_s - (time.perf_counter() - sent)))
    return rtts


async def many_sessions(base: str, sessions: int, n_hits: int, interval_s: float) -> list[float]:
    # players are not in step with each other: each session starts at its own phase
    phases = np.random.default_rng(0).uniform(0, interval_s, sessions)
    ready = asyncio.Barrier(sessions)
    results = await asyncio.gather(*(one_session(base, n_hits, interval_s, p, ready) for p in phases))
    return [x for r in results for x in r]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row(name: str, rtts: list[float], server_cpu_s: float) -> str:
    a = np.asarray(rtts)
    return (f"| {name} | {a.size} | {np.percentile(a, 50):.2f} | {np.percentile(a, 99):.2f} | "
            f"{a.max():.2f} | {1e6 * server_cpu_s / a.size:.0f} |")


def measure(args: argparse.Namespace, write_through: bool) -> list[str]:
    """Table rows of one server: one session, then many at once."""
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        proc = start_server(port, home, write_through)
        try:
            base = f"http://127.0.0.1:{port}"
            uvloop.run(one_session(base, 50, 0.0))  # warm-up
            cpu0 = cpu_s(proc.pid)
            single = uvloop.run(one_session(base, args.hits, 0.0))
            cpu1 = cpu_s(proc.pid)
            crowd = uvloop.run(many_sessions(base, args.sessions, args.hits // 2, 0.020))
            cpu2 = cpu_s(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    how = "write-through" if write_through else "memory only"
    return [row(f"1 session, back to back, {how}", single, cpu1 - cpu0),
            row(f"{args.sessions} sessions, a hit every 20 ms each, {how}", crowd, cpu2 - cpu1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=400, help="hits per session")
    parser.add_argument("--sessions", type=int, default=50, help="simultaneous sessions")
    args = parser.parse_args()
    rows = measure(args, write_through=False) + measure(args, write_through=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Hit-to-judgment round trip over WebSocket on loopback (ms); "
          f"{os.cpu_count()} cores, load average {load} (server and clients share them)")
    print("| load | hits | p50 | p99 | max | server CPU µs per hit |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
