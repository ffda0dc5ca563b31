"""Beats from an onset envelope: dynamic programming and peak refinement.

librosa's dynamic-programming beat tracker (Ellis 2007) follows the tempo curve of
:mod:`drumjam.analysis.tempo` frame by frame; each beat then moves to the onset-strength peak
within a few milliseconds of it (parabolic interpolation between frames), where there is one.
:mod:`drumjam.analysis.grid` fits the grid of songs played to a click.
"""

from __future__ import annotations

import librosa
import numpy as np

from drumjam.analysis.features import HOP, Envelope, peak_positions

REFINE_WINDOW_S = 0.012
TIGHTNESS = 400.0
#: librosa trims weak beats at both ends; a trimmed first beat comes back where the onset
#: strength one period before the first tracked beat is at least this share of a typical
#: beat's (0.35-0.5 score alike on the benchmark).
EXTEND_MIN_SHARE = 0.5


def track(env: Envelope, tempo_times_s: np.ndarray, tempo_bpm: np.ndarray) -> np.ndarray:
    """Beat frames (fractional) by dynamic programming along a tempo curve."""
    frame_t = np.arange(env.onset.size) / env.fps
    bpm = np.interp(frame_t, tempo_times_s, tempo_bpm)
    _, frames = librosa.beat.beat_track(
        onset_envelope=env.onset, sr=env.fps * HOP, hop_length=HOP, bpm=bpm,
        tightness=TIGHTNESS, trim=True, units="frames",
    )
    return extend(env, np.asarray(frames, dtype=np.float64))


def _strength(env: Envelope, frame: float, half: int) -> float:
    c = int(round(frame))
    return float(env.onset[max(0, c - half):c + half + 1].max()) if 0 <= c < env.onset.size else 0.0


def extend(env: Envelope, frames: np.ndarray) -> np.ndarray:
    """Add back the beats before the first tracked beat, one period at a time, while a clear
    onset stands where each would fall: the song's first beats, which librosa's trimming of
    weak edges often drops when the music starts at once."""
    if frames.size < 4:
        return frames
    half = max(1, int(round(REFINE_WINDOW_S * env.fps)))
    threshold = EXTEND_MIN_SHARE * float(np.median([_strength(env, f, half) for f in frames]))
    period = float(np.median(np.diff(frames[:5])))
    head: list[float] = []
    t = frames[0] - period
    while t >= -half and _strength(env, max(t, 0.0), half) >= threshold:
        head.append(max(t, 0.0))
        t -= period
    return np.concatenate([head[::-1], frames])


def refine(env: Envelope, frames: np.ndarray) -> np.ndarray:
    """Move each beat to the nearest strong onset peak (sub-frame, parabolic)."""
    x = env.onset
    half = int(round(REFINE_WINDOW_S * env.fps))
    out = frames.astype(np.float64).copy()
    for k, f in enumerate(frames):
        c = int(round(f))
        lo, hi = max(1, c - half), min(x.size - 1, c + half + 1)
        if hi - lo < 3:
            continue
        peak = lo + int(np.argmax(x[lo:hi]))
        if x[peak] < 0.1 or peak in (lo, hi - 1):
            continue
        out[k] = peak_positions(x, np.array([peak]))[0]
    return out
