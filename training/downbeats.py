"""Learn where the bar starts from the drum pattern (``drumjam/data/models/downbeats.npz``).

The renders of ``render.py`` (Groove MIDI Dataset, many kits, rooms, backing music) are run
through the bundled transcription network; the drummers' click grid gives every beat and
downbeat. For each beat the features of :func:`drumjam.analysis.drumpattern.pattern_features`
(six drum groups at each sixteenth from a beat before to four beats after) are labelled
downbeat or not, and a small network (one hidden layer of :data:`HIDDEN` ReLU units) is fitted
on the training split (beat grooves in 3/4 and 4/4). Its regularisation is chosen on the
held-out split (drummers 5 and 8, two kits
never trained on) by how often a groove's bar phase comes out right; no benchmark file is used.

``python training/downbeats.py`` (about 10 minutes on 2 cores; the network's outputs are
cached in ``$DRUMJAM_TRAIN_CACHE/activations``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier

from drumjam.analysis import drumnet, drumpattern
from drumjam.io.midi import read_chart

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kits import CACHE  # noqa: E402
from render import GROOVE  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "src" / "drumjam" / "data" / "models" / drumpattern.WEIGHTS_FILE
METERS = ("3-4", "4-4")
#: Beats are jittered by up to this much (s), as a tracker's beats lie off the click.
JITTER_S = 0.015
SEED = 11
HIDDEN = 32


def gmd_train_split() -> set[str]:
    """Grooves of the Groove MIDI Dataset's own *train* split, less those the tests render.

    Its validation and test splits are the held-out grooves of ``benchmarks/beats.py``: never
    learned from, nor used to choose anything."""
    from drumjam.analysis.learn_metrical import KEPT_FOR_TESTS

    with (GROOVE / "info.csv").open() as fh:
        return {r["midi_filename"] for r in csv.DictReader(fh)
                if r["split"] == "train" and r["midi_filename"] not in KEPT_FOR_TESTS}


def render_files(split: str) -> list[Path]:
    """Renders of beat grooves (not fills) in 3/4 or 4/4 of the dataset's train split; ``split``
    is the render split (``val``: drummers and kits held out from training)."""
    allowed = gmd_train_split()
    return sorted(p for p in (CACHE / "renders" / split).glob("*.npz")
                  if "_beat_" in p.name and any(p.stem.split("__")[-2].endswith(m) for m in METERS)
                  and str(midi_of(p).relative_to(GROOVE)) in allowed)


def midi_of(render: Path) -> Path:
    """The groove a render was made from (``drummer1__session1__1_funk_80_beat_4-4__0``)."""
    return GROOVE / ("/".join(render.stem.split("__")[:-1]) + ".mid")


def activations(render: Path) -> np.ndarray:
    """The drum groups' onset probabilities of a render (cached)."""
    cached = CACHE / "activations" / (render.stem + ".npy")
    if cached.is_file():
        return np.load(cached)
    with np.load(render) as data:
        x = data["x"].astype(np.float32)
    x = np.pad(x, ((drumnet.CONTEXT_PAST_FRAMES, drumnet.LOOKAHEAD_FRAMES), (0, 0)))
    onset, _ = drumnet.forward(x, drumnet.bundled_weights())
    acts = drumpattern.group_onsets(onset).astype(np.float32)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, acts)
    return acts


def beats_of(render: Path, acts: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Beats within the performance, which of them are downbeats, and the metre."""
    bm = read_chart(midi_of(render)).beatmap
    notes_end_s = acts.shape[0] / drumnet.FPS - 3.0  # renders end 3 s after the last hit
    keep = (bm.beats_s >= 0) & (bm.beats_s <= notes_end_s)
    beats = bm.beats_s[keep]
    down = np.isin(np.round(beats, 4), np.round(bm.downbeats_s, 4))
    return beats, down, bm.meter


def dataset(split: str, rng: np.random.Generator, limit: int | None) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per render: pattern features, downbeat labels and metre."""
    files = render_files(split)
    if limit:
        files = [files[i] for i in sorted(rng.choice(len(files), min(limit, len(files)), replace=False))]
    out = []
    for n, render in enumerate(files):
        acts = activations(render)
        beats, down, meter = beats_of(render, acts)
        if beats.size < 8 or not down.any():
            continue
        jittered = np.sort(beats + rng.uniform(-JITTER_S, JITTER_S, beats.size))
        out.append((drumpattern.pattern_features(acts, drumnet.FPS, jittered), down, meter))
        if n % 50 == 0:
            print(f"  {split}: {n}/{len(files)}", flush=True)
    return out


def logits(model: MLPClassifier, x: np.ndarray) -> np.ndarray:
    """The network's log-odds of a downbeat."""
    p = np.clip(model.predict_proba(x)[:, 1], 1e-9, 1 - 1e-9)
    return np.log(p) - np.log1p(-p)


def phase_right(model: MLPClassifier, data: list[tuple[np.ndarray, np.ndarray, int]]) -> float:
    """Share of grooves whose bar phase (at their known metre) the model gets right."""
    right = []
    for x, down, meter in data:
        logit = logits(model, x)
        means = [logit[p::meter].mean() for p in range(meter)]
        right.append(down[int(np.argmax(means))])
    return float(np.mean(right))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=400, help="training renders used (0: all)")
    args = ap.parse_args()
    rng = np.random.default_rng(SEED)
    train = dataset("train", rng, args.limit or None)
    val = dataset("val", rng, None)
    x = np.concatenate([d[0] for d in train])
    y = np.concatenate([d[1] for d in train])
    print(f"{len(train)} training renders ({x.shape[0]} beats), {len(val)} held-out renders")
    best = None
    for alpha in (3.0, 1.0, 0.1):  # the simplest first: a tie keeps it
        model = MLPClassifier(hidden_layer_sizes=(HIDDEN,), alpha=alpha, max_iter=300,
                              early_stopping=True, random_state=SEED).fit(x, y)
        score = phase_right(model, val)
        print(f"  alpha={alpha:<4} bar phase right: train {phase_right(model, train):.3f}, held out {score:.3f}")
        if best is None or score > best[0]:
            best = (score, alpha, model)
    score, alpha, model = best
    (w1, w2), (b1, b2) = model.coefs_, model.intercepts_
    np.savez(OUT, w1=w1.astype(np.float32), b1=b1.astype(np.float32), w2=w2[:, 0].astype(np.float32),
             b2=np.float32(b2[0]), held_out_phase_right=np.float32(score), alpha=np.float32(alpha))
    print(f"wrote {OUT} (alpha={alpha}, held-out bar phase right {score:.3f})")


if __name__ == "__main__":
    main()
