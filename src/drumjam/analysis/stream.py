"""A song read for analysis: mono at the analysis rate, decoded and resampled in blocks.

The file is never held whole at its own rate and channel count (a two-hour stereo file at
48 kHz would take 2.8 GB as float32): :func:`drumjam.io.audio.load_audio` decodes it a block
at a time, mixes each block to mono and resamples it with a streaming resampler, so memory is
that of the mono output (5.3 MB a minute at 22,050 Hz) and one block.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drumjam.io.audio import load_audio


def read_mono(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read an audio file as mono float32 samples at ``sample_rate``, a block at a time.

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
