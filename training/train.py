"""Train the drum transcription network on the renders and export its weights for NumPy.

``python training/train.py [--steps 3000] [--seed 7]`` reads the renders made by
``training/render.py``, trains the network described in :mod:`drumjam.analysis.drumnet`
(PyTorch, CPU), checkpoints every 200 steps (``$DRUMJAM_TRAIN_CACHE/checkpoint.pt``; a rerun
resumes), then on the held-out renders (unseen drummers and kits) picks each class's onset
threshold (best F-measure at ±50 ms) and measures its onset-time bias, and writes
``src/drumjam/data/models/drums.npz``: weights with batch norm folded in, the mel filter bank,
thresholds and time corrections.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from drumjam.analysis import drumnet
from drumjam.analysis.transcribe import PEAK_RADIUS_FRAMES, pick_strokes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kits import CACHE  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "src" / "drumjam" / "data" / "models" / drumnet.WEIGHTS_FILE
CHANNELS = (16, 24, 32)
HIDDEN = 96
N_CLASSES = len(drumnet.CLASSES)
WINDOW_FRAMES = 256
TARGET_HALF_WIDTH_FRAMES = 1.5
POS_WEIGHT = 4.0
WINDOW_S = 0.05
MIN_F_FOR_TIME_CORRECTION = 0.1
MIN_F_FOR_TUNED_THRESHOLD = 0.2


class DrumNet(nn.Module):
    """The network of :mod:`drumjam.analysis.drumnet`, in PyTorch (valid convolutions in time)."""

    def __init__(self) -> None:
        super().__init__()
        convs = []
        c_in = 1
        for c in CHANNELS:
            convs += [nn.Conv2d(c_in, c, (3, 3), padding=(0, 1)), nn.BatchNorm2d(c), nn.ReLU(),
                      nn.MaxPool2d((1, 2))]
            c_in = c
        self.convs = nn.Sequential(*convs)
        n_feat = CHANNELS[-1] * drumnet.N_MELS // 2 ** len(CHANNELS)
        self.dense = nn.Linear(n_feat, HIDDEN)
        self.drop = nn.Dropout(0.1)
        self.tcn = nn.ModuleList(nn.Conv1d(HIDDEN, HIDDEN, 3, dilation=d)
                                 for d, _ in drumnet.TCN_DILATIONS)
        self.onset = nn.Linear(HIDDEN, N_CLASSES)
        self.velocity = nn.Linear(HIDDEN, N_CLASSES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: (batch, T, mels) -> onset logits and velocity logits (batch, T - context, C)."""
        h = self.convs(x[:, None])  # (B, C, T, F)
        b, c, t, f = h.shape
        h = h.permute(0, 2, 3, 1).reshape(b, t, f * c)
        h = self.drop(torch.relu(self.dense(h))).transpose(1, 2)  # (B, H, T)
        for conv, (d, ahead) in zip(self.tcn, drumnet.TCN_DILATIONS):
            y = torch.relu(conv(h))
            past = 2 * d - ahead
            h = h[:, :, past:past + y.shape[2]] + y
        h = h.transpose(1, 2)
        return self.onset(h), self.velocity(h)


def export(model: DrumNet, thresholds: np.ndarray, offsets_s: np.ndarray,
           mel: np.ndarray) -> dict[str, np.ndarray]:
    """NumPy arrays for :func:`drumjam.analysis.drumnet.forward` (batch norm folded)."""
    model = model.eval()
    w: dict[str, np.ndarray] = {}
    k = 0
    layers = list(model.convs)
    for i in range(0, len(layers), 4):
        conv, bn = layers[i], layers[i + 1]
        scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
        weight = conv.weight.detach() * scale[:, None, None, None]
        bias = (conv.bias.detach() - bn.running_mean) * scale + bn.bias.detach()
        w[f"conv{k}.w"] = weight.permute(2, 3, 1, 0).numpy()
        w[f"conv{k}.b"] = bias.numpy()
        k += 1
    w["dense.w"] = model.dense.weight.detach().T.numpy()
    w["dense.b"] = model.dense.bias.detach().numpy()
    for i, conv in enumerate(model.tcn):
        w[f"tcn{i}.w"] = conv.weight.detach().permute(2, 1, 0).numpy()
        w[f"tcn{i}.b"] = conv.bias.detach().numpy()
    for name in ("onset", "velocity"):
        lin = getattr(model, name)
        w[f"{name}.w"] = lin.weight.detach().T.numpy()
        w[f"{name}.b"] = lin.bias.detach().numpy()
    w["mel_basis"] = mel
    w["threshold"] = thresholds.astype(np.float32)
    w["offset_s"] = offsets_s.astype(np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in w.items()}


def load_split(split: str) -> list[tuple[np.ndarray, np.ndarray]]:
    items = []
    for path in sorted((CACHE / "renders" / split).glob("*.npz")):
        with np.load(path) as d:
            items.append((d["x"], d["labels"]))
    return items


