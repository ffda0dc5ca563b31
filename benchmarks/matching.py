"""Speed of drumjam's matching against mir_eval.util.match_events.

A one-hour two-player session at 120 BPM (hi-hat 8ths, kick and snare, human-like timing
noise, a few missing and extra hits) against its chart. Both matchers get the same per-group
arrays of seconds and the same 90 ms window; drumjam's full scoring (matching, judgments and
statistics) is timed too. Prints a table: `python benchmarks/matching.py`.
"""

from __future__ import annotations

import time

import mir_eval
import numpy as np

from drumjam.model import BeatMap, Chart, Hit, Note, Take
from drumjam.scoring import ScoringConfig, score_take
from drumjam.scoring.matching import match_times, target_windows
from drumjam.scoring.targets import hit_keys

WINDOW_S = 0.090
REPEATS = 5


def session(seed: int, duration_s: float = 3600.0) -> tuple[Chart, Take]:
    """A chart and one player's take of it."""
    rng = np.random.default_rng(seed)
    bm = BeatMap.constant(120.0, duration_s)
    eighths = bm.grid(8)
    notes = [Note(t, "hihat_closed", 80) for t in eighths]
    notes += [Note(t, "kick", 100) for t in eighths[0::4]]
    notes += [Note(t, "snare", 100) for t in eighths[2::4]]
    chart = Chart(tuple(notes), bm)
    keep = rng.random(len(notes)) > 0.02
    hits = [Hit(max(0.0, n.time_s + rng.normal(0.004, 0.015)), n.voice, 90)
            for n, k in zip(notes, keep) if k]
    hits += [Hit(t, "snare", 40) for t in rng.uniform(0, duration_s, len(notes) // 50)]
    return chart, Take(tuple(hits), beatmap=bm)


def per_group(chart: Chart, take: Take) -> list[tuple[np.ndarray, np.ndarray]]:
    """(target times, hit times) per voice group."""
    keys = hit_keys(take, False)
    chart_keys = np.array([n.group.value for n in chart.notes], dtype=object)
    return [(chart.times_s()[chart_keys == k], take.times_s()[keys == k]) for k in sorted(set(keys))]


def best_of(fn, repeats: int = REPEATS) -> tuple[float, object]:
    """Fastest wall time of several runs, and the result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    players = [session(1), session(2)]
    groups = [g for chart, take in players for g in per_group(chart, take)]
    n_hits = sum(len(t) for _, t in players)

    def drumjam_match() -> int:
        return sum(int((match_times(h, t, target_windows(t, WINDOW_S, False)) >= 0).sum())
                   for t, h in groups)

    def mir_eval_match() -> int:
        return sum(len(mir_eval.util.match_events(t, h, WINDOW_S)) for t, h in groups)

    cfg = ScoringConfig(good_ms=WINDOW_S * 1000, tempo_aware=False)

    def drumjam_score() -> int:
        return sum(score_take(take, chart, config=cfg).overall.matched for chart, take in players)

    t_ours, n_ours = best_of(drumjam_match)
    t_theirs, n_theirs = best_of(mir_eval_match, repeats=2)
    t_full, n_full = best_of(drumjam_score, repeats=2)
    print(f"one-hour duet: 2 players, {n_hits} hits, window ±{WINDOW_S * 1000:.0f} ms\n")
    print("| what | matches | seconds | vs mir_eval |")
    print("|---|---:|---:|---:|")
    print(f"| drumjam matching | {n_ours} | {t_ours:.4f} | {t_theirs / t_ours:.1f}x faster |")
    print(f"| mir_eval.util.match_events | {n_theirs} | {t_theirs:.4f} | 1.0x |")
    print(f"| drumjam score_take (matching + judgments + statistics) | {n_full} | {t_full:.4f} | "
          f"{t_theirs / t_full:.1f}x |")
    print(f"\nsame number of matches: {n_ours == n_theirs == n_full}")


if __name__ == "__main__":
    main()
