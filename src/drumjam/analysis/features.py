"""Onset-strength envelopes: the signal every other analysis stage reads.

A log-compressed mel spectrogram at a 5.8 ms hop; its positive spectral flux (with a small
maximum filter across frequency, as in SuperFlux, so vibrato does not count as onsets) is the
onset strength. Frames are turned into seconds only through :attr:`Envelope.frame_times_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import scipy.ndimage

from drumjam.errors import InputError
from drumjam.io.audio import resample

ANALYSIS_SR = 22050
HOP = 128
N_FFT = 512
N_MELS = 80
LOW_BAND_HZ = 180.0
HIGH_BAND_HZ = 2500.0
#: Seconds by which the flux peak trails a note start (measured on clicks, -3 ms, and
#: sampled AVL drums, +3 to +6 ms; see tests/test_analysis_beats.py), removed from every time.
FLUX_DELAY_S = 0.001


@dataclass(frozen=True)
class Envelope:
    """Onset strength of a piece of audio.

    Attributes
    ----------
    onset : numpy.ndarray
        Full-band onset strength per frame (non-negative, normalised to a 0-1 range).
    low : numpy.ndarray
        Onset strength of the band below ``LOW_BAND_HZ`` (kick drum, bass).
    bands : numpy.ndarray
        ``(3, frames)`` onset strength below ``LOW_BAND_HZ``, up to ``HIGH_BAND_HZ`` (snare,
        voice, chords) and above it (cymbals, hi-hats), each normalised like ``onset``.
    mel_db : numpy.ndarray
        ``(n_mels, frames)`` log-mel spectrogram, for bar-level features.
    low_share : float
        Share of the low band in the raw spectral flux (near 0 for clicks, hi-hats, voice).
    fps : float
        Frames per second.
    duration_s : float
        Length of the audio.
    """

    onset: np.ndarray
    low: np.ndarray
    bands: np.ndarray
    mel_db: np.ndarray
    low_share: float
    fps: float
    duration_s: float

    def frame_times_s(self, frames: np.ndarray | float) -> np.ndarray:
        """Seconds of (fractional) frame indices, with the flux delay removed."""
        return np.asarray(frames, dtype=np.float64) / self.fps - FLUX_DELAY_S

    def frames_of(self, times_s: np.ndarray | float) -> np.ndarray:
        """Fractional frame index of times in seconds (inverse of :meth:`frame_times_s`)."""
        return (np.asarray(times_s, dtype=np.float64) + FLUX_DELAY_S) * self.fps

    def peak_near(self, x: np.ndarray, times_s: np.ndarray, half_window_s: float) -> np.ndarray:
        """Largest value of a frame signal of this envelope (``onset``, a band) within
        ``half_window_s`` of each time."""
        centres = np.round(self.frames_of(times_s)).astype(int)
        return window_max(x, centres, round(half_window_s * self.fps))


def window_max(x: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """Largest value of a non-negative frame signal within ``half`` frames of each centre frame
    (0 where the window lies wholly outside the signal)."""
    padded = np.concatenate([np.zeros(2 * half), np.asarray(x, dtype=np.float64), np.zeros(2 * half)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    index = np.asarray(centres, dtype=np.int64) + half  # window i covers x[i - 2 half : i + 1]
    inside = (index >= 0) & (index < windows.shape[0])
    out = np.zeros(index.size)
    out[inside] = windows[index[inside]].max(axis=1)
    return out


def peak_positions(x: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Sub-frame positions of peaks of ``x`` (indices with a neighbour on each side), by a
    parabola through each peak and its neighbours, moved at most half a frame."""
    a, b, c = x[peaks - 1], x[peaks], x[peaks + 1]
    den = a - 2 * b + c
    delta = np.where(den < 0, 0.5 * (a - c) / np.where(den < 0, den, -1.0), 0.0)
    return peaks + np.clip(delta, -0.5, 0.5)


def _flux(mel_log: np.ndarray) -> np.ndarray:
    ref = scipy.ndimage.maximum_filter1d(mel_log, size=3, axis=0)
    diff = np.zeros_like(mel_log)
    diff[:, 1:] = mel_log[:, 1:] - ref[:, :-1]
    return np.maximum(diff, 0.0).sum(axis=0)


def _normalise(x: np.ndarray, fps: float) -> np.ndarray:
    # remove a slowly varying floor (1 s moving median would be costly: use a mean) and scale
    win = max(3, int(round(0.5 * fps)) | 1)
    floor = scipy.ndimage.uniform_filter1d(x, size=win, mode="nearest")
    y = np.maximum(x - floor, 0.0)
    top = np.percentile(y, 99.5) if y.size else 0.0
    return y / top if top > 0 else y


def onset_envelope(samples: np.ndarray, sr: int) -> Envelope:
    """Compute the onset-strength envelope of mono audio.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float samples.
    sr : int
        Their sample rate.

    Returns
    -------
    Envelope
    """
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim != 1:
        raise InputError(f"onset analysis needs mono samples, got shape {y.shape}")
    if y.size < sr * 0.5:
        raise InputError(f"audio of {y.size / sr:.2f} s is too short to analyse; give at least 0.5 s")
    if sr != ANALYSIS_SR:
        y = resample(y, sr, ANALYSIS_SR)
    spec = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=True)) ** 2
    mel = librosa.feature.melspectrogram(S=spec, sr=ANALYSIS_SR, n_mels=N_MELS, fmax=11000.0)
    mel_log = np.log1p(1000.0 * mel / max(float(mel.max()), 1e-12))
    fps = ANALYSIS_SR / HOP
    freqs = librosa.mel_frequencies(n_mels=N_MELS, fmax=11000.0)
    low_bands = max(2, int(np.searchsorted(freqs, LOW_BAND_HZ)))
    high_bands = int(np.searchsorted(freqs, HIGH_BAND_HZ))
    flux_all = _flux(mel_log)
    flux_low = _flux(mel_log[:low_bands])
    bands = np.stack([_normalise(flux_low, fps), _normalise(_flux(mel_log[low_bands:high_bands]), fps),
                      _normalise(_flux(mel_log[high_bands:]), fps)])
    low_share = float(flux_low.sum() / max(float(flux_all.sum()), 1e-12))
    mel_db = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    return Envelope(_normalise(flux_all, fps), bands[0], bands, mel_db, low_share, fps,
                    y.size / ANALYSIS_SR)
