"""A song read for analysis: mono blocks at the analysis rate, decoded and resampled as read.

The file is never held whole, neither at its own rate and channel count (a two-hour stereo
file at 48 kHz would take 2.8 GB as float32) nor as mono at the analysis rate (635 MB at
22,050 Hz): :func:`song_blocks` decodes it a block at a time, mixes each block to mono and
resamples it with a streaming resampler, and the analysis keeps only what it computes from
each block (:func:`drumjam.analysis.tracker.listen`). Samples already in memory go through the
same analysis cut into the same blocks (:func:`array_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from drumjam.errors import AudioFileError
from drumjam.io.audio import audio_blocks, check_heard, load_audio

#: Seconds of audio analysed at a time.
BLOCK_S = 10.0


def array_blocks(samples: np.ndarray, sr: int) -> Iterator[np.ndarray]:
    """Samples in memory cut into blocks of :data:`BLOCK_S` seconds (views, no copy)."""
    step = max(1, int(BLOCK_S * sr))
    for start in range(0, samples.shape[0], step):
        yield samples[start:start + step]


def song_blocks(path: str | Path, sample_rate: int, *, min_s: float = 0.0) -> Iterator[np.ndarray]:
    """Read an audio file as mono float32 blocks of :data:`BLOCK_S` seconds at ``sample_rate``.

    The header is checked at once; that the file holds sound is known when it has all been
    read, so the last step of the iterator may raise.

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, OGG/Vorbis or MP3 file.
    sample_rate : int
        The rate to resample to (soxr, high quality, streamed).
    min_s : float
        The shortest audio to take, in seconds, by the header.

    Raises
    ------
    AudioFileError
        If the file is missing, unreadable, shorter than ``min_s`` or longer than two hours
        (at once), or (from the iterator) undecodable, holding NaN, empty or silent.
    """
    _, duration_s, blocks = audio_blocks(path, block_s=BLOCK_S, sample_rate=sample_rate)
    if duration_s < min_s:
        raise AudioFileError(path, f"{duration_s:.2f} s of audio is too short to analyse",
                             f"give at least {min_s} s")
    return _heard(Path(path), blocks)


def _heard(path: Path, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    n, peak = 0, 0.0
    for block in blocks:
        n += block.shape[0]
        peak = max(peak, float(np.max(np.abs(block), initial=0.0)))
        yield block
    check_heard(path, n, peak)


def read_mono(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read a whole audio file as mono float32 samples at ``sample_rate``, a block at a time
    (for analyses that need all the samples at once; see :func:`song_blocks`).

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, OGG/Vorbis or MP3 file.
    sample_rate : int
        The rate to resample to (soxr, high quality).

    Returns
    -------
    numpy.ndarray
        Mono float32 samples.

    Raises
    ------
    AudioFileError
        If the file is missing, unreadable, empty, silent, holds NaN or is longer than two hours.
    """
    return load_audio(path, sample_rate=sample_rate)[0]
