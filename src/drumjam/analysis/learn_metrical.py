"""Learn :data:`drumjam.analysis.metrical.BEAT_WEIGHTS` from rendered drum grooves.

Run from the repository root (needs FluidSynth and the AVL kits)::

    python -m drumjam.analysis.learn_metrical ../shared/data/groove-midi

Grooves ("beat" files in 3/4 or 4/4) of the Groove MIDI Dataset's *train* split are rendered
with the two AVL kits in turn; the drummer's click grid gives the true beats.
Files of the validation and test splits are left for evaluation (``benchmarks/beats.py``).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from drumjam.analysis.features import onset_envelope
from drumjam.analysis.metrical import FEATURES, pulse_features, zscore
from drumjam.io.midi import read_chart
from drumjam.io.render import render_events

KITS = ("black_pearl", "red_zeppelin")
BARS = 16
#: Ridge added to the within-class scatter (features are z-scores).
RIDGE = 0.05
#: A train-split file the tests render: not learned from (tests/test_analysis_beats.py checks
#: that no file its tests render is).
KEPT_FOR_TESTS = ("drummer1/session2/6_rock_102_beat_3-4.mid",)


def training_files(gmd: Path, step: int = 3) -> list[str]:
    """Every ``step``-th train-split groove in 3/4 or 4/4, by file name."""
    with (gmd / "info.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train" and r["beat_type"] == "beat"
                and r["time_signature"] in ("3-4", "4-4") and r["midi_filename"] not in KEPT_FOR_TESTS]
    names = sorted(r["midi_filename"] for r in rows)
    threes = [n for n in names if n.endswith("3-4.mid")]
    return sorted(set(names[::step]) | set(threes))


def examples(gmd: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Features of the beats and off-beats of the rendered grooves, and which are beats."""
    xs, ys = [], []
    for n, name in enumerate(names):
        chart = read_chart(gmd / name).section(0, BARS - 1)
        y, sr = render_events(chart, soundfont=KITS[n % len(KITS)], mono=True)
        env = onset_envelope(y, sr)
        notes = chart.times_s()
        bm = chart.beatmap
        beats = bm.beats_s[(bm.beats_s >= notes[0] - 0.05) & (bm.beats_s <= notes[-1] + 0.05)]
        if beats.size < 8:
            continue
        period = np.diff(beats)
        on = pulse_features(env, beats[:-1], period)
        off = pulse_features(env, beats[:-1] + 0.5 * period, period)
        xs.append(zscore(np.concatenate([on, off])))
        ys.append(np.r_[np.ones(on.shape[0], bool), np.zeros(off.shape[0], bool)])
    return np.concatenate(xs), np.concatenate(ys)


def fisher(x: np.ndarray, label: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """Fisher's linear discriminant direction (unit norm) separating ``label`` from the rest."""
    a, b = x[label], x[~label]
    scatter = np.cov(a, rowvar=False) * (a.shape[0] - 1) + np.cov(b, rowvar=False) * (b.shape[0] - 1)
    scatter /= x.shape[0] - 2
    w = np.linalg.solve(scatter + ridge * np.eye(x.shape[1]), a.mean(axis=0) - b.mean(axis=0))
    return w / np.linalg.norm(w)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gmd", type=Path, help="the Groove MIDI Dataset folder (with info.csv)")
    args = parser.parse_args()
    names = training_files(args.gmd)
    x, label = examples(args.gmd, names)
    w = fisher(x, label)
    print(f"{len(names)} grooves, {int(label.sum())} beats")
    for name, value in zip(FEATURES, w):
        print(f"  {name:16s} {value:+.3f}")
    print("BEAT_WEIGHTS = np.array([" + ", ".join(f"{v:.3f}" for v in w) + "])")


if __name__ == "__main__":
    main()
