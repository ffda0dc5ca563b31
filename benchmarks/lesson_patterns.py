"""How well lesson patterns match the grooves they come from (Groove MIDI Dataset).

For every 4/4 groove ("beat") file: take an excerpt of ``--bars`` bars as the teacher's take,
extract the pattern, and compare it with the file's own notes rounded to the pattern's grid
straight from the MIDI ticks (tests/lesson_reference.py): the share of the groove's notes (in
the bars not set aside as fills) that the looped pattern contains, the grid chosen, and the
swing ratio next to the one measured directly from the onsets. "with fills" is the median
share when the bars set aside as fills count too.

    python benchmarks/lesson_patterns.py [--bars 8] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from lesson_reference import GROOVES, quantised_bars, swing_ratio_direct

from drumjam.io.midi import read_take
from drumjam.lesson.pattern import excerpt, extract_pattern, pattern_match


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    with open(GROOVES / "info.csv", newline="") as f:
        rows = [
            r
            for r in csv.DictReader(f)
            if r["beat_type"] == "beat" and r["time_signature"] == "4-4"
        ]
    if args.limit:
        rows = rows[: args.limit]
    results = []
    for row in track(rows, description="extracting patterns"):
        path = GROOVES / row["midi_filename"]
        take = excerpt(read_take(path), 0, args.bars)
        if len(take) < 8:
            continue
        t0 = time.perf_counter()
        pattern = extract_pattern(take)
        elapsed_ms = (time.perf_counter() - t0) * 1000
        direct = swing_ratio_direct(path, 0, args.bars)
        ref = quantised_bars(
            path,
            pattern.grid.value,
            0,
            args.bars,
            swing_ratio=direct if np.isfinite(direct) else pattern.swing_ratio,
        )
        match = pattern_match(pattern, ref)
        match_all_bars = pattern_match(replace(pattern, fill_bars=()), ref)
        results.append(
            (
                row["style"],
                pattern.grid.value,
                pattern.bars,
                match,
                len(pattern.fill_bars),
                pattern.swing_ratio,
                direct,
                elapsed_ms,
                match_all_bars,
            )
        )
    table = Table(
        title=f"lesson patterns on {len(results)} Groove MIDI excerpts of {args.bars} bars"
    )
    for col in (
        "grid",
        "files",
        "match median %",
        "files >= 95 %",
        "with fills %",
        "fill bars / file",
        "swing |err| median",
        "ms / take",
    ):
        table.add_column(col)
    for grid in ("16th", "swing8", "triplet", "all"):
        sel = [r for r in results if grid in ("all", r[1])]
        if not sel:
            continue
        match = np.array([r[3] for r in sel]) * 100
        err = np.abs([r[5] - r[6] for r in sel if np.isfinite(r[6])])
        table.add_row(
            grid,
            str(len(sel)),
            f"{np.median(match):.1f}",
            f"{np.mean(match >= 95) * 100:.0f} %",
            f"{np.median([r[8] for r in sel]) * 100:.1f}",
            f"{np.mean([r[4] for r in sel]):.2f}",
            f"{np.median(err):.3f}" if err.size else "-",
            f"{np.mean([r[7] for r in sel]):.1f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
