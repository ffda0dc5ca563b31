"""Learn the metrical choices of :mod:`drumjam.analysis.metrical` from rendered drum grooves.

Run from the repository root (needs FluidSynth and the AVL kits)::

    python -m drumjam.analysis.learn_metrical ../shared/data/groove-midi            # BEAT_WEIGHTS
    python -m drumjam.analysis.learn_metrical ../shared/data/groove-midi --levels   # level weights
    python -m drumjam.analysis.learn_metrical ../shared/data/groove-midi --downbeats  # DRUM_WEIGHT

Grooves ("beat" files in 3/4 or 4/4) of the Groove MIDI Dataset's *train* split are rendered
with the two AVL kits in turn; the drummer's click grid gives the true beats.
Files of the validation and test splits are left for evaluation (``benchmarks/beats.py``).
"""

from __future__ import annotations

import argparse
import csv
import itertools
from collections.abc import Iterator
from pathlib import Path

import mir_eval
import numpy as np

from drumjam.analysis import beatnet
from drumjam.analysis.features import Envelope, onset_envelope
from drumjam.analysis.metrical import FEATURES, LevelEvidence, level_evidence, pick_level, pulse_features, zscore
from drumjam.analysis.tempo import TempoCurve
from drumjam.io.midi import read_chart
from drumjam.io.render import render_events
from drumjam.model import Chart

KITS = ("black_pearl", "red_zeppelin")
BARS = 16
#: Ridge added to the within-class scatter (features are z-scores).
RIDGE = 0.05
#: Train-split files the tests render: not learned from (tests/test_analysis_beats.py checks
#: that no file its tests render is).
KEPT_FOR_TESTS = ("drummer1/session2/6_rock_102_beat_3-4.mid", "drummer3/session2/24_rock_92_beat_4-4.mid",
                  "drummer8/session2/36_latin_118_beat_4-4.mid")


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


#: Weights and margins tried for :func:`drumjam.analysis.metrical.pick_level`.
PRIOR_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
SALIENCE_WEIGHTS = (0.0, 1.0, 2.0, 3.0)
MARGINS = (0.0, 0.2, 0.5, 0.7, 1.0)


def tracked_renders(gmd: Path, names: list[str]) -> Iterator[tuple[Chart, np.ndarray, int, Envelope, TempoCurve, np.ndarray]]:
    """Each groove's first :data:`BARS` bars rendered with the AVL kits in turn: the chart,
    the audio and its rate, its onset envelope, and the tempo curve and beats tracked on it."""
    from drumjam.analysis.tracker import track_pulse

    for n, name in enumerate(names):
        chart = read_chart(gmd / name).section(0, BARS - 1)
        y, sr = render_events(chart, soundfont=KITS[n % len(KITS)], mono=True)
        env = onset_envelope(y, sr)
        pulse = track_pulse(env)
        yield chart, y, sr, env, pulse.curve, pulse.beats_s


def level_examples(gmd: Path, names: list[str]) -> list[tuple[list[LevelEvidence], np.ndarray]]:
    """For each rendered groove: the evidence for every level of its tracked beats, and the
    F-measure (+-70 ms) of each level's beats against the click, 0 where its tempo is not the
    click's (within 4 %)."""
    from drumjam.analysis import drumpattern

    out = []
    for chart, y, sr, _env, curve, beats in tracked_renders(gmd, names):
        network = beatnet.activations(y, sr).sum(axis=1)
        faster = drumpattern.faster_is_beat(drumpattern.drum_activations(y, sr))
        evidence = level_evidence(beats, network, beatnet.FPS, curve.salience_at, faster)
        notes = chart.times_s()
        lo, hi = notes[0] - 0.1, notes[-1] + 0.1
        ref = chart.beatmap.beats_s[(chart.beatmap.beats_s >= lo) & (chart.beatmap.beats_s <= hi)]
        f = []
        for e in evidence:
            t = e.beats_s[(e.beats_s >= lo) & (e.beats_s <= hi)]
            right = t.size > 1 and abs(np.median(np.diff(t)) / np.median(np.diff(ref)) - 1) < 0.04
            f.append(mir_eval.beat.f_measure(ref, t, 0.07) if right else 0.0)
        if evidence and evidence[0].level == (1, 1):
            out.append((evidence, np.array(f)))
    return out


def search_levels(examples: list[tuple[list[LevelEvidence], np.ndarray]]) -> list[tuple[float, float, tuple]]:
    """Share of grooves at the right level and mean F-measure for every setting, best first
    (by right level, then F-measure)."""
    rows = []
    for setting in itertools.product(PRIOR_WEIGHTS, SALIENCE_WEIGHTS, MARGINS):
        picks = [f[pick_level(ev, *setting)] for ev, f in examples]
        rows.append((float(np.mean([p > 0 for p in picks])), float(np.mean(picks)), setting))
    return sorted(rows, key=lambda r: (-r[0], -r[1]))


