"""Audio files in and out (soundfile), resampled with soxr.

Samples are float32 in [-1, 1]. Mono audio is a 1-D array; multichannel audio is
``(frames, channels)``, as soundfile gives it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from drumjam.errors import AudioFileError, InputError

#: Longest audio drumjam reads: a long live set, not a day of recording.
MAX_AUDIO_DURATION_S = 2 * 3600.0
#: Peak below which a file counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4
MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 384000

_FIX_FORMAT = "give a WAV, FLAC, OGG or MP3 file, or convert it with e.g. `ffmpeg -i FILE out.wav`"


@contextlib.contextmanager
def _quiet_decoder() -> Iterator[None]:
    """Silence what C decoders (libmpg123) print straight to file descriptor 2."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _check_rate(sample_rate: int, name: str = "sample rate") -> int:
    if not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise InputError(
            f"{name} {sample_rate} Hz is out of range; use {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )
    return int(sample_rate)


def resample(samples: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample audio (1-D or ``(frames, channels)``) with soxr at high quality."""
    _check_rate(sr_in, "input sample rate")
    _check_rate(sr_out, "output sample rate")
    if sr_in == sr_out:
        return np.asarray(samples, dtype=np.float32)
    out = soxr.resample(np.asarray(samples, dtype=np.float32), sr_in, sr_out, quality="HQ")
    return np.asarray(out, dtype=np.float32)


def load_audio(
    path: str | Path, sample_rate: int | None = None, mono: bool = True
) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 samples.

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, OGG/Vorbis or MP3 file (anything libsndfile reads).
    sample_rate : int, optional
        Resample to this rate (soxr); default: the file's own rate.
    mono : bool
        Average the channels into one (default). Otherwise return ``(frames, channels)``.

    Returns
    -------
    samples : numpy.ndarray
        float32 samples in [-1, 1].
    sr : int
        Their sample rate in Hz.

    Raises
    ------
    AudioFileError
        If the file is missing, unreadable, empty, silent or longer than two hours.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioFileError(p, "no such audio file", "check the path")
    if sample_rate is not None:
        sample_rate = _check_rate(sample_rate)
    try:
        with _quiet_decoder():
            info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(p, f"not a readable audio file ({exc})", _FIX_FORMAT) from exc
    duration_s = info.frames / info.samplerate if info.samplerate else 0.0
    if duration_s > MAX_AUDIO_DURATION_S:
        raise AudioFileError(
            p,
            f"{duration_s / 60:.0f} minutes long, more than {MAX_AUDIO_DURATION_S / 3600:.0f} hours",
            "cut out the song you want to play along to",
        )
    try:
        with _quiet_decoder():
            data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(p, f"could not decode the audio ({exc})", _FIX_FORMAT) from exc
    if data.shape[0] == 0:
        raise AudioFileError(p, "the file holds no audio (0 samples)", "export the song again")
    if not np.all(np.isfinite(data)):
        raise AudioFileError(p, "the audio holds NaN or infinite samples", "export the song again")
    peak = float(np.max(np.abs(data)))
    if peak < SILENCE_PEAK:
        raise AudioFileError(
            p, f"the audio is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS)",
            "check that the right file was exported with sound in it",
        )
    samples = data.mean(axis=1) if mono else data
    if sample_rate is not None and sample_rate != sr:
        samples = resample(samples, sr, sample_rate)
        sr = sample_rate
    return np.ascontiguousarray(samples, dtype=np.float32), int(sr)


def write_audio(
    path: str | Path, samples: np.ndarray, sr: int, subtype: str | None = None
) -> Path:
    """Write float samples to an audio file; the format follows the extension.

    Parameters
    ----------
    path : str or Path
        ``.wav``, ``.flac``, ``.ogg`` or ``.mp3``.
    samples : numpy.ndarray
        1-D mono or ``(frames, channels)`` samples in [-1, 1]; louder samples are clipped.
    sr : int
        Sample rate in Hz.
    subtype : str, optional
        soundfile subtype (default: 16-bit PCM for WAV and FLAC, the format's default otherwise).

    Returns
    -------
    Path
        The written file.
    """
    out = Path(path)
    sr = _check_rate(sr)
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim not in (1, 2) or data.shape[0] == 0:
        raise InputError(f"audio to write must be 1-D or (frames, channels), got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise InputError("audio to write holds NaN or infinite samples")
    ext = out.suffix.lower().lstrip(".")
    formats = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3"}
    if ext not in formats:
        raise InputError(f"cannot write audio as '.{ext}'; use .wav, .flac, .ogg or .mp3")
    if subtype is None and ext in ("wav", "flac"):
        subtype = "PCM_16"
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(out), np.clip(data, -1.0, 1.0), sr, format=formats[ext], subtype=subtype)
    return out
