"""Metre and downbeats from beat-synchronous features.

Bars repeat: the spectrum of each beat resembles the spectrum one bar later more than one
beat or a half bar later, so the lag (3 or 4 beats, and twice that) whose self-similarity
stands out most above its neighbouring lags gives the metre. The downbeat phase is the one whose beats carry the most low-band onset energy (kick
drum, bass notes) for their overall strength (snare backbeats are loud but not low) and the
largest change of spectrum (new chord, crash cymbal); without a low band (a click track) it is
the loudest beat.
"""

from __future__ import annotations

import itertools

import numpy as np

from drumjam.analysis.features import Envelope

METERS = (3, 4)
PEAK_WINDOW_S = 0.04
LOW_SHARE_MIN = 0.15


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def beat_spectra(env: Envelope, beats_s: np.ndarray) -> np.ndarray:
    """Mean log-mel spectrum of each beat interval less the song's mean, unit norm.

    Returns an array of shape ``(beats - 1, n_mels)``.
    """
    frames = np.clip(np.round(env.frames_of(beats_s)).astype(int), 0, env.mel_db.shape[1] - 1)
    spectra = np.stack([
        env.mel_db[:, a:max(b, a + 1)].mean(axis=1) for a, b in itertools.pairwise(frames)
    ])
    # what changes from beat to beat, not the song's overall timbre
    spectra = spectra - spectra.mean(axis=0, keepdims=True)
    norm = np.linalg.norm(spectra, axis=1, keepdims=True)
    return spectra / np.maximum(norm, 1e-9)


def _peak_at(x: np.ndarray, env: Envelope, beats_s: np.ndarray) -> np.ndarray:
    half = int(round(PEAK_WINDOW_S * env.fps))
    centres = np.round(env.frames_of(beats_s)).astype(int)
    return np.array([x[max(0, c - half):min(x.size, c + half + 1)].max(initial=0.0) for c in centres])


def lag_similarity(spectra: np.ndarray, lag: int) -> float:
    """Mean cosine similarity of beat spectra ``lag`` beats apart."""
    if spectra.shape[0] <= lag:
        return 0.0
    return float(np.mean(np.sum(spectra[:-lag] * spectra[lag:], axis=1)))


def estimate_meter(spectra: np.ndarray) -> tuple[int, float]:
    """Beats per bar (3 or 4) and how clearly it won (0-1).

    Similarity falls slowly with the lag as the music evolves, so each lag is scored by how
    far it stands above its two neighbours; a metre scores its bar and its two-bar lags.
    """
    sims = {lag: lag_similarity(spectra, lag) for lag in range(1, 10)}
    peak = {lag: sims[lag] - 0.5 * (sims[lag - 1] + sims[lag + 1]) for lag in range(2, 9)}
    score3 = peak[3] + peak[6]
    score4 = peak[4] + peak[8]
    meter = 3 if score3 > score4 else 4
    margin = abs(score3 - score4) / max(abs(score3) + abs(score4), 1e-9)
    return meter, float(np.clip(margin, 0.0, 1.0))


def downbeat_phase(env: Envelope, beats_s: np.ndarray, spectra: np.ndarray, meter: int) -> int:
    """Index (0..meter-1) of the first downbeat among the beats."""
    low = _zscore(_peak_at(env.low, env, beats_s))
    change = np.zeros(beats_s.size)
    if spectra.shape[0] >= 2:
        # change at beat i: distance between the spectra of the intervals before and after it
        change[1:-1] = 1.0 - np.sum(spectra[:-1] * spectra[1:], axis=1)
    change = _zscore(change)
    strength = _zscore(_peak_at(env.onset, env, beats_s))
    if env.low_share < LOW_SHARE_MIN:
        # no kick or bass to go by (a click track, a hand clap): the accented beat is the loud one
        evidence = strength + 0.5 * change
    else:
        # kick and bass on "one", snare backbeats loud on the other beats
        evidence = low - strength + 0.5 * change
    scores = [evidence[p::meter].mean() if evidence[p::meter].size else -np.inf for p in range(meter)]
    return int(np.argmax(scores))


def downbeats(env: Envelope, beats_s: np.ndarray, meter: int | None = None) -> tuple[int, int, float]:
    """Metre, first downbeat index and metre confidence of a beat sequence.

    Parameters
    ----------
    env : Envelope
        The song's onset envelope.
    beats_s : numpy.ndarray
        Beat times.
    meter : int, optional
        Force the metre instead of estimating it.
    """
    if beats_s.size < 4:
        return meter or 4, 0, 0.0
    spectra = beat_spectra(env, beats_s)
    if meter is None:
        meter, clarity = estimate_meter(spectra)
    else:
        clarity = 1.0
    return meter, downbeat_phase(env, beats_s, spectra, meter), clarity