#: Margins tried for :data:`drumjam.analysis.metrical.DRUM_LEVEL_MARGIN` (inf: the drums have no say).
DRUM_LEVEL_MARGINS = (np.inf, 0.0, 0.5, 1.0, 2.0, 3.0)


def search_drum_margins(examples: list[tuple[list[LevelEvidence], np.ndarray]]) -> list[tuple[float, float, float]]:
    """Share of grooves at the right level and mean F-measure for every drum margin, the
    other settings as they are."""
    rows = []
    for drum_margin in DRUM_LEVEL_MARGINS:
        picks = [f[pick_level(ev, drum_margin=drum_margin)] for ev, f in examples]
        rows.append((drum_margin, float(np.mean([p > 0 for p in picks])), float(np.mean(picks))))
    return rows


#: Weights of the drum pattern's downbeat evidence tried for :mod:`drumjam.analysis.downbeats`.
DRUM_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0)


def downbeat_examples(gmd: Path, names: list[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """For each rendered groove tracked at the click's tempo: the accent, learned and drum
    downbeat evidence of its tracked beats, and which of those beats are the click's downbeats."""
    from drumjam.analysis import drumnet, drumpattern
    from drumjam.analysis.downbeats import accent_evidence, learned_evidence

    out = []
    for chart, y, sr, env, _curve, beats in tracked_renders(gmd, names):
        bm = chart.beatmap
        near = np.abs(beats[:, None] - bm.downbeats_s[None, :]).min(axis=1) < 0.07
        on_click = np.abs(beats[:, None] - bm.beats_s[None, :]).min(axis=1) < 0.07
        if beats.size < 8 or not near.any() or on_click.mean() < 0.9:
            continue
        network = beatnet.activations(y, sr)
        learned = learned_evidence(network[:, beatnet.DOWNBEAT], beatnet.FPS, beats)
        drums = drumpattern.downbeat_logits(drumpattern.drum_activations(y, sr), drumnet.FPS, beats)
        out.append((accent_evidence(env, beats), learned, drums, near))
    return out


def search_drum_weights(examples: list[tuple[np.ndarray, ...]], meter: int = 4) -> list[tuple[float, float]]:
    """Share of grooves whose bar phase is right, for every weight of :data:`DRUM_WEIGHTS`."""
    from drumjam.analysis.downbeats import LEARNED_WEIGHT, phase_margins

    rows = []
    for weight in DRUM_WEIGHTS:
        right = []
        for accent, learned, drums, near in examples:
            evidence = zscore(accent) + LEARNED_WEIGHT * zscore(learned) + weight * zscore(drums)
            right.append(bool(near[int(np.argmax(phase_margins(evidence, meter)))]))
        rows.append((weight, float(np.mean(right))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gmd", type=Path, help="the Groove MIDI Dataset folder (with info.csv)")
    parser.add_argument("--levels", action="store_true",
                        help="choose the level weights (PRIOR_WEIGHT, SALIENCE_WEIGHT, LEVEL_MARGIN)")
    parser.add_argument("--downbeats", action="store_true",
                        help="choose the weight of the drum pattern's downbeat evidence (DRUM_WEIGHT)")
    args = parser.parse_args()
    if args.downbeats:
        names = [n for n in training_files(args.gmd) if n.endswith("4-4.mid")]
        examples = downbeat_examples(args.gmd, names[::2])
        print(f"{len(examples)} grooves in 4/4 tracked at the click's tempo")
        for weight, right in search_drum_weights(examples):
            print(f"  DRUM_WEIGHT={weight}: bar phase right in {right:.3f}")
        return
    if args.levels:
        examples = level_examples(args.gmd, training_files(args.gmd))
        kept = [f[0] for _, f in examples]
        print(f"{len(examples)} grooves; tracked level right in {np.mean([k > 0 for k in kept]):.3f}")
        for drum_margin, right, f70 in search_drum_margins(examples):
            print(f"  DRUM_LEVEL_MARGIN={drum_margin}: right level {right:.3f}  F {f70:.3f}")
        for right, f70, (prior, salience, margin) in search_levels(examples)[:10]:
            print(f"  right level {right:.3f}  F {f70:.3f}  PRIOR_WEIGHT={prior} SALIENCE_WEIGHT={salience} "
                  f"LEVEL_MARGIN={margin}")
        return
    names = training_files(args.gmd)
    x, label = examples(args.gmd, names)
    w = fisher(x, label)
    print(f"{len(names)} grooves, {int(label.sum())} beats")
    for name, value in zip(FEATURES, w):
        print(f"  {name:16s} {value:+.3f}")
    print("BEAT_WEIGHTS = np.array([" + ", ".join(f"{v:.3f}" for v in w) + "])")


if __name__ == "__main__":
    main()
