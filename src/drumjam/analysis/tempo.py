"""Tempo over time: a local autocorrelation tempogram decoded by Viterbi.

Every half second the autocorrelation of each band's onsets over ~6 s scores each tempo on a
log grid (with its subdivision, half-bar and bar as support), summed over the bands. Of the
metrical levels of the block's dominant periodicity (it, its half, third, quarter, ...), a
log-Gaussian prior around 100 BPM picks the beat (metrical reasoning as in Klapuri et al.
2006 and Ellis 2007). A Viterbi path through these scores keeps the tempo steady, lets it
drift a little, and jumps only where a different tempo clearly wins for several seconds: a
real tempo change.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from drumjam.analysis.features import Envelope

MIN_BPM = 40.0
MAX_BPM = 240.0
N_BINS = 161  # log2(240/40) = 2.58 octaves -> 1.1 % per bin
PRIOR_CENTRE_BPM = 100.0
PRIOR_OCTAVES = 0.7
#: Support a tempo draws from the periodicity at multiples of its period: its subdivision
#: (0.5), itself, its half-bar (2) and its bar in 3/4 or 4/4 (3, 4).
HARMONIC_WEIGHTS = {0.5: 0.25, 1.0: 1.0, 2.0: 0.5, 3.0: 0.25, 4.0: 0.25}
#: Metrical levels a block's tempo may take: the strongest periodicity of the block times
#: one of these (metrical levels divide by 2 or 3: the beat may be the dominant pulse, its
#: half, third or quarter, as the dotted quarter of 6/8 or 12/8 is a third of its eighths, or
#: its double, triple or 4x)...
METRICAL_RATIOS = (0.25, 1 / 3, 0.5, 1.0, 2.0, 3.0, 4.0)
#: ... within this many octaves (about 2 %)...
METRICAL_WIDTH_OCTAVES = 0.03
#: ... other tempi keep this share of their prior (a preference, not a rule: a passage in
#: a new metre or tempo can still win).
OFF_METRICAL_SHARE = 0.4
BLOCK_S = 0.5
WINDOW_S = 6.0
DECIMATE = 2
DRIFT_BINS = 1.0
#: Autocorrelation frames computed at a time.
ACF_BLOCK_FRAMES = 256
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
    n_frames = (x.size - 1) // hop + 1
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[::hop][:n_frames]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)  # periodic Hann
    n_fft = 1 << int(np.ceil(np.log2(2 * win - 1)))
    out = np.empty((win, n_frames))
    for first in range(0, n_frames, ACF_BLOCK_FRAMES):  # a block at a time: little memory
        part = frames[first:first + ACF_BLOCK_FRAMES]
        power = np.abs(np.fft.rfft(part * window, n=n_fft, axis=1)) ** 2
        out[:, first:first + part.shape[0]] = np.fft.irfft(power, n=n_fft, axis=1)[:, :win].T
    return out


def band_salience(x: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Salience of each tempo of :data:`TEMPO_GRID_BPM` in the periodicity of one onset signal.

    Returns the block centres (frames of ``x``) and a ``(N_BINS, blocks)`` array: the local
    autocorrelation (relative to the block's energy) at each tempo's period and at the
    periods of its subdivision, its half-bar and its bar (see :data:`HARMONIC_WEIGHTS`).
    """
    n = x.size // DECIMATE * DECIMATE
    x = x[:n].reshape(-1, DECIMATE).max(axis=1)
    fps = fps / DECIMATE
    win = int(round(WINDOW_S * fps))
    hop_blocks = max(1, int(round(BLOCK_S * fps)))
    tg = local_autocorrelation(x, win, hop_blocks)
    tg = tg / np.maximum(tg[:1], 1e-9)  # normalise by lag-0 energy per block
    lags = 60.0 * fps / TEMPO_GRID_BPM
    salience = sum(w * _acf_value(tg, k * lags) for k, w in HARMONIC_WEIGHTS.items())
    return np.arange(tg.shape[1]) * hop_blocks * DECIMATE, salience


def _prior(tempo_bpm: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * (np.log2(tempo_bpm / PRIOR_CENTRE_BPM) / PRIOR_OCTAVES) ** 2)


def metrical_weights(salience: np.ndarray) -> np.ndarray:
    """Weight of each tempo in each block: the tempo prior of the metrical level it lies on.

    The levels are the block's dominant periodicity times :data:`METRICAL_RATIOS`; a tempo
    within :data:`METRICAL_WIDTH_OCTAVES` of a level takes the prior of the level (so the
    prior picks the level, and the salience alone the exact tempo within it); other tempi
    keep :data:`OFF_METRICAL_SHARE` of their own prior. The prior may thus prefer a moderate
    tempo to the dominant pulse, but one that the pulse fits evenly rather than a tempo in a
    3:4 or 2:3 relation to it, which would put beats between the onsets.
    """
    dominant_bpm = TEMPO_GRID_BPM[np.argmax(salience, axis=0)]
    levels = dominant_bpm[None, :] * np.asarray(METRICAL_RATIOS)[:, None]  # (ratios, blocks)
    on_level = OFF_METRICAL_SHARE * _prior(TEMPO_GRID_BPM)[:, None]
    for level in levels:  # a ratio at a time: (tempi, blocks) arrays, not (tempi, ratios, blocks)
        near = np.abs(np.log2(TEMPO_GRID_BPM[:, None] / level[None, :])) <= METRICAL_WIDTH_OCTAVES
        on_level = np.maximum(on_level, np.where(near, _prior(level)[None, :], 0.0))
    return on_level


def periodicity(env: Envelope) -> tuple[np.ndarray, np.ndarray]:
    """Salience of each tempo of :data:`TEMPO_GRID_BPM` in each block, summed over the bands.

    The periodicity of each band's onsets (kick and bass, snare and chords, cymbals) is
    scored on its own and the three are summed, so a band whose onsets mark the beat
    counts as much as the busiest band.

    Returns
    -------
    block_times_s : numpy.ndarray
        Centre of each block.
    salience : numpy.ndarray
        ``(N_BINS, blocks)`` non-negative scores, no tempo preferred.
    """
    per_band = [band_salience(band, env.fps) for band in env.bands]
    frames = per_band[0][0]
    return frames / env.fps, np.maximum(sum(s for _, s in per_band), 0.0)


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


class TempoCurve(NamedTuple):
    """The tempo of a song over time and the song's periodicity at every tempo."""

    block_times_s: np.ndarray
    tempo_bpm: np.ndarray
    #: Mean of :func:`periodicity` over the song at each tempo of :data:`TEMPO_GRID_BPM`.
    salience: np.ndarray

    def salience_at(self, tempo_bpm: float) -> float:
        """The song's periodicity at any tempo (interpolated on the log-tempo grid)."""
        return float(np.interp(np.log(tempo_bpm), np.log(TEMPO_GRID_BPM), self.salience))


def tempo_curve(env: Envelope) -> TempoCurve:
    """Tempo in BPM per block of a song, steady except where it really changes.

    Each block keeps the metrical levels of its dominant periodicity
    (:func:`metrical_weights`), among which a log-Gaussian prior favours moderate tempi; a
    Viterbi path through the weighted scores gives the tempo of every block.
    """
    times, sal = periodicity(env)
    path = tempo_path(sal * metrical_weights(sal))
    return TempoCurve(times, TEMPO_GRID_BPM[path], sal.mean(axis=1))
