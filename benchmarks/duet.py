"""Accuracy of the phase-correction gains (alpha) on simulated duets.

Two players play along to a song for N beats: each corrects a share alpha of the asynchrony to
the partner and a share beta of its offset from the music (linear phase correction, Wing et al.
2014), with timekeeper noise sT and motor noise sM. drumjam's duet analysis (bGLS) estimates
alpha for both; the table gives the error distribution and how often the leader is named
right. `python benchmarks/duet.py`
"""

from __future__ import annotations

import time

import numpy as np

from drumjam.model import BeatMap, Hit, Take
from drumjam.scoring import analyse_duet


TRIALS = 100


def simulate(alpha: tuple[float, float], beta: float, n: int, sigma_t_s: float, sigma_m_s: float,
             rng: np.random.Generator, period_s: float = 0.5) -> tuple[Take, Take, BeatMap]:
    """Onsets of two players (seconds) under linear phase correction."""
    start = 1.0
    keeper = np.full(2, start)
    motor = rng.normal(0, sigma_m_s, (2, n))
    onset = np.zeros((2, n))
    onset[:, 0] = start + motor[:, 0]
    for k in range(n - 1):
        asyn = onset[0, k] - onset[1, k]
        grid = start + k * period_s
        for p, sign in ((0, 1.0), (1, -1.0)):
            keeper[p] += (period_s + rng.normal(0, sigma_t_s) - alpha[p] * sign * asyn
                          - beta * (onset[p, k] - grid))
        onset[:, k + 1] = keeper + motor[:, k + 1]
    bm = BeatMap.constant(60 / period_s, start + (n + 8) * period_s, start_s=start)
    takes = [Take(tuple(Hit(t, "hihat_closed") for t in onset[p]), player="AB"[p], beatmap=bm)
             for p in range(2)]
    return takes[0], takes[1], bm


def main() -> None:
    rng = np.random.default_rng(12345)
    print(f"{TRIALS} simulated duets per row; gains drawn uniformly from 0-0.8; beta = 0.25\n")
    print("| beats | sT ms | sM ms | mean abs error | 95th pct | max | within ±0.08 | leader right* | ms per duet |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, st, sm in [(100, 10, 3), (200, 10, 3), (400, 10, 3), (400, 15, 5), (800, 10, 3)]:
        errors, right, asked = [], 0, 0
        t0 = time.perf_counter()
        for _ in range(TRIALS):
            alpha = tuple(rng.uniform(0.0, 0.8, 2))
            a, b, bm = simulate(alpha, 0.25, n, st / 1000, sm / 1000, rng)
            duet = analyse_duet(a, b, grid=4, beatmap=bm)
            errors += [duet.alpha[0] - alpha[0], duet.alpha[1] - alpha[1]]
            if abs(alpha[0] - alpha[1]) >= 0.3:
                asked += 1
                right += duet.leader == ("A" if alpha[0] < alpha[1] else "B")
        ms = 1000 * (time.perf_counter() - t0) / TRIALS
        e = np.abs(errors)
        print(f"| {n} | {st} | {sm} | {e.mean():.3f} | {np.percentile(e, 95):.3f} | {e.max():.3f} | "
              f"{100 * np.mean(e <= 0.08):.0f}% | {100 * right / max(asked, 1):.0f}% | {ms:.0f} |")
    print("\n* among duets whose gains differ by 0.3 or more")


if __name__ == "__main__":
    main()
