"""A song read for analysis: mono at one sample rate, decoded and resampled in blocks.

The file is never held whole at its own rate and channel count (a two-hour stereo file at
48 kHz would take 2.8 GB as float32): blocks of :data:`BLOCK_S` seconds are decoded, mixed to
mono and resampled with a streaming soxr resampler into the output array, so memory is that
of the mono output (5.3 MB a minute at 22,050 Hz) and one block.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from drumjam.errors import AudioFileError
from drumjam.io.audio import _FIX_FORMAT, MAX_AUDIO_DURATION_S, SILENCE_PEAK, _quiet_decoder

BLOCK_S = 10.0


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
    p = Path(path)
    if not p.is_file():
        raise AudioFileError(p, "no such audio file", "check the path")
    try:
        with _quiet_decoder():
            info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(p, f"not a readable audio file ({exc})", _FIX_FORMAT) from exc
    duration_s = info.frames / info.samplerate if info.samplerate else 0.0
    if duration_s > MAX_AUDIO_DURATION_S:
        raise AudioFileError(
            p, f"{duration_s / 60:.0f} minutes long, more than {MAX_AUDIO_DURATION_S / 3600:.0f} hours",
            "cut out the song you want to play along to")
    resampler = None if info.samplerate == sample_rate else soxr.ResampleStream(
        info.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
    capacity = int(np.ceil(max(info.frames, 1) * sample_rate / max(info.samplerate, 1))) + sample_rate
    out = np.empty(capacity, dtype=np.float32)
    filled, peak = 0, 0.0
    block = max(1, int(BLOCK_S * info.samplerate))
    try:
        with _quiet_decoder(), sf.SoundFile(str(p)) as fh:
            while True:
                data = fh.read(block, dtype="float32", always_2d=True)
                last = data.shape[0] < block
                mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
                if not np.all(np.isfinite(mono)):
                    raise AudioFileError(p, "the audio holds NaN or infinite samples", "export the song again")
                peak = max(peak, float(np.max(np.abs(mono), initial=0.0)))
                if resampler is not None:
                    mono = resampler.resample_chunk(mono, last=last)
                n = min(mono.size, capacity - filled)
                out[filled:filled + n] = mono[:n]
                filled += n
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(p, f"could not decode the audio ({exc})", _FIX_FORMAT) from exc
    if filled == 0:
        raise AudioFileError(p, "the file holds no audio (0 samples)", "export the song again")
    if peak < SILENCE_PEAK:
        raise AudioFileError(
            p, f"the audio is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS)",
            "check that the right file was exported with sound in it")
    return out[:filled]
