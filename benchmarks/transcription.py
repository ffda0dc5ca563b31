"""Drum transcription: drumjam's network against a librosa onset + band-energy baseline.

``python benchmarks/transcription.py [--renders N]`` prints, in one run:

1. Real acoustic-kit recordings (../shared/data/drum-audio, MDB Drums): F-measure at ±50 ms
   (mir_eval onset matching) per class -- KD kick, SD snare, HH hi-hat, TT toms, CY cymbals --
   and pooled over KD+SD+HH, with the median and 90th percentile |onset error| of matched hits.
2. Held-out renders (drummers and kits the network never trained on; about half of them with
   music under the drums, so this is the "drums inside a mix" figure we can measure): the
   same F-measures and the correlation of velocities with the played MIDI velocities.
3. Cost: CPU seconds per minute of audio offline, and in streaming mode (10 ms blocks) the
   delay from a hit to its report and the share of one core.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import mir_eval
import numpy as np

from drumjam.analysis import drumnet
from drumjam.analysis.transcribe import (
    PEAK_RADIUS_FRAMES, DrumTranscriber, pick_strokes, transcribe,
)
from drumjam.io.audio import load_audio

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "drum-audio"
CACHE = Path.home() / ".cache" / "drumjam-train" / "renders" / "val"
WINDOW_S = 0.05
#: drumjam voices -> MDB classes (MDB files a side stick under "other", OT)
MDB_CLASS = {"kick": "KD", "snare": "SD", "side_stick": "OT", "hihat_closed": "HH",
             "hihat_open": "HH", "hihat_pedal": "HH", "tom_high": "TT", "tom_mid": "TT",
             "tom_floor": "TT", "crash": "CY", "ride": "CY", "ride_bell": "CY"}
CLASSES = ("KD", "SD", "HH", "TT", "CY")
SCORED = (*CLASSES, "OT")


def mdb_reference(name: str) -> dict[str, np.ndarray]:
    ref: dict[str, list[float]] = {c: [] for c in CLASSES}
    for line in (DATA / "annotations" / "class" / f"{name}_class.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ref:
            ref[parts[1]].append(float(parts[0]))
    return {c: np.array(sorted(v)) for c, v in ref.items()}


def drumjam_estimate(path: Path) -> dict[str, np.ndarray]:
    take = transcribe(path)
    est: dict[str, list[float]] = {c: [] for c in SCORED}
    for h in take.hits:
        est[MDB_CLASS[h.voice.value]].append(h.time_s)
    return {c: np.array(sorted(v)) for c, v in est.items()}


def baseline_estimate(path: Path) -> dict[str, np.ndarray]:
    """librosa onsets, each given to the class whose band holds most of its energy."""
    import librosa

    y, sr = load_audio(path, sample_rate=22050)
    onsets = librosa.onset.onset_detect(y=y, sr=sr, units="time", backtrack=False)
    spec = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=2048)
    bands = {"KD": (30, 150), "SD": (150, 1500), "HH": (6000, 11000)}
    est: dict[str, list[float]] = {c: [] for c in CLASSES}
    for t in onsets:
        frame = min(int(t * sr / 512) + 1, spec.shape[1] - 1)
        energy = {c: float(spec[(freqs >= lo) & (freqs < hi), frame].mean())
                  for c, (lo, hi) in bands.items()}
        est[max(energy, key=energy.get)].append(float(t))
    return {c: np.array(v) for c, v in est.items()}


class Tally:
    """Counts of matches per class and the matched time errors."""

    def __init__(self) -> None:
        self.tp = {c: 0 for c in CLASSES}
        self.n_ref = {c: 0 for c in CLASSES}
        self.n_est = {c: 0 for c in CLASSES}
        self.errors_s: list[float] = []

    def add(self, ref: dict[str, np.ndarray], est: dict[str, np.ndarray]) -> None:
        for c in CLASSES:
            r, e = ref.get(c, np.zeros(0)), est.get(c, np.zeros(0))
            self.n_ref[c] += len(r)
            self.n_est[c] += len(e)
            if len(r) and len(e):
                m = mir_eval.util.match_events(r, e, WINDOW_S)
                self.tp[c] += len(m)
                self.errors_s += [e[j] - r[i] for i, j in m]

    def f(self, classes: tuple[str, ...]) -> float:
        tp = sum(self.tp[c] for c in classes)
        n = sum(self.n_ref[c] + self.n_est[c] for c in classes)
        return 2 * tp / n if n else float("nan")

    def row(self, name: str) -> str:
        err = np.abs(np.array(self.errors_s)) * 1000
        med, p90 = (np.median(err), np.percentile(err, 90)) if err.size else (np.nan, np.nan)
        cells = [f"{self.f((c,)):.3f}" for c in CLASSES]
        return (f"| {name} | " + " | ".join(cells) + f" | **{self.f(('KD', 'SD', 'HH')):.3f}** | "
                f"{med:.1f} | {p90:.1f} |")


def real_recordings() -> None:
    names = sorted(p.stem for p in (DATA / "audio").glob("*.wav"))
    systems = {"drumjam": drumjam_estimate, "librosa onsets + bands": baseline_estimate}
    tallies = {s: Tally() for s in systems}
    per_file = {s: [] for s in systems}
    cpu_s = 0.0
    audio_s = 0.0
    for name in names:
        ref = mdb_reference(name.removesuffix("_Drum"))
        for s, fn in systems.items():
            t0 = time.process_time()
            est = fn(DATA / "audio" / f"{name}.wav")
            if s == "drumjam":
                cpu_s += time.process_time() - t0
                audio_s += len(load_audio(DATA / "audio" / f"{name}.wav")[0]) / 44100
            tallies[s].add(ref, est)
            one = Tally()
            one.add(ref, est)
            per_file[s].append(one.f(("KD", "SD", "HH")))
    print("## Real acoustic-kit recordings (MDB Drums, 6 files), F-measure ±50 ms\n")
    print("| system | KD | SD | HH | TT | CY | KD+SD+HH | median |err| ms | p90 |err| ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in systems:
        print(tallies[s].row(s))
    print("\nPer file, pooled KD+SD+HH:\n")
    print("| file | " + " | ".join(systems) + " |\n|---|" + "---|" * len(systems))
    for i, name in enumerate(names):
        print(f"| {name} | " + " | ".join(f"{per_file[s][i]:.3f}" for s in systems) + " |")
    print(f"\nOffline cost: {cpu_s / (audio_s / 60):.2f} CPU s per minute of audio\n")


def held_out_renders(limit: int) -> None:
    files = sorted(CACHE.glob("*.npz"))[:limit]
    if not files:
        print("(no held-out renders: run training/render.py first)\n")
        return
    w = drumnet.bundled_weights()
    tally = Tally()
    vel_true, vel_est = [], []
    for path in files:
        with np.load(path) as d:
            x, labels = d["x"].astype(np.float32), d["labels"]
        pad_lo = np.zeros((drumnet.CONTEXT_PAST_FRAMES, drumnet.N_MELS), np.float32)
        pad_hi = np.zeros((drumnet.LOOKAHEAD_FRAMES + 3, drumnet.N_MELS), np.float32)
        onset, velocity = drumnet.forward(np.concatenate([pad_lo, x, pad_hi]), w)
        ref: dict[str, list[float]] = {c: [] for c in SCORED}
        est: dict[str, list[float]] = {c: [] for c in SCORED}
        times, classes, frames = _strokes(onset, w)
        for k, voice in enumerate(drumnet.CLASSES):
            cls = MDB_CLASS[voice.value]
            sel = labels[labels[:, 1] == k]
            mine = classes == k
            ref[cls] += list(sel[:, 0])
            est[cls] += list(times[mine])
            if len(sel) and mine.any():
                order = np.argsort(sel[:, 0])
                m = mir_eval.util.match_events(sel[order, 0].astype(float), times[mine], WINDOW_S)
                for i, j in m:
                    vel_true.append(sel[order[i], 2])
                    vel_est.append(velocity[frames[mine][j], k])
        tally.add({c: np.sort(v) for c, v in ref.items()}, {c: np.sort(v) for c, v in est.items()})
    print(f"## Held-out renders ({len(files)} grooves by drummers and kits never trained on)\n")
    print("| system | KD | SD | HH | TT | CY | KD+SD+HH | median |err| ms | p90 |err| ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(tally.row("drumjam"))
    r = np.corrcoef(vel_true, vel_est)[0, 1] if len(vel_true) > 2 else float("nan")
    print(f"\nVelocity: Pearson r = {r:.3f} between played and estimated velocity "
          f"({len(vel_true)} matched hits)\n")


def _strokes(onset: np.ndarray, w: dict[str, np.ndarray]):
    """Times (s, corrected), classes and frames of the strokes the transcriber picks."""
    r = PEAK_RADIUS_FRAMES
    pad = np.zeros((r, onset.shape[1]), np.float32)
    rows = np.arange(r, r + len(onset))
    found, classes, delta = pick_strokes(np.concatenate([pad, onset, pad]), rows, w["threshold"])
    frames = found - r
    times = (frames + delta) / drumnet.FPS - w["offset_s"][classes]
    order = np.argsort(times, kind="stable")
    return times[order], classes[order], frames[order]


def streaming() -> None:
    y, sr = load_audio(DATA / "audio" / "MusicDelta_80sRock_Drum.wav", sample_rate=48000)
    tr = DrumTranscriber(sample_rate=sr)
    block = sr // 100
    t0 = time.process_time()
    for i in range(0, len(y), block):
        tr.process(y[i:i + block])
    tr.flush()
    cpu = time.process_time() - t0
    share = cpu / (len(y) / sr)
    print("## Streaming (10 ms blocks at 48 kHz)\n")
    print("| figure | value |\n|---|---|")
    print(f"| a hit is final after (resampling, half a window, look-ahead, peak window) | "
          f"{tr.latency_s * 1000:.0f} ms + the block (10 ms) |")
    print(f"| CPU share of one core | {share * 100:.1f} % |")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| peak memory of this benchmark process | {peak_mb:.0f} MB |\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--renders", type=int, default=60, help="held-out renders to score")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} not found: the benchmark reads ../shared/data/drum-audio")
    real_recordings()
    held_out_renders(args.renders)
    streaming()


if __name__ == "__main__":
    main()
