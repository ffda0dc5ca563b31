"""Learn whether a beat grid is at the beat's level from the drum pattern (``drumlevel.npz``).

The same renders, transcription outputs and click grids as ``downbeats.py``. Of two grids one
twice as fast as the other, which is the beat? For each render, two kinds of pairs: the true
beats and twice their tempo (the slower is the beat), every other beat (both phases) and the
true beats (the faster is the beat). A logistic regression on the difference of the two grids'
:func:`drumjam.analysis.drumpattern.level_features` (faster less slower) says how likely the
faster is the beat; it is fitted on the training split, and its regularisation chosen on the
held-out renders (drummers 5 and 8, two kits) by the share of pairs decided right.

``python training/drumlevel.py`` (a minute once ``downbeats.py`` has cached the outputs).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from drumjam.analysis import drumnet, drumpattern

sys.path.insert(0, str(Path(__file__).resolve().parent))
from downbeats import activations, beats_of, render_files  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "src" / "drumjam" / "data" / "models" / drumpattern.LEVEL_WEIGHTS_FILE
SEED = 11


def candidates(beats: np.ndarray) -> list[np.ndarray]:
    """The true beats first, then half the tempo (two phases) and twice the tempo."""
    double = np.sort(np.r_[beats, beats[:-1] + 0.5 * np.diff(beats)])
    return [beats, beats[::2], beats[1::2], double]


def dataset(split: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Per render: the features of its four candidate grids, ``(4, features)``."""
    out = []
    for render in render_files(split):
        acts = activations(render)
        beats, _, _ = beats_of(render, acts)
        if beats.size < 12:
            continue
        beats = np.sort(beats + rng.uniform(-0.015, 0.015, beats.size))
        out.append(np.stack([drumpattern.level_features(acts, drumnet.FPS, c) for c in candidates(beats)]))
    return out


def pairs(data: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Feature differences (faster less slower) of the 2:1 pairs, and whether the faster is the beat."""
    x, y = [], []
    for grids in data:
        true, half_a, half_b, double = grids
        x += [double - true, true - half_a, true - half_b]
        y += [0, 1, 1]
    return np.array(x), np.array(y)


def main() -> None:
    rng = np.random.default_rng(SEED)
    train, val = dataset("train", rng), dataset("val", rng)
    (x, y), (xv, yv) = pairs(train), pairs(val)
    print(f"{len(train)} training renders, {len(val)} held-out renders")
    best = None
    for c in (0.1, 1.0, 10.0):
        model = LogisticRegression(C=c, max_iter=5000).fit(x, y)
        score = model.score(xv, yv)
        print(f"  C={c:<5} pairs right: train {model.score(x, y):.3f}, held out {score:.3f} "
              f"(faster right {model.score(xv[yv == 1], yv[yv == 1]):.3f}, "
              f"slower right {model.score(xv[yv == 0], yv[yv == 0]):.3f})")
        if best is None or score > best[0]:
            best = (score, c, model)
    score, c, model = best
    np.savez(OUT, w=model.coef_[0].astype(np.float32), b=np.float32(model.intercept_[0]),
             held_out_right=np.float32(score), C=np.float32(c))
    print(f"wrote {OUT} (C={c}, held-out pairs right {score:.3f})")


if __name__ == "__main__":
    main()
