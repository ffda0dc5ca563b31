"""Onset-strength envelopes: the signal every other analysis stage reads.

A log-compressed mel spectrogram at a 5.8 ms hop; its positive spectral flux (with a small
maximum filter across frequency, as in SuperFlux, so vibrato does not count as onsets) is the
onset strength. Frames are turned into seconds only through :attr:`Envelope.frame_times_s`.
The spectrogram is computed in blocks with NumPy alone (the same values as librosa's ``stft``
and Slaney mel filters), of audio fed a block at a time (:class:`EnvelopeStream`), so a long
song needs little more memory than its mel spectrogram.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.fft

from drumjam.analysis.stream import array_blocks
from drumjam.errors import InputError
from drumjam.io.audio import resample

ANALYSIS_SR = 22050
#: The shortest audio a beat map is found in, in seconds.
MIN_ANALYSIS_S = 0.5
HOP = 128
N_FFT = 512
N_MELS = 80
FMAX_HZ = 11000.0
#: Frames computed at a time.
BLOCK_FRAMES = 8192
#: Bytes of mel spectrogram held in memory until the envelope is made (about five minutes
#: of audio); the rest waits in a temporary file.
SPOOL_BYTES = 16 << 20
LOW_BAND_HZ = 180.0
HIGH_BAND_HZ = 2500.0
#: Seconds by which the flux peak trails a note start (measured on clicks, -3 ms, and
#: sampled AVL drums, +3 to +6 ms; see tests/test_analysis_beats.py), removed from every time.
FLUX_DELAY_S = 0.001


#: The start of the audio whose level tells a recording cut in mid-music from one that
#: starts from silence.
CUT_IN_HEAD_S = 0.002
#: A start from silence is at least this far under the song's RMS level in its first
#: :data:`CUT_IN_HEAD_S`; louder, the audio was cut in sounding. (A file trimmed to start on a
#: note's loud attack reads as cut in too: no beat is then placed before its first onset.)
CUT_IN_BELOW_DB = 20.0


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
    cut_in : bool
        The audio sounds from its first sample at about the song's level (a recording cut from
        a longer one, :data:`CUT_IN_HEAD_S`, :data:`CUT_IN_BELOW_DB`): the onset its first
        frames show is the cut, not a note struck at 0 s.
    """

    onset: np.ndarray
    low: np.ndarray
    bands: np.ndarray
    mel_db: np.ndarray
    low_share: float
    fps: float
    duration_s: float
    cut_in: bool = False

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


