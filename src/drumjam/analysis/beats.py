"""Beats from an onset envelope: dynamic programming and peak refinement.

Ellis's dynamic-programming beat tracker (2007), as librosa implements it, follows the tempo
curve of :mod:`drumjam.analysis.tempo` frame by frame; here in NumPy, a block of frames at a
time (no frame looks back less than half a beat, so half a beat of frames is scored at once),
which needs no compiler at start-up. Each beat then moves to the onset-strength peak within a
few milliseconds of it (parabolic interpolation between frames), where there is one.
:mod:`drumjam.analysis.grid` fits the grid of songs played to a click.
"""

from __future__ import annotations

import numpy as np

from drumjam.analysis.features import Envelope, peak_positions

REFINE_WINDOW_S = 0.012
TIGHTNESS = 400.0
#: librosa trims weak beats at both ends; a trimmed first beat comes back where the onset
#: strength one period before the first tracked beat is at least this share of a typical
#: beat's (0.35-0.5 score alike on the benchmark).
EXTEND_MIN_SHARE = 0.5


def _local_score(onset: np.ndarray, frames_per_beat: np.ndarray) -> np.ndarray:
    """The onsets (in units of their standard deviation) smoothed by a Gaussian of a 32nd of
    the local beat period."""
    x = onset / (onset.std(ddof=1) + 1e-12)
    out = np.empty_like(x)
    for fpb in np.unique(frames_per_beat):
        half = int(min(fpb, np.ceil(6.0 * fpb / 32.0)))
        window = np.exp(-0.5 * (np.arange(-half, half + 1) * 32.0 / fpb) ** 2)
        where = np.flatnonzero(frames_per_beat == fpb)
        lo, hi = max(0, where[0] - half), min(x.size, where[-1] + half + 1)
        smooth = np.convolve(x[lo:hi], window, mode="same")
        out[where] = smooth[where - lo]
    return out


def _dynamic_program(score: np.ndarray, frames_per_beat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative score and back-link of every frame: the best previous beat between half a
    period and two periods back, penalised by ``TIGHTNESS * log(gap / period) ** 2``."""
    n = score.size
    cum = np.empty(n)
    back = np.full(n, -1, dtype=np.int64)
    started = np.flatnonzero(score >= 0.01 * score.max())
    first = int(started[0]) if started.size else n
    nearest = np.round(frames_per_beat / 2.0).astype(np.int64)
    i = 0
    while i < n:
        size = max(1, int(nearest[i:i + max(1, nearest[i])].min()))
        idx = np.arange(i, min(n, i + size))
        fpb, d_min, d_max = frames_per_beat[idx], nearest[idx], 2 * frames_per_beat[idx].astype(np.int64)
        gaps = np.arange(d_min.min(), d_max.max() + 1)
        loc = idx[:, None] - gaps[None, :]
        valid = (gaps >= d_min[:, None]) & (gaps <= d_max[:, None]) & (loc >= 0)
        cand = np.where(valid, cum[np.maximum(loc, 0)]
                        - TIGHTNESS * (np.log(gaps)[None, :] - np.log(fpb)[:, None]) ** 2, -np.inf)
        best = np.argmax(cand, axis=1)  # the nearest of equal scores, as librosa
        found = valid[np.arange(idx.size), best]
        cum[idx] = score[idx] + np.where(found, cand[np.arange(idx.size), best], 0.0)
        back[idx] = np.where(found & (idx >= first), loc[np.arange(idx.size), best], -1)
        i += size
    return cum, back


def _beat_frames(score: np.ndarray, cum: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Back-track from the last strong local maximum of the cumulative score, then drop beats
    before the first and after the last frame whose local score is a clear onset."""
    padded = np.concatenate([cum[:1], cum, cum[-1:]])
    peaks = (cum > padded[:-2]) & (cum >= padded[2:])
    ok = np.flatnonzero(peaks & (cum >= 0.5 * np.median(cum[peaks])))
    frame = int(ok[-1]) if ok.size else cum.size - 1
    beats = []
    while frame >= 0:
        beats.append(frame)
        frame = int(back[frame])
    beats = np.asarray(beats[::-1], dtype=np.int64)
    smooth = np.convolve(score[beats], np.hanning(5))[2:]  # librosa keeps the tail of the full convolution
    strong = np.flatnonzero(score > 0.5 * np.sqrt(np.mean(smooth**2)))
    if strong.size == 0:
        return beats[:0]
    return beats[(beats >= strong[0]) & (beats <= strong[-1])]


def track(env: Envelope, tempo_times_s: np.ndarray, tempo_bpm: np.ndarray) -> np.ndarray:
    """Beat frames (fractional) by dynamic programming along a tempo curve."""
    frame_t = np.arange(env.onset.size) / env.fps
    bpm = np.interp(frame_t, tempo_times_s, tempo_bpm)
    frames_per_beat = np.round(env.fps * 60.0 / bpm)
    score = _local_score(env.onset, frames_per_beat)
    cum, back = _dynamic_program(score, frames_per_beat)
    return extend(env, _beat_frames(score, cum, back).astype(np.float64))


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


def refine(env: Envelope, frames: np.ndarray, *, window_s: float = REFINE_WINDOW_S) -> np.ndarray:
    """Move each beat to the strongest onset peak within ``window_s`` (sub-frame, parabolic)."""
    x = env.onset
    half = int(round(window_s * env.fps))
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
