"""Start-up cost of beat analysis: CPU seconds a fresh process spends before it analyses.

Run from the repository root::

    python benchmarks/startup.py [--runs 5]      # prints the table, writes benchmarks/results/startup.md

For ``drumjam analyze`` the start-up is the CPU time (user + system) of
``drumjam analyze CLICK.wav --no-cache --json`` less that of ``drumjam --help`` (the CLI's own
start) and less the CPU the analysis of the same 4-second file takes inside a warm process.
Beside it, the CPU of a fresh Python process that imports a peer and tracks the same file
(librosa's ``beat_track``, madmom's RNN + DBN where installed), less the warm in-process cost:
what each pays to start. Medians over the runs.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from beats import available_trackers, TRACKERS  # noqa: E402

DRUMJAM = [sys.executable, "-c", "from drumjam.cli import main; main()"]
PEER_SNIPPET = ("import sys; sys.path.insert(0, {bench!r}); from beats import TRACKERS; "
                "from pathlib import Path; TRACKERS[{name!r}](Path({path!r}))")


def child_cpu_s(cmd: list[str]) -> float:
    """CPU seconds (user + system) a command takes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def warm_cpu_s(name: str, path: Path, runs: int) -> float:
    """Median CPU seconds of one tracker on the file inside this (warm) process."""
    fn = TRACKERS[name]
    fn(path)
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        fn(path)
        times.append(time.process_time() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from drumjam.analysis import render_click
    from drumjam.io.audio import write_audio
    from drumjam.model import BeatMap

    with tempfile.TemporaryDirectory() as tmp:
        click = Path(tmp) / "click.wav"
        write_audio(click, render_click(BeatMap.constant(120.0, 4.0), 4.0, 44100), 44100)
        median = lambda cmd: float(np.median([child_cpu_s(cmd) for _ in range(args.runs)]))  # noqa: E731
        help_s = median([*DRUMJAM, "--help"])
        analyze_s = median([*DRUMJAM, "analyze", str(click), "--no-cache", "--json"])
        rows = [("drumjam analyze", analyze_s - help_s, warm_cpu_s("drumjam", click, args.runs))]
        for name in available_trackers():
            if name == "drumjam":
                continue
            code = PEER_SNIPPET.format(bench=str(ROOT / "benchmarks"), name=name, path=str(click))
            fresh = median([sys.executable, "-c", code])
            rows.append((name, fresh - median([sys.executable, "-c", "pass"]), warm_cpu_s(name, click, args.runs)))
    lines = [f"CPU seconds, median of {args.runs} runs; `drumjam --help` alone: {help_s:.2f} s", "",
             "| tracker | fresh process (beyond the CLI's or Python's own start) | analysis in a warm process "
             "| start-up |", "|---|---|---|---|"]
    lines += [f"| {name} | {fresh:.2f} | {warm:.2f} | {fresh - warm:.2f} |" for name, fresh, warm in rows]
    text = "\n".join(lines)
    print(text)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "startup.md").write_text(
        "# Start-up cost of beat analysis\n\nMade by `python benchmarks/startup.py`.\n\n" + text + "\n")


if __name__ == "__main__":
    main()
