"""Onset-strength envelopes: the signal every other analysis stage reads.

A log-compressed mel spectrogram at a 5.8 ms hop; its positive spectral flux (with a small
maximum filter across frequency, as in SuperFlux, so vibrato does not count as onsets) is the
onset strength. Frames are turned into seconds only through :attr:`Envelope.frame_times_s`.
The spectrogram is computed in blocks with NumPy alone (the same values as librosa's ``stft``
and Slaney mel filters), so a long song needs little more memory than its mel spectrogram.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.fft

from drumjam.errors import InputError
from drumjam.io.audio import resample

ANALYSIS_SR = 22050
HOP = 128
N_FFT = 512
N_MELS = 80
FMAX_HZ = 11000.0
#: Frames computed at a time.
BLOCK_FRAMES = 8192
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
        ``(n_mels, frames)`` log-mel spectrogram in dB (float16), for bar-level features.
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


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(hz >= 1000.0, 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / log_step, hz * 3.0 / 200.0)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(mel >= 15.0, 1000.0 * np.exp(log_step * (mel - 15.0)), mel * 200.0 / 3.0)


def mel_frequencies(n_mels: int, fmax_hz: float) -> np.ndarray:
    """``n_mels`` frequencies evenly spaced on the mel scale from 0 Hz to ``fmax_hz``."""
    return mel_to_hz(np.linspace(0.0, float(hz_to_mel(fmax_hz)), n_mels))


@cache
def mel_filters() -> np.ndarray:
    """``(N_MELS, N_FFT // 2 + 1)`` triangular mel filters of unit area (Slaney)."""
    fft_hz = np.fft.rfftfreq(N_FFT, 1.0 / ANALYSIS_SR)
    edges = mel_frequencies(N_MELS + 2, FMAX_HZ)
    width = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / width[:-1, None]
    falling = ramps[2:] / width[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def framed(y: np.ndarray, first: int, count: int, length: int, hop: int, lead: int) -> np.ndarray:
    """Frames ``first`` to ``first + count - 1`` of ``length`` samples, frame ``i`` starting at
    sample ``i * hop - lead``, zeros outside ``y`` (no copy of the whole signal is padded)."""
    start = first * hop - lead
    stop = (first + count - 1) * hop - lead + length
    segment = np.zeros(stop - start, dtype=np.float32)
    lo, hi = max(start, 0), min(stop, y.size)
    if hi > lo:
        segment[lo - start:hi - start] = y[lo:hi]
    return np.lib.stride_tricks.sliding_window_view(segment, length)[::hop][:count]


def mel_power(y: np.ndarray) -> np.ndarray:
    """``(N_MELS, frames)`` mel power spectrogram (centred frames, zero-padded, periodic Hann
    window), frame ``i`` centred on sample ``i * HOP``, computed :data:`BLOCK_FRAMES` at a time."""
    n_frames = 1 + y.size // HOP
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    out = np.empty((N_MELS, n_frames), dtype=np.float32)
    filters = mel_filters()
    for first in range(0, n_frames, BLOCK_FRAMES):
        count = min(BLOCK_FRAMES, n_frames - first)
        block = framed(y, first, count, N_FFT, HOP, N_FFT // 2)
        power = np.abs(scipy.fft.rfft(block * window, axis=1)) ** 2
        out[:, first:first + count] = filters @ power.T
    return out


def _flux(mel_log: np.ndarray) -> np.ndarray:
    """Positive spectral flux against the previous frame's maximum over neighbouring bands."""
    ref = mel_log.copy()
    ref[1:] = np.maximum(ref[1:], mel_log[:-1])
    ref[:-1] = np.maximum(ref[:-1], mel_log[1:])
    diff = np.zeros(mel_log.shape[1], dtype=np.float64)
    diff[1:] = np.maximum(mel_log[:, 1:] - ref[:, :-1], 0.0).sum(axis=0)
    return diff


def moving_mean(x: np.ndarray, size: int) -> np.ndarray:
    """Centred moving mean over an odd ``size`` of frames, the ends extended by their values."""
    half = size // 2
    c = np.cumsum(np.concatenate([[0.0], np.full(half, x[0]), x, np.full(half, x[-1])]))
    return (c[size:] - c[:-size]) / size


def _normalise(x: np.ndarray, fps: float) -> np.ndarray:
    # remove a slowly varying floor (1 s moving median would be costly: use a mean) and scale
    if x.size == 0:
        return x
    y = np.maximum(x - moving_mean(x, max(3, int(round(0.5 * fps)) | 1)), 0.0)
    top = np.percentile(y, 99.5)
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
    mel = mel_power(y)
    top = max(float(mel.max()), 1e-12)
    fps = ANALYSIS_SR / HOP
    freqs = mel_frequencies(N_MELS, FMAX_HZ)
    low_bands = max(2, int(np.searchsorted(freqs, LOW_BAND_HZ)))
    high_bands = int(np.searchsorted(freqs, HIGH_BAND_HZ))
    flux = np.zeros((4, mel.shape[1]))  # all, low, mid, high
    for first in range(0, mel.shape[1], BLOCK_FRAMES):
        a = max(0, first - 1)  # one frame of overlap for the difference
        mel_log = np.log1p((1000.0 / top) * mel[:, a:first + BLOCK_FRAMES])
        parts = (_flux(mel_log), _flux(mel_log[:low_bands]), _flux(mel_log[low_bands:high_bands]),
                 _flux(mel_log[high_bands:]))
        for row, part in enumerate(parts):
            flux[row, first:first + BLOCK_FRAMES] = part[first - a:]
    low_share = float(flux[1].sum() / max(float(flux[0].sum()), 1e-12))
    bands = np.stack([_normalise(f, fps) for f in flux[1:]])
    # in place: dB relative to the loudest bin, 80 dB of range
    np.maximum(mel, 1e-10, out=mel)
    np.log10(mel, out=mel)
    mel *= 10.0
    mel -= 10.0 * np.log10(max(top, 1e-10))
    np.maximum(mel, float(mel.max()) - 80.0, out=mel)
    mel_db = mel.astype(np.float16)
    del mel
    return Envelope(_normalise(flux[0], fps), bands[0], bands, mel_db, low_share, fps, y.size / ANALYSIS_SR)