class FrameStream:
    """Frames of a signal fed a block at a time: frame ``i`` holds ``length`` samples from
    sample ``i * hop - lead``, zeros before the first sample and after the last. Only the
    samples of frames not yet cut are held, so the frames do not depend on how the signal was
    cut into blocks.

    Parameters
    ----------
    length, hop, lead : int
        Frame length, hop and the zeros before the first sample, in samples.
    """

    def __init__(self, length: int, hop: int, lead: int) -> None:
        self.length, self.hop = length, hop
        self.n_samples = 0
        self._buf = np.zeros(lead, np.float32)  # from the start of the next frame on
        self._next = 0  # index of the next frame

    def push(self, block: np.ndarray) -> np.ndarray:
        """Feed samples; return ``(frames, length)``: the frames they complete (a view, valid
        until the next call)."""
        block = np.asarray(block, dtype=np.float32)
        self.n_samples += block.size
        self._buf = np.concatenate([self._buf, block])
        return self._cut(max(0, (self._buf.size - self.length) // self.hop + 1))

    def finish(self, n_frames: int) -> np.ndarray:
        """The frames left up to frame ``n_frames - 1``, zero-padded past the last sample."""
        count = max(0, n_frames - self._next)
        need = (count - 1) * self.hop + self.length if count else 0
        if need > self._buf.size:
            self._buf = np.concatenate([self._buf, np.zeros(need - self._buf.size, np.float32)])
        return self._cut(count)

    def _cut(self, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros((0, self.length), np.float32)
        windows = np.lib.stride_tricks.sliding_window_view(self._buf, self.length)
        frames = windows[::self.hop][:count]
        self._buf = self._buf[count * self.hop:]
        self._next += count
        return frames


@cache
def _window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


class MelStream:
    """The mel power spectrogram of :func:`mel_power`, of audio fed a block at a time at
    :data:`ANALYSIS_SR`, kept in blocks of at most :data:`BLOCK_FRAMES` frames until read
    back with :meth:`blocks` (3.4 MB a minute: past :data:`SPOOL_BYTES`, in a temporary file
    rather than in memory)."""

    def __init__(self) -> None:
        self.frames = FrameStream(N_FFT, HOP, N_FFT // 2)
        self.top = 0.0  # the largest value so far
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        self._counts: list[int] = []  # frames of each block

    def push(self, y: np.ndarray) -> None:
        """Feed samples."""
        self._add(self.frames.push(y))

    def finish(self) -> None:
        """Add the last frames (past the end, zero-padded)."""
        self._add(self.frames.finish(1 + self.frames.n_samples // HOP))

    @property
    def n_frames(self) -> int:
        """Frames computed so far."""
        return sum(self._counts)

    def blocks(self) -> Iterator[np.ndarray]:
        """The spectrogram's ``(N_MELS, frames)`` float32 blocks, in order, read back once."""
        self._spool.seek(0)
        with self._spool:
            for count in self._counts:
                data = self._spool.read(N_MELS * count * np.dtype(np.float32).itemsize)
                yield np.frombuffer(data, np.float32).reshape(N_MELS, count).copy()

    def _add(self, frames: np.ndarray) -> None:
        filters = mel_filters()
        for first in range(0, frames.shape[0], BLOCK_FRAMES):
            block = frames[first:first + BLOCK_FRAMES]
            power = np.abs(scipy.fft.rfft(block * _window(), axis=1)) ** 2
            mel = filters @ power.T
            self.top = max(self.top, float(mel.max()))
            self._spool.write(mel.tobytes())
            self._counts.append(mel.shape[1])


def mel_power(y: np.ndarray) -> np.ndarray:
    """``(N_MELS, frames)`` mel power spectrogram (centred frames, zero-padded, periodic Hann
    window), frame ``i`` centred on sample ``i * HOP``, computed :data:`BLOCK_FRAMES` at a time."""
    stream = MelStream()
    stream.push(y)
    stream.finish()
    return np.concatenate(list(stream.blocks()), axis=1)


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


class EnvelopeStream:
    """The onset envelope of :func:`onset_envelope`, of audio fed a block at a time at
    :data:`ANALYSIS_SR`: only the mel spectrogram is kept until :meth:`finish` (the envelope
    is normalised by the song's loudest frame), not the audio.

    Examples
    --------
    >>> stream = EnvelopeStream()
    >>> for block in blocks:            # doctest: +SKIP
    ...     stream.push(block)
    >>> env = stream.finish()           # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._mel = MelStream()
        self._head: list[np.ndarray] = []
        self._head_left = round(CUT_IN_HEAD_S * ANALYSIS_SR)
        self._energy = 0.0

    def push(self, y: np.ndarray) -> None:
        """Feed mono samples at :data:`ANALYSIS_SR`."""
        self._mel.push(y)
        if self._head_left:
            self._head.append(np.asarray(y[:self._head_left], dtype=np.float64))
            self._head_left -= self._head[-1].size
        self._energy += float(np.dot(y, y))

    def _cut_in(self, n_samples: int) -> bool:
        """Whether the first :data:`CUT_IN_HEAD_S` sound within :data:`CUT_IN_BELOW_DB` of the
        song's RMS level."""
        head = np.concatenate(self._head) if self._head else np.zeros(0)
        if head.size == 0 or self._energy <= 0.0:
            return False
        head_power = float(np.mean(head ** 2))
        return head_power >= (self._energy / n_samples) * 10.0 ** (-CUT_IN_BELOW_DB / 10.0)

    def finish(self) -> Envelope:
        """The envelope of all the audio fed.

        Raises
        ------
        InputError
            If less than half a second was fed.
        """
        n_samples = self._mel.frames.n_samples
        if n_samples < ANALYSIS_SR * MIN_ANALYSIS_S:
            raise InputError(f"audio of {n_samples / ANALYSIS_SR:.2f} s is too short to analyse; "
                             f"give at least {MIN_ANALYSIS_S} s")
        self._mel.finish()
        top = max(self._mel.top, 1e-12)
        fps = ANALYSIS_SR / HOP
        freqs = mel_frequencies(N_MELS, FMAX_HZ)
        low_bands = max(2, int(np.searchsorted(freqs, LOW_BAND_HZ)))
        high_bands = int(np.searchsorted(freqs, HIGH_BAND_HZ))
        n_frames = self._mel.n_frames
        flux = np.zeros((4, n_frames))  # all, low, mid, high
        mel_db = np.empty((N_MELS, n_frames), np.float16)
        db_top = -np.inf
        first, previous = 0, None
        for mel in self._mel.blocks():
            # one frame of overlap for the difference
            joined = mel if previous is None else np.concatenate([previous, mel], axis=1)
            mel_log = np.log1p((1000.0 / top) * joined)
            parts = (_flux(mel_log), _flux(mel_log[:low_bands]),
                     _flux(mel_log[low_bands:high_bands]), _flux(mel_log[high_bands:]))
            for row, part in enumerate(parts):
                flux[row, first:first + mel.shape[1]] = part[joined.shape[1] - mel.shape[1]:]
            previous = mel[:, -1:].copy()
            # in place: dB relative to the loudest bin
            np.maximum(mel, 1e-10, out=mel)
            np.log10(mel, out=mel)
            mel *= 10.0
            mel -= 10.0 * np.log10(max(top, 1e-10))
            db_top = max(db_top, float(mel.max()))
            mel_db[:, first:first + mel.shape[1]] = mel
            first += mel.shape[1]
        # 80 dB of range (rounding to float16 keeps the order: the floor may come after it)
        np.maximum(mel_db, np.float16(np.float32(db_top - 80.0)), out=mel_db)
        low_share = float(flux[1].sum() / max(float(flux[0].sum()), 1e-12))
        bands = np.stack([_normalise(f, fps) for f in flux[1:]])
        return Envelope(_normalise(flux[0], fps), bands[0], bands, mel_db, low_share, fps,
                        n_samples / ANALYSIS_SR, self._cut_in(n_samples))


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
    if sr != ANALYSIS_SR:
        y = resample(y, sr, ANALYSIS_SR)
    stream = EnvelopeStream()
    for block in array_blocks(y, ANALYSIS_SR):
        stream.push(block)
    return stream.finish()
