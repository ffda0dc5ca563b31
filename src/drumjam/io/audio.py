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
from drumjam.limits import (
    MAX_AUDIO_CHANNELS, MAX_AUDIO_DURATION_S, MAX_AUDIO_SAMPLES, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE,
    duration_text,
)

#: Peak below which a file counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4
#: Frames decoded at a time.
BLOCK_FRAMES = 1 << 16

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
    if sample_rate is not None:
        sample_rate = _check_rate(sample_rate)
    info = audio_info(p)
    channels = _check_header(p, info, sample_rate, mono)
    try:
        with _quiet_decoder(), sf.SoundFile(str(p)) as f:
            data, peak = _read_blocks(p, f, info.frames, channels, mono)
            sr = f.samplerate
    except (RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(p, f"could not decode the audio ({exc})", _FIX_FORMAT) from None
    if data.shape[0] == 0:
        raise AudioFileError(p, "the file holds no audio (0 samples)", "export the song again")
    if peak < SILENCE_PEAK:
        raise AudioFileError(
            p, f"the audio is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS)",
            "check that the right file was exported with sound in it",
        )
    samples = data
    if sample_rate is not None and sample_rate != sr:
        samples = resample(samples, sr, sample_rate)
        sr = sample_rate
    return np.ascontiguousarray(samples, dtype=np.float32), int(sr)


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """What an audio file's header says (rate, channels, frames), nothing decoded.

    Raises
    ------
    AudioFileError
        If the file is missing or not audio that libsndfile reads.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioFileError(p, "no such audio file", "check the path")
    try:
        with _quiet_decoder():
            return sf.info(str(p))
    except (RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(p, f"not a readable audio file ({exc})", _FIX_FORMAT) from None


def _check_header(p: Path, info: sf._SoundFileInfo, sample_rate: int | None, mono: bool) -> int:
    """Check what a file's header claims before anything is decoded; the channels kept."""
    if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
        raise AudioFileError(p, f"sample rate {info.samplerate} Hz is outside "
                             f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz", _FIX_FORMAT)
    if not 1 <= info.channels <= MAX_AUDIO_CHANNELS:
        raise AudioFileError(p, f"{info.channels} channels are more than drumjam reads "
                             f"({MAX_AUDIO_CHANNELS})", "give a stereo or mono mix")
    duration_s = info.frames / info.samplerate
    if duration_s > MAX_AUDIO_DURATION_S:
        raise AudioFileError(
            p,
            f"{duration_text(duration_s)} long, more than {MAX_AUDIO_DURATION_S / 3600:.0f} hours",
            "cut out the song you want to play along to",
        )
    kept = 1 if mono else info.channels
    out_rate = max(info.samplerate, sample_rate or 0)
    samples = info.frames * kept * out_rate / info.samplerate
    if samples > MAX_AUDIO_SAMPLES:
        raise AudioFileError(
            p, f"{samples / 1e6:.0f} million samples ({duration_text(duration_s)} at "
            f"{out_rate} Hz, {kept} channel(s)) are more than drumjam holds ({MAX_AUDIO_SAMPLES / 1e6:.0f} million)",
            "cut the file shorter or convert it to 48 kHz mono")
    return kept


def _read_blocks(
    p: Path, f: sf.SoundFile, frames: int, channels: int, mono: bool
) -> tuple[np.ndarray, float]:
    """Decode block by block into one array, ``(frames,)`` with the channels averaged when
    ``mono``, else ``(frames, channels)``, checking every block; the array and its peak."""
    limit = MAX_AUDIO_SAMPLES // channels
    tail = () if mono else (channels,)
    out = np.empty((min(frames, limit), *tail), dtype=np.float32)
    n = 0
    peak = 0.0
    for block in f.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
        if not np.all(np.isfinite(block)):
            raise AudioFileError(p, "the audio holds NaN or infinite samples", "export the song again")
        if block.size:
            peak = max(peak, float(np.max(np.abs(block))))
        rows = block.mean(axis=1) if mono else block
        if n + rows.shape[0] > out.shape[0]:  # the header claimed fewer frames than there are
            if n + rows.shape[0] > limit:
                raise AudioFileError(p, f"decodes to more than {limit} frames, more than its "
                                     "header says and than drumjam holds", "convert it to WAV")
            out.resize((min(limit, max(2 * out.shape[0], n + rows.shape[0])), *tail), refcheck=False)
        out[n:n + rows.shape[0]] = rows
        n += rows.shape[0]
    if n < out.shape[0]:
        out.resize((n, *tail), refcheck=False)
    return out, peak


def audio_blocks(
    path: str | Path, *, block_s: float = 10.0
) -> tuple[int, float, Iterator[np.ndarray]]:
    """Read an audio file as consecutive mono blocks, so that long files need little memory.

    Unlike :func:`load_audio`, a silent file is no error (it holds no drums, say).

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, OGG/Vorbis or MP3 file.
    block_s : float
        Length of each block in seconds (the last one may be shorter).

    Returns
    -------
    sr : int
        The file's sample rate in Hz.
    duration_s : float
        Its length in seconds, as its header gives it.
    blocks : iterator of numpy.ndarray
        float32 mono blocks (the channels averaged).

    Raises
    ------
    AudioFileError
        If the file is missing, unreadable or too long, or (from the iterator, when it gets
        there) undecodable or holding NaN samples.
    """
    p = Path(path)
    if not 0.01 <= float(block_s) <= 600.0:
        raise InputError(f"block length {block_s} s is out of range; use 0.01-600 s")
    info = audio_info(p)
    _check_header(p, info, None, True)
    step = max(1, int(block_s * info.samplerate))

    def blocks() -> Iterator[np.ndarray]:
        try:
            with _quiet_decoder(), sf.SoundFile(str(p)) as f:
                for block in f.blocks(blocksize=step, dtype="float32", always_2d=True):
                    if not np.all(np.isfinite(block)):
                        raise AudioFileError(p, "the audio holds NaN or infinite samples",
                                             "export the song again")
                    yield np.ascontiguousarray(block.mean(axis=1))
        except AudioFileError:
            raise
        except (RuntimeError, TypeError, ValueError) as exc:
            raise AudioFileError(p, f"could not decode the audio ({exc})", _FIX_FORMAT) from None

    return int(info.samplerate), info.frames / info.samplerate, blocks()


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
