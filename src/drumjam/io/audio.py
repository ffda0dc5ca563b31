"""Audio files in and out (soundfile), resampled with soxr.

Samples are float32 in [-1, 1]. Mono audio is a 1-D array; multichannel audio is
``(frames, channels)``, as soundfile gives it. Samples handed in as arrays (to analysis,
transcription, :func:`write_audio`, :func:`resample`) are read by :func:`audio_array`, and
their rates checked by :func:`check_rate`, so that every entry reads them alike.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from numpy.typing import ArrayLike

from drumjam.errors import AudioFileError, InputError
from drumjam.limits import (
    MAX_AUDIO_CHANNELS, MAX_AUDIO_DURATION_S, MAX_AUDIO_SAMPLES, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE,
    duration_text,
)

#: Peak below which a file counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4
#: Frames decoded at a time.
BLOCK_FRAMES = 1 << 16
#: A WAV file missing more than this much of the audio its header declares is refused as
#: truncated (less is a writer's miscount, e.g. of the header's own bytes, not lost audio).
TRUNCATED_WAV_S = 0.01
#: ``data`` chunk sizes from here up (2 GiB) are taken for a length never filled in, not a
#: claim: writers streaming to a pipe leave 0xFFFFFFFF (ffmpeg) or 0x7FFFFFFF there.
_UNFILLED_WAV_SIZE = 0x7FFF0000
#: Chunks walked to find a WAV's ``data`` chunk.
_MAX_WAV_CHUNKS = 64

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


def check_rate(sample_rate: float, *, name: str = "sample rate") -> int:
    """Check a sample rate given to drumjam, before anything is done with it.

    Parameters
    ----------
    sample_rate : float
        The rate in Hz; a fraction is allowed (a clock's drift) and dropped from the result.
    name : str
        What the rate is, for the message (e.g. ``"input sample rate"``).

    Returns
    -------
    int
        The rate in whole Hz.

    Raises
    ------
    InputError
        If the rate is not a number (NaN, a string) or outside
        :data:`~drumjam.limits.MIN_SAMPLE_RATE`-:data:`~drumjam.limits.MAX_SAMPLE_RATE` Hz.
    """
    number = isinstance(sample_rate, numbers.Real) and not isinstance(sample_rate, bool)
    if not (number and MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE):
        shown = sample_rate if number else repr(sample_rate)
        raise InputError(
            f"{name} {shown} Hz is out of range; use {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )
    return int(sample_rate)


#: Full scale of the integer PCM sample types by (kind, bytes), as soundfile reads them: what
#: 1.0 is, and the value of silence (unsigned 8-bit WAV is centred on 128).
_PCM_SCALES = {("i", 1): (128, 0), ("i", 2): (32768, 0), ("i", 4): (2**31, 0),
               ("u", 1): (128, 128)}


def audio_array(samples: ArrayLike, *, mono: bool = False, what: str = "samples") -> np.ndarray:
    """Samples given as an array, as drumjam holds them: float32 in [-1, 1].

    Every function that takes samples rather than a file goes through this, so that they all
    read the same arrays the same way.

    Parameters
    ----------
    samples : array_like
        Mono audio (1-D) or ``(frames, channels)``, as soundfile gives it. Floats are taken
        as they are; integer PCM is scaled by its full scale, as soundfile reads it: int16
        by 1/32768, int32 by 2**-31, int8 by 1/128 and uint8 as ``(x - 128) / 128``.
    mono : bool
        Mix ``(frames, channels)`` audio to one channel (the mean of the channels).
    what : str
        What the samples are, for messages (e.g. ``"audio to write"``).

    Returns
    -------
    numpy.ndarray
        float32 samples, 1-D or ``(frames, channels)`` (1-D when ``mono``); an array already
        float32 is returned as it is, not copied.

    Raises
    ------
    InputError
        If the samples are not numbers, booleans, complex or an integer type that is no PCM
        format; not 1-D or 2-D; ``(channels, frames)`` (a 2-D array whose first axis is at
        most :data:`~drumjam.limits.MAX_AUDIO_CHANNELS` long and shorter than its second);
        of no channels or more than drumjam reads; or hold NaN or infinite samples.
    """
    try:
        x = np.asarray(samples)
    except ValueError as exc:  # a ragged list
        raise InputError(f"{what}: not an array of samples ({exc}); give a numpy array") from None
    kind = x.dtype.kind
    if kind == "f":
        x = np.asarray(x, dtype=np.float32)
    elif (kind, x.dtype.itemsize) in _PCM_SCALES:  # either byte order
        full, centre = _PCM_SCALES[kind, x.dtype.itemsize]
        x = x.astype(np.float32)
        if centre:
            x -= centre
        x *= 1.0 / full  # a power of two: exact
    elif kind in "iu":
        raise InputError(f"{what}: {x.dtype} integers are no PCM format; give float samples "
                         "in [-1, 1], or int16, int32 or uint8 PCM (e.g. np.asarray(x, np.int16))")
    else:
        raise InputError(f"{what}: dtype {x.dtype} is not audio samples; give real float "
                         "samples in [-1, 1], or int16, int32 or uint8 PCM")
    if x.ndim not in (1, 2):
        raise InputError(f"{what}: shape {x.shape} is not audio; give 1-D or (frames, channels)")
    if x.ndim == 2:
        frames, channels = x.shape
        if 0 < frames <= MAX_AUDIO_CHANNELS and frames < channels:
            raise InputError(f"{what}: shape {x.shape} looks like (channels, frames); "
                             "give (frames, channels): transpose it with .T")
        if not 1 <= channels <= MAX_AUDIO_CHANNELS:
            raise InputError(f"{what}: shape {x.shape} is {channels} channels; drumjam "
                             f"reads 1-{MAX_AUDIO_CHANNELS} as (frames, channels)")
    if kind == "f" and not np.all(np.isfinite(x)):
        raise InputError(f"{what}: NaN or infinite samples; give finite samples in [-1, 1]")
    return _mono(x) if mono and x.ndim == 2 else x


def resample(samples: ArrayLike, sr_in: float, sr_out: float) -> np.ndarray:
    """Resample audio with soxr at high quality.

    Parameters
    ----------
    samples : array_like
        1-D or ``(frames, channels)`` samples, read as :func:`audio_array` reads them.
    sr_in, sr_out : float
        The rates in Hz, 4000-384000; fractions are kept (a clock's drift).

    Returns
    -------
    numpy.ndarray
        float32 samples of the same channels at ``sr_out``.

    Raises
    ------
    InputError
        For a rate out of range or not a number, or samples :func:`audio_array` refuses.
    """
    check_rate(sr_in, name="input sample rate")
    check_rate(sr_out, name="output sample rate")
    x = audio_array(samples)
    if sr_in == sr_out:
        return x
    return np.asarray(soxr.resample(x, sr_in, sr_out, quality="HQ"), dtype=np.float32)


def load_audio(
    path: str | Path, sample_rate: int | None = None, mono: bool = True, *,
    start_s: float = 0.0, end_s: float | None = None,
) -> tuple[np.ndarray, int]:
    """Read a whole audio file as float32 samples, decoded (and resampled) block by block.

    What is held is the result alone, so it is bounded: at most :data:`MAX_AUDIO_SAMPLES`
    samples (all channels kept counted). Paths that may meet long files read them with
    :func:`audio_blocks` instead.

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, OGG/Vorbis or MP3 file (anything libsndfile reads).
    sample_rate : int, optional
        Resample to this rate (soxr, streamed); default: the file's own rate.
    mono : bool
        Average the channels into one (default). Otherwise return ``(frames, channels)``.
    start_s, end_s : float, optional
        Read only this part of the file (default: all of it); only the part is decoded.

    Returns
    -------
    samples : numpy.ndarray
        float32 samples in [-1, 1].
    sr : int
        Their sample rate in Hz.

    Raises
    ------
    AudioFileError
        If the file is missing, unreadable, empty, silent, holds NaN, is longer than two hours,
        decodes to more samples than drumjam holds or is a WAV file cut short of the audio its
        header declares.
    """
    p = Path(path)
    info, rate, channels, frames, pieces = _open(p, sample_rate, mono, start_s, end_s)
    duration_s = frames / info.samplerate
    held = frames * channels * rate / info.samplerate
    if held > MAX_AUDIO_SAMPLES:
        raise AudioFileError(
            p, f"{held / 1e6:.0f} million samples ({duration_text(duration_s)} at "
            f"{rate} Hz, {channels} channel(s)) are more than drumjam holds at once "
            f"({MAX_AUDIO_SAMPLES / 1e6:.1f} million)",
            "cut the file shorter or convert it to a lower rate, e.g. `ffmpeg -i FILE -ac 1 -ar 22050 out.wav`")
    limit = MAX_AUDIO_SAMPLES // channels
    tail = () if mono else (channels,)
    out = np.empty((min(int(np.ceil(frames * rate / info.samplerate)), limit), *tail), np.float32)
    n = 0
    peak = 0.0
    for rows in pieces:
        if n + rows.shape[0] > out.shape[0]:  # the header claimed fewer frames than there are
            if n + rows.shape[0] > limit:
                raise AudioFileError(p, f"decodes to more than {limit} frames, more than its "
                                     "header says and than drumjam holds", "convert it to WAV")
            out.resize((min(limit, max(2 * out.shape[0], n + rows.shape[0])), *tail), refcheck=False)
        out[n:n + rows.shape[0]] = rows
        n += rows.shape[0]
        peak = max(peak, float(np.max(np.abs(rows), initial=0.0)))
    if n < out.shape[0]:
        out.resize((n, *tail), refcheck=False)
    check_heard(p, n, peak)
    return out, int(rate)


def check_holds_audio(path: str | Path) -> None:
    """Refuse an audio file whose header says it holds no frames, nothing decoded.

    For readers that take silence as an answer (:func:`audio_blocks`, drum transcription):
    an empty file is no recording, and gets :func:`check_heard`'s message.

    Raises
    ------
    AudioFileError
        If the file holds no frames, is missing or is not audio libsndfile reads.
    """
    p = Path(path)
    if audio_info(p).frames == 0:
        check_heard(p, 0, 0.0)


def check_heard(path: Path, n_frames: int, peak: float) -> None:
    """Refuse audio read from ``path`` that holds no frames or whose ``peak`` is silence.

    Raises
    ------
    AudioFileError
        Naming the file and what it holds.
    """
    if n_frames == 0:
        raise AudioFileError(path, "the file holds no audio (0 samples)", "export the song again")
    if peak < SILENCE_PEAK:
        raise AudioFileError(
            path, f"the audio is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS)",
            "check that the right file was exported with sound in it",
        )


def mapped_audio(path: str | Path, *, sample_rate: int, end_s: float | None = None) -> np.ndarray:
    """Read an audio file, mono at ``sample_rate``, into a read-only memory map.

    The file is decoded and resampled block by block into a temporary file (deleted once the
    map is let go) that is mapped rather than held: its pages are the operating system's
    file cache, read as they are used and dropped when memory is short, so a long song read
    for a whole session costs the process little memory.

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, OGG/Vorbis or MP3 file.
    sample_rate : int
        The rate to resample to (soxr, streamed).
    end_s : float, optional
        Read only up to here (default: the whole file).

    Returns
    -------
    numpy.ndarray
        A read-only ``numpy.memmap`` of mono float32 samples.

    Raises
    ------
    AudioFileError
        As :func:`load_audio`, save that no limit on the samples applies (only on the length).
    """
    p = Path(path)
    _, _, _, _, pieces = _open(p, sample_rate, True, 0.0, end_s)
    n, peak = 0, 0.0
    with tempfile.TemporaryFile(prefix="drumjam-audio-") as f:
        for rows in pieces:
            f.write(np.ascontiguousarray(rows, dtype=np.float32).tobytes())
            n += rows.shape[0]
            peak = max(peak, float(np.max(np.abs(rows), initial=0.0)))
        check_heard(p, n, peak)
        f.flush()
        return np.memmap(f, dtype=np.float32, mode="r", shape=(n,))  # the map keeps the file


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """What an audio file's header says (rate, channels, frames), nothing decoded.

    Raises
    ------
    AudioFileError
        If the file is missing or not audio that libsndfile reads.
    """
    p = Path(path)
    if p.is_dir():
        raise AudioFileError(p, "is a folder, not an audio file", "give a file in it")
    if not p.is_file():
        raise AudioFileError(p, "no such audio file", "check the path")
    try:
        with _quiet_decoder():
            return sf.info(os.fsencode(p))
    except (RuntimeError, TypeError, ValueError) as exc:
        # libsndfile says a file it cannot make out "does not exist ... (possibly a pipe?)"
        reason = ("no audio format libsndfile knows" if "possibly a pipe" in str(exc)
                  else str(exc))
        raise AudioFileError(p, f"not a readable audio file ({reason})", _FIX_FORMAT) from None


def _wav_data_sizes(p: Path) -> tuple[int, int, int] | None:
    """A RIFF WAV's ``data`` chunk: (bytes its header declares, bytes the file holds after
    the chunk's header, the ``fmt`` chunk's bytes per second); None if the chunk headers
    cannot be walked. Reads the chunk headers only."""
    size = p.stat().st_size
    with p.open("rb") as f:
        riff = f.read(12)
        if len(riff) < 12 or riff[:4] not in (b"RIFF", b"RIFX") or riff[8:] != b"WAVE":
            return None
        order = "<" if riff[:4] == b"RIFF" else ">"
        pos, byte_rate = 12, 0
        for _ in range(_MAX_WAV_CHUNKS):
            f.seek(pos)
            head = f.read(8)
            if len(head) < 8:
                return None
            (length,) = struct.unpack(order + "I", head[4:])
            if head[:4] == b"fmt ":
                fmt = f.read(12)
                byte_rate = struct.unpack(order + "I", fmt[8:])[0] if len(fmt) == 12 else 0
            elif head[:4] == b"data":
                return length, size - pos - 8, byte_rate
            pos += 8 + length + (length & 1)
    return None


def _check_wav_length(p: Path, info: sf._SoundFileInfo) -> None:
    """Refuse a WAV file cut short: its ``data`` chunk declares more than the file holds
    (libsndfile would read what is there, silently)."""
    sizes = _wav_data_sizes(p)
    if sizes is None:
        return
    declared, held, byte_rate = sizes
    if declared >= _UNFILLED_WAV_SIZE or byte_rate == 0:
        return
    if (declared - held) / byte_rate > TRUNCATED_WAV_S:
        raise AudioFileError(
            p, f"truncated: its header says {declared / byte_rate:.1f} s, the file holds "
            f"{info.frames / info.samplerate:.1f} s", "copy it again or re-export it")


def _check_header(p: Path, info: sf._SoundFileInfo) -> None:
    """Check what a file's header claims (rate, channels, length) before anything is decoded,
    and that a WAV file holds the audio its header declares."""
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
    if info.format in ("WAV", "WAVEX"):
        _check_wav_length(p, info)


def _open(
    p: Path, sample_rate: int | None, mono: bool, start_s: float = 0.0, end_s: float | None = None
) -> tuple[sf._SoundFileInfo, int, int, int, Iterator[np.ndarray]]:
    """Check a file's header; its info, the output rate and channels, the frames of the file
    to read and their decoded pieces."""
    if sample_rate is not None:
        sample_rate = check_rate(sample_rate)
    info = audio_info(p)
    _check_header(p, info)
    end_s = info.frames / info.samplerate if end_s is None else end_s
    if not (np.isfinite(start_s) and np.isfinite(end_s) and 0.0 <= start_s <= end_s):
        raise InputError(f"audio range {start_s}-{end_s} s is not a range; give 0 <= start <= end")
    first = min(int(round(start_s * info.samplerate)), info.frames)
    last = min(int(round(end_s * info.samplerate)), info.frames)
    rate = sample_rate or int(info.samplerate)
    channels = 1 if mono else int(info.channels)
    pieces = _decode(p, int(info.samplerate), rate, channels, mono, first, last)
    return info, rate, channels, last - first, pieces


def _decode(
    p: Path, sr_in: int, sr_out: int, channels: int, mono: bool, first: int = 0, last: int | None = None
) -> Iterator[np.ndarray]:
    """Decode frames ``first`` to ``last`` (default: to the end) :data:`BLOCK_FRAMES` at a time,
    each checked for NaN, mixed to mono when ``mono`` and resampled with a streaming soxr
    resampler; stopped past the length limit."""
    resampler = None if sr_in == sr_out else soxr.ResampleStream(
        sr_in, sr_out, channels, dtype="float32", quality="HQ")
    most = int(MAX_AUDIO_DURATION_S * sr_in) + BLOCK_FRAMES
    read = 0
    try:
        with _quiet_decoder():
            f = sf.SoundFile(os.fsencode(p))
        with f:
            if first:
                f.seek(first)
            while True:
                want = BLOCK_FRAMES if last is None else min(BLOCK_FRAMES, last - first - read)
                with _quiet_decoder():
                    block = f.read(want, dtype="float32", always_2d=True)
                done = block.shape[0] < BLOCK_FRAMES
                read += block.shape[0]
                if read > most:
                    raise AudioFileError(p, "decodes to more than 2 hours, more than its header "
                                         "says", "convert it to WAV")
                if not np.all(np.isfinite(block)):
                    raise AudioFileError(p, "the audio holds NaN or infinite samples",
                                         "export the song again")
                rows = _mono(block) if mono else block
                if resampler is not None:
                    rows = resampler.resample_chunk(rows, last=done)
                if rows.shape[0]:
                    yield rows
                if done:
                    return
    except AudioFileError:
        raise
    except (RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(p, f"could not decode the audio ({exc})", _FIX_FORMAT) from None


def _mono(block: np.ndarray) -> np.ndarray:
    """The mean of a ``(frames, channels)`` block's channels: the numbers of
    ``block.mean(axis=1)``, without NumPy's slow reduction over a short axis for one or two
    channels."""
    if block.shape[1] == 1:
        return block[:, 0]
    if block.shape[1] == 2:
        mono = block[:, 0] + block[:, 1]
        mono /= 2
        return mono
    return block.mean(axis=1)


def _rechunk(pieces: Iterator[np.ndarray], step: int) -> Iterator[np.ndarray]:
    """The pieces' samples in blocks of exactly ``step`` frames (the last one shorter)."""
    rest: list[np.ndarray] = []
    held = 0
    for piece in pieces:
        rest.append(piece)
        held += piece.shape[0]
        if held < step:
            continue
        joined = np.concatenate(rest)
        cut = held - held % step
        for start in range(0, cut, step):
            yield joined[start:start + step]
        rest, held = [joined[cut:]], held - cut
    if held:
        yield np.concatenate(rest)


def audio_blocks(
    path: str | Path, *, block_s: float | None = None, sample_rate: int | None = None,
    mono: bool = True,
) -> tuple[int, float, Iterator[np.ndarray]]:
    """Read an audio file as consecutive blocks, so that long files need little memory.

    Unlike :func:`load_audio`, a silent file is no error (it holds no drums, say), and there
    is no limit on the samples, only on the length (two hours).

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, OGG/Vorbis or MP3 file.
    block_s : float, optional
        Length of each block in seconds at the output rate (the last one may be shorter);
        default: blocks as decoded, :data:`BLOCK_FRAMES` frames of the file each.
    sample_rate : int, optional
        Resample to this rate (soxr, streamed); default: the file's own rate.
    mono : bool
        Average the channels into one (default), else blocks of ``(frames, channels)``.

    Returns
    -------
    sr : int
        The blocks' sample rate in Hz.
    duration_s : float
        The file's length in seconds, as its header gives it.
    blocks : iterator of numpy.ndarray
        float32 blocks.

    Raises
    ------
    AudioFileError
        If the file is missing, unreadable, too long or a WAV file cut short of the audio its
        header declares, or (from the iterator, when it gets there) undecodable or holding NaN
        samples.
    """
    p = Path(path)
    if block_s is not None and not 0.01 <= float(block_s) <= 600.0:
        raise InputError(f"block length {block_s} s is out of range; use 0.01-600 s")
    info, rate, _, _, pieces = _open(p, sample_rate, mono)
    if block_s is not None:
        pieces = _rechunk(pieces, max(1, int(block_s * rate)))
    return rate, info.frames / info.samplerate, pieces


#: What drumjam writes audio as, by suffix: libsndfile's format and the most channels it holds.
_WRITE_FORMATS = {".wav": ("WAV", MAX_AUDIO_CHANNELS), ".flac": ("FLAC", 8),
                  ".ogg": ("OGG", MAX_AUDIO_CHANNELS), ".mp3": ("MP3", 2)}
#: The suffixes of the audio files drumjam writes.
AUDIO_OUT_SUFFIXES = tuple(_WRITE_FORMATS)


def check_writable(path: str | Path, channels: int) -> str:
    """The libsndfile format of an audio file to write at ``path``, once it is known to hold
    ``channels`` channels (FLAC holds up to 8, MP3 2).

    Raises
    ------
    InputError
        Naming the suffix or the channels, and what to write instead.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in _WRITE_FORMATS:
        raise InputError(f"cannot write audio as '{suffix}'; use .wav, .flac, .ogg or .mp3")
    fmt, most = _WRITE_FORMATS[suffix]
    if not 1 <= channels <= most:
        raise InputError(f"{Path(path).name}: {suffix} holds 1-{most} channels, not {channels}; "
                         + ("write .wav" if channels <= MAX_AUDIO_CHANNELS else
                            f"give audio of at most {MAX_AUDIO_CHANNELS} channels"))
    return fmt


def audio_writer(
    path: str | Path, sr: int, channels: int, subtype: str | None = None
) -> sf.SoundFile:
    """An audio file open for writing block by block (``with audio_writer(...) as f:
    f.write(block)``); the format follows the extension, as in :func:`write_audio`."""
    out = Path(path)
    sr = check_rate(sr)
    fmt = check_writable(out, channels)
    ext = out.suffix.lower().lstrip(".")
    if subtype is None and ext in ("wav", "flac"):
        subtype = "PCM_16"
    out.parent.mkdir(parents=True, exist_ok=True)
    return sf.SoundFile(os.fsencode(out), "w", sr, channels, format=fmt, subtype=subtype)


def write_audio(
    path: str | Path, samples: ArrayLike, sr: int, subtype: str | None = None
) -> Path:
    """Write samples to an audio file; the format follows the extension.

    Parameters
    ----------
    path : str or Path
        ``.wav``, ``.flac``, ``.ogg`` or ``.mp3``.
    samples : array_like
        1-D mono or ``(frames, channels)`` samples, float in [-1, 1] (louder samples are
        clipped) or integer PCM, read as :func:`audio_array` reads them.
    sr : int
        Sample rate in Hz.
    subtype : str, optional
        soundfile subtype (default: 16-bit PCM for WAV and FLAC, the format's default otherwise).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        For a rate out of range, no samples, samples :func:`audio_array` refuses, or a format
        that cannot hold them; nothing is written then.
    """
    sr = check_rate(sr)
    data = audio_array(samples, what="audio to write")
    if data.shape[0] == 0:
        raise InputError(f"audio to write: shape {data.shape} holds no samples; give at least one")
    with audio_writer(path, sr, 1 if data.ndim == 1 else data.shape[1], subtype) as f:
        f.write(np.clip(data, -1.0, 1.0))
    return Path(path)