def make_batch(items, rng: np.random.Generator, batch: int):
    """Random windows: features with context, soft onset targets and velocity targets."""
    lengths = np.array([len(x) for x, _ in items], float)
    picks = rng.choice(len(items), size=batch, p=lengths / lengths.sum())
    t_in = WINDOW_FRAMES + drumnet.CONTEXT_FRAMES
    xs = np.zeros((batch, t_in, drumnet.N_MELS), np.float32)
    ys = np.zeros((batch, WINDOW_FRAMES, N_CLASSES), np.float32)
    vs = np.zeros((batch, WINDOW_FRAMES, N_CLASSES), np.float32)
    for b, i in enumerate(picks):
        x, labels = items[i]
        start = int(rng.integers(-WINDOW_FRAMES // 4, max(1, len(x) - WINDOW_FRAMES // 2)))
        lo = start - drumnet.CONTEXT_PAST_FRAMES
        src_lo, src_hi = max(lo, 0), min(lo + t_in, len(x))
        if src_hi > src_lo:
            xs[b, src_lo - lo:src_hi - lo] = x[src_lo:src_hi]
        pos = labels[:, 0] * drumnet.FPS - start
        keep = (pos > -3) & (pos < WINDOW_FRAMES + 3)
        for p, c, v in zip(pos[keep], labels[keep, 1].astype(int), labels[keep, 2]):
            for j in range(int(np.floor(p - TARGET_HALF_WIDTH_FRAMES)),
                           int(np.ceil(p + TARGET_HALF_WIDTH_FRAMES)) + 1):
                if 0 <= j < WINDOW_FRAMES:
                    target = max(0.0, 1.0 - abs(j - p) / TARGET_HALF_WIDTH_FRAMES)
                    if target > ys[b, j, c]:
                        ys[b, j, c] = target
                        vs[b, j, c] = v
    return torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(vs)


def strokes(onset: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stroke times (s, before time correction) and classes, as the transcriber picks them."""
    r = PEAK_RADIUS_FRAMES
    pad = np.zeros((r, onset.shape[1]), np.float32)
    rows = np.arange(r, r + len(onset))
    found, classes, delta = pick_strokes(np.concatenate([pad, onset, pad]), rows, thresholds)
    return (found - r + delta) / drumnet.FPS, classes


def evaluate(weights: dict[str, np.ndarray], items, *, grid=np.arange(0.1, 0.91, 0.05)):
    """Each class's threshold (best F-measure at ±50 ms for that class alone, its strokes picked
    as the transcriber picks them: only where it is the strongest of its set) and its median
    time error, on the held-out renders.

    Runs the NumPy network on the held-out features (the frames of the renders)."""
    import mir_eval

    probs = []
    for x, labels in items:
        pad_lo = np.zeros((drumnet.CONTEXT_PAST_FRAMES, drumnet.N_MELS), np.float32)
        pad_hi = np.zeros((drumnet.LOOKAHEAD_FRAMES + 3, drumnet.N_MELS), np.float32)
        onset, _ = drumnet.forward(np.concatenate([pad_lo, x.astype(np.float32), pad_hi]), weights)
        probs.append((onset, labels))
    thresholds = np.full(N_CLASSES, 0.5)
    f_best = np.zeros(N_CLASSES)
    offsets = np.zeros(N_CLASSES)
    for c in range(N_CLASSES):
        best = (-1.0, 0.5, 0.0)
        for thr in grid:
            only = np.full(N_CLASSES, 2.0)  # every other class off
            only[c] = thr
            tp = n_ref = n_est = 0
            errs: list[float] = []
            for onset, labels in probs:
                ref = np.sort(labels[labels[:, 1] == c, 0]).astype(float)
                times, classes = strokes(onset, only)
                est = np.sort(times[classes == c])
                n_ref += len(ref)
                n_est += len(est)
                if len(ref) and len(est):
                    m = mir_eval.util.match_events(ref, est, WINDOW_S)
                    tp += len(m)
                    errs += [est[j] - ref[i] for i, j in m]
            f = 2 * tp / (n_ref + n_est) if n_ref + n_est else 0.0
            if f > best[0]:
                # a time correction only from a class the network really hears
                usable = f >= MIN_F_FOR_TIME_CORRECTION and errs
                best = (f, float(thr), float(np.median(errs)) if usable else 0.0)
        f_best[c], thresholds[c], offsets[c] = best
        if best[0] < MIN_F_FOR_TUNED_THRESHOLD:  # the grid's edge says nothing: stay neutral
            thresholds[c] = 0.5
    return thresholds, f_best, offsets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--export-only", action="store_true", help="export the last checkpoint")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    train = load_split("train")
    val = load_split("val")
    print(f"train: {len(train)} renders, {sum(len(x) for x, _ in train) / 360000:.2f} h; "
          f"val: {len(val)} renders", flush=True)
    model = DrumNet()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps,
                                                pct_start=0.05)
    ckpt = CACHE / "checkpoint.pt"
    step = 0
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        rng = state["rng"]
        print(f"resumed at step {step}", flush=True)
    bce = nn.BCEWithLogitsLoss(reduction="none")
    t0 = time.time()
    model.train()
    while step < args.steps and not args.export_only:
        x, y, v = make_batch(train, rng, args.batch)
        onset, vel = model(x)
        weight = 1.0 + (POS_WEIGHT - 1.0) * y
        loss_onset = (bce(onset, y) * weight).mean()
        mask = (y > 0.3).float()
        loss_vel = ((torch.sigmoid(vel) - v) ** 2 * mask).sum() / mask.sum().clamp(min=1.0)
        loss = loss_onset + 0.5 * loss_vel
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        step += 1
        if step % 25 == 0:
            print(f"step {step} loss {loss_onset.item():.4f} vel {loss_vel.item():.4f} "
                  f"{(time.time() - t0) / 25:.2f} s/step", flush=True)
            t0 = time.time()
        if step % 200 == 0 or step == args.steps:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "step": step, "rng": rng}, ckpt)
    mel = np.load(CACHE / "mel_basis.npy")
    n = N_CLASSES
    weights = export(model, np.full(n, 0.5), np.zeros(n), mel)
    thresholds, f, offsets = evaluate(weights, val)
    for c in range(n):
        print(f"{drumnet.CLASSES[c].value:14s} thr {thresholds[c]:.2f} F {f[c]:.3f} "
              f"bias {offsets[c] * 1000:+.1f} ms", flush=True)
    weights = export(model, thresholds, offsets, mel)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **weights)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)", flush=True)


if __name__ == "__main__":
    main()
