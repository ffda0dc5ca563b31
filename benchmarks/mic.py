"""Microphone players on the server: mic-to-mark latency and CPU per player.

A take (a Groove MIDI groove, 20 s) is rendered with the AVL Black Pearl kit at 48 kHz, a
stand-in song is mixed in as bleed, and the audio is fed to :class:`drumjam.session.mic.MicInput`
in 20 ms frames (what the browser sends), as the server does: once transcribing only, once
cancelling the song's bleed too.

- **mic-to-mark latency**: for every hit, from when it sounded to when its judgment exists
  on the server: the frame it completes in (up to 20 ms), the transcriber's look-ahead, and the
  time spent on that frame. The browser adds its capture buffer and the network.
- **CPU per player**: CPU seconds per second of audio (one player, one thread).
- **players in real time**: k players fed at once from k threads of one process (as the app's
  thread pool runs them), as fast as they go: seconds of audio done per wall second, summed
  over the players, is how many players it keeps up with on this machine.

    python benchmarks/mic.py [--seconds 20] [--players 1 2 4 8] [--no-write]

prints the table and writes ``benchmarks/results/mic.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from drumjam.analysis.bleed import ArraySignal
from drumjam.io.midi import read_take
from drumjam.io.render import render_events
from drumjam.model import Take
from drumjam.session.live import LiveSession, Player
from drumjam.session.mic import MicFrame, MicInput
from drumjam.session.playback import Played

SR = 48000
FRAME = SR // 50
RESULTS = Path(__file__).resolve().parent / "results" / "mic.md"
GROOVE = Path(__file__).resolve().parents[2] / "shared/data/groove-midi/drummer1/eval_session/2_funk-groove2_105_beat_4-4.mid"


def make_audio(seconds: float) -> tuple[np.ndarray, np.ndarray, Take]:
    """The take's drums with a song's bleed, and the song."""
    take = read_take(GROOVE)
    take = Take(tuple(h for h in take.hits if h.time_s < seconds - 1), player="bench",
                beatmap=take.beatmap)
    drums, _ = render_events(take, soundfont="black_pearl", sample_rate=SR, mono=True)
    rng = np.random.default_rng(0)
    n = drums.size
    t = np.arange(n) / SR
    song = (0.05 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(n)).astype(np.float32)
    lag = int(0.04 * SR)
    bleed = np.concatenate([np.zeros(lag, np.float32), song[:-lag]]) * 0.5
    return drums + bleed, song, take


def new_input(take: Take, song: np.ndarray | None) -> MicInput:
    session = LiveSession([Player("bench", 40.0 if song is not None else 0.0)], take.beatmap,
                          None, grid=16)
    played = None if song is None else Played(ArraySignal(song), ArraySignal(np.zeros(0, np.float32)), 0.0, 0.0)
    return MicInput(partial(session.add_hit, 0), sample_rate=SR, timeline_zero_frame=0,
                    round_trip_s=session.players[0].latency_ms / 1000, played=played)


def run_one(audio: np.ndarray, take: Take, song: np.ndarray | None) -> tuple[float, list[float]]:
    """CPU seconds for the whole stream and the mic-to-mark latency of each hit (ms)."""
    mic = new_input(take, song)
    latencies = []
    cpu0 = time.process_time()
    for i in range(0, audio.size, FRAME):
        t0 = time.perf_counter()
        heard, _ = mic.feed(MicFrame(0, i // FRAME, i, audio[i:i + FRAME]))
        spent = time.perf_counter() - t0
        end_s = min(i + FRAME, audio.size) / SR
        latencies += [1000 * (end_s - h.hit.time_s + spent) for h in heard]
    mic.end()
    return time.process_time() - cpu0, latencies


def run_many(k: int, audio: np.ndarray, take: Take, song: np.ndarray | None) -> float:
    """Players kept up with: seconds of audio done per wall second, k players at once."""
    def feed(_: int) -> None:
        mic = new_input(take, song)
        for i in range(0, audio.size, FRAME):
            mic.feed(MicFrame(0, i // FRAME, i, audio[i:i + FRAME]))
        mic.end()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=k) as pool:
        list(pool.map(feed, range(k)))
    return k * audio.size / SR / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--players", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--no-write", action="store_true", help="print only, do not write results")
    args = parser.parse_args()
    audio, song, take = make_audio(args.seconds)
    seconds = audio.size / SR
    load_before = os.getloadavg()[0]
    rows: dict[str, list[str]] = {}
    for ref in (None, song):
        cpu, lat = run_one(audio, take, ref)
        rows.setdefault("CPU s per audio s (one player)", []).append(f"{cpu / seconds:.3f}")
        rows.setdefault("mic-to-mark p50 / p99 ms", []).append(
            f"{np.percentile(lat, 50):.0f} / {np.percentile(lat, 99):.0f}" if lat else "no hits")
        for k in args.players:
            rows.setdefault(f"players in real time (k={k} at once)", []).append(
                f"{run_many(k, audio, take, ref):.1f}")
    lines = [
        "# benchmarks/mic.py", "",
        f"`python benchmarks/mic.py --seconds {args.seconds:g} --players "
        f"{' '.join(map(str, args.players))}`, {datetime.date.today()}: {seconds:.1f} s of audio "
        f"at {SR} Hz in {FRAME}-sample frames, {os.cpu_count()} CPUs, load average "
        f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after. \"players in real time\": "
        "k players fed at once from k threads of one process, seconds of audio done per wall "
        "second summed over them (how many players the machine keeps up with).", "",
        "| | transcribe | cancel the song's bleed + transcribe |", "|---|---|---|",
        *(f"| {name} | {' | '.join(cells)} |" for name, cells in rows.items()), ""]
    text = "\n".join(lines)
    print(text)
    sys.stdout.flush()
    if not args.no_write:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(text)

if __name__ == "__main__":
    main()
