"""Tempo over time: a local autocorrelation tempogram decoded by Viterbi.

Every half second the onset envelope's autocorrelation over the last ~6 s scores each tempo
on a log grid (with its double and half as support, weighted by a broad prior around
110 BPM). A Viterbi path through these scores keeps the tempo steady, lets it drift a little,
and jumps only where a different tempo clearly wins for several seconds: a real tempo change.
"""

from __future__ import annotations

import librosa
import numpy as np

from drumjam.analysis.features import Envelope

MIN_BPM = 40.0
MAX_BPM = 240.0
N_BINS = 161  # log2(240/40) = 2.58 octaves -> 1.1 % per bin
PRIOR_CENTRE_BPM = 110.0
PRIOR_OCTAVES = 1.0
#: Support a tempo draws from the periodicity at twice its period (its bars or half-bars)...
HALF_TEMPO_WEIGHT = 0.5
#: ... and at half its period (the subdivision).
DOUBLE_TEMPO_WEIGHT = 0.25
BLOCK_S = 0.5
WINDOW_S = 6.0
DECIMATE = 2
DRIFT_BINS = 1.0
JUMP_LOG_PENALTY = 12.0

TEMPO_GRID_BPM = MIN_BPM * (MAX_BPM / MIN_BPM) ** np.linspace(0.0, 1.0, N_BINS)


def _acf_value(acf: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """ACF rows (lag, block) sampled at fractional lags, 0 beyond the window."""
    idx = np.arange(acf.shape[0])
    return np.stack([np.interp(lags, idx, acf[:, j], right=0.0) for j in range(acf.shape[1])], axis=1)


def local_autocorrelation(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    """Autocorrelation of Hann-windowed frames of ``x`` centred every ``hop`` samples.

    The same as ``librosa.feature.tempogram(..., norm=None)[:, ::hop]``, computed only for
    the frames kept. Returns ``(win, frames)``.
    """
    half = win // 2
    padded = np.pad(x, (half, half), mode="linear_ramp", end_values=(0, 0))
    frames = librosa.util.frame(padded, frame_length=win, hop_length=hop)[:, : (x.size - 1) // hop + 1]
    window = librosa.filters.get_window("hann", win, fftbins=True)[:, None]
    return librosa.autocorrelate(frames * window, axis=0)


def tempo_salience(env: Envelope) -> tuple[np.ndarray, np.ndarray]:
    """Score of each tempo of :data:`TEMPO_GRID_BPM` in each block.

    Returns
    -------
    block_times_s : numpy.ndarray
        Centre of each block.
    salience : numpy.ndarray
        ``(N_BINS, blocks)`` non-negative scores.
    """
    x = env.onset
    n = x.size // DECIMATE * DECIMATE
    x = x[:n].reshape(-1, DECIMATE).max(axis=1)
    fps = env.fps / DECIMATE
    win = int(round(WINDOW_S * fps))
    hop_blocks = max(1, int(round(BLOCK_S * fps)))
    tg = local_autocorrelation(x, win, hop_blocks)
    tg = tg / np.maximum(tg[:1], 1e-9)  # normalise by lag-0 energy per block
    lags = 60.0 * fps / TEMPO_GRID_BPM
    s1 = _acf_value(tg, lags)
    s2 = _acf_value(tg, 2 * lags)
    s_half = _acf_value(tg, lags / 2)
    salience = np.maximum(s1 + HALF_TEMPO_WEIGHT * s2 + DOUBLE_TEMPO_WEIGHT * s_half, 0.0)
    prior = np.exp(-0.5 * (np.log2(TEMPO_GRID_BPM / PRIOR_CENTRE_BPM) / PRIOR_OCTAVES) ** 2)
    salience *= prior[:, None]
    times = np.arange(tg.shape[1]) * hop_blocks / fps
    return times, salience


def tempo_path(salience: np.ndarray) -> np.ndarray:
    """Viterbi path (tempo-bin index per block) through a salience matrix."""
    n_bins, n_blocks = salience.shape
    obs = np.log(salience / np.maximum(salience.max(axis=0, keepdims=True), 1e-12) + 1e-3)
    d = np.arange(n_bins)[:, None] - np.arange(n_bins)[None, :]
    trans = -0.5 * (d / DRIFT_BINS) ** 2
    trans = np.maximum(trans, -JUMP_LOG_PENALTY)
    score = obs[:, 0].copy()
    back = np.zeros((n_bins, n_blocks), dtype=np.int32)
    for j in range(1, n_blocks):
        cand = score[None, :] + trans  # (to, from)
        back[:, j] = np.argmax(cand, axis=1)
        score = cand[np.arange(n_bins), back[:, j]] + obs[:, j]
    path = np.empty(n_blocks, dtype=np.int32)
    path[-1] = int(np.argmax(score))
    for j in range(n_blocks - 1, 0, -1):
        path[j - 1] = back[path[j], j]
    return path


def tempo_curve(env: Envelope) -> tuple[np.ndarray, np.ndarray]:
    """Tempo in BPM per block of a song, steady except where it really changes.

    Returns
    -------
    block_times_s, tempo_bpm : numpy.ndarray
    """
    times, sal = tempo_salience(env)
    path = tempo_path(sal)
    return times, TEMPO_GRID_BPM[path]
