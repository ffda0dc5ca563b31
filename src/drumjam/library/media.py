"""Backing-track audio files: OGG/Vorbis writing and the time-stretched copies for practice."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from drumjam.errors import InputError
from drumjam.io.audio import audio_blocks, audio_info

MIN_SPEED = 0.5
MAX_SPEED = 1.5
SPEED_STEP = 0.05
OGG_BLOCK_FRAMES = 16384
#: Seconds of a song stretched at a time (a shorter song is stretched whole): memory stays
#: bounded for any length.
STRETCH_BLOCK_S = 60.0
#: Seconds of the neighbouring blocks' audio the stretcher hears on each side of a block.
STRETCH_CONTEXT_S = 2.0
#: Crossfade between one block's stretched audio and the next one's...
STRETCH_JOIN_S = 0.04
#: ... after the next one is slid by up to this to match the last one.
STRETCH_ALIGN_S = 0.01


def write_ogg(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write float samples ``(frames,)`` or ``(frames, channels)`` as OGG/Vorbis."""
    data = np.asarray(samples, dtype=np.float32)
    write_ogg_blocks(path, [data], sample_rate, 1 if data.ndim == 1 else data.shape[1])


def write_ogg_blocks(path: Path, blocks: Iterable[np.ndarray], sample_rate: int, channels: int) -> None:
    """Write consecutive blocks of float samples as one OGG/Vorbis file, holding none whole.

    Each block is written :data:`OGG_BLOCK_FRAMES` frames at a time: libvorbis allocates its
    work buffer on the stack, and one large write overflows a worker thread's stack
    (python-soundfile issues 233 and 396).
    """
    with sf.SoundFile(path, "w", sample_rate, channels, format="OGG", subtype="VORBIS") as out:
        for block in blocks:
            data = np.asarray(block, dtype=np.float32)
            for start in range(0, data.shape[0], OGG_BLOCK_FRAMES):
                out.write(data[start:start + OGG_BLOCK_FRAMES])


def validate_speed(speed: float) -> float:
    """Check a playback speed (0.5-1.5, 1.0 = the song's own tempo) and return it."""
    try:
        value = float(speed)
    except (TypeError, ValueError):
        raise InputError(f"speed {speed!r} is not a number; use 0.5-1.5 (1.0 = original)") from None
    if not np.isfinite(value) or not MIN_SPEED - 1e-9 <= value <= MAX_SPEED + 1e-9:
        raise InputError(f"speed {speed} is out of range; use {MIN_SPEED}-{MAX_SPEED} (1.0 = original)")
    return round(value, 2)


def stretched_audio(audio_path: Path, speed: float, *, cache_dir: Path, key: str) -> Path:
    """``audio_path`` at ``speed`` with its pitch kept, cached in ``cache_dir`` under ``key``.

    Uses pedalboard's time stretcher a block at a time (:func:`stretch_blocks`), so a long
    song needs little memory; speed 1.0 returns ``audio_path`` itself.
    """
    speed = validate_speed(speed)
    if speed == 1.0:
        return audio_path
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"{key}-{round(speed * 100)}.ogg"
    if out.is_file():
        return out
    sr, _, blocks = audio_blocks(audio_path, block_s=STRETCH_BLOCK_S, mono=False)
    channels = audio_info(audio_path).channels
    tmp = out.with_name(f"{out.stem}.{secrets.token_hex(4)}.tmp.ogg")  # no clash between requests
    try:
        write_ogg_blocks(tmp, stretch_blocks(blocks, sr, speed), sr, channels)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def stretch_blocks(blocks: Iterable[np.ndarray], sample_rate: int,
                   speed: float) -> Iterator[np.ndarray]:
    """Consecutive ``(frames, channels)`` blocks played at ``speed``, pitch kept, as blocks.

    Each block is stretched with :data:`STRETCH_CONTEXT_S` of its neighbours' audio on each
    side (so the stretcher hears where it comes from and goes to). Two blocks' stretches of
    the same moment match in timing but not in phase, so the next block's output is slid by
    up to :data:`STRETCH_ALIGN_S` to where it best matches the last one's before they are
    crossfaded over :data:`STRETCH_JOIN_S`: no dip where a tone's phases would cancel. Audio
    given as one block is stretched whole. Output sample ``i`` plays input sample about
    ``i * speed``; in all there are ``round(frames / speed)``.
    """
    import pedalboard

    context = int(STRETCH_CONTEXT_S * sample_rate)
    join = 2 * int(STRETCH_JOIN_S * sample_rate / 2)
    slide = int(STRETCH_ALIGN_S * sample_rate)
    fade = np.linspace(0.0, 1.0, join, endpoint=False, dtype=np.float32)[:, None]
    before = None  # the end of the block before
    pending = None  # the last block's output from the join on
    start = 0  # first input frame of the current block
    it = iter(blocks)
    current = next(it, None)
    while current is not None:
        following = next(it, None)
        head = before if before is not None else current[:0]
        tail = following[:context] if following is not None else current[:0]
        segment = np.concatenate([head, current, tail])
        stretched = pedalboard.time_stretch(segment.T.copy(), sample_rate, stretch_factor=speed).T
        # the current block's output (from the join before it to the one after it), in frames
        # of the segment's output
        origin = round((start - head.shape[0]) / speed)
        lo = round(start / speed) - origin - (join // 2 if pending is not None else 0)
        hi = round((start + current.shape[0]) / speed) - origin
        hi += join // 2 if following is not None else 0
        lag = 0 if pending is None else _best_lag(pending[:join], stretched, lo, slide)
        piece = stretched[lo + lag:hi + lag]
        if piece.shape[0] < hi - lo:  # slid past the end of the song's stretch
            piece = np.pad(piece, ((0, hi - lo - piece.shape[0]), (0, 0)))
        if pending is not None:
            piece[:join] = pending[:join] * (1.0 - fade) + piece[:join] * fade
        if following is not None:
            cut = piece.shape[0] - join
            piece, pending = piece[:cut], piece[cut:].copy()
        yield piece
        before = current[-context:]
        start += current.shape[0]
        current = following


def _best_lag(reference: np.ndarray, audio: np.ndarray, at: int, slide: int) -> int:
    """The shift within ``slide`` frames of ``at`` at which ``audio`` best matches
    ``reference`` (largest normalised correlation of their channels' sums); 0 where ``audio``
    ends too soon."""
    ref = reference.sum(axis=1)
    region = audio[at - slide:at + slide + ref.size].sum(axis=1)
    if at < slide or region.size < ref.size + 2 * slide:
        return 0
    corr = np.correlate(region, ref, mode="valid")
    energy = np.convolve(region ** 2, np.ones(ref.size, np.float32), mode="valid")
    return int(np.argmax(corr / np.sqrt(energy + 1e-12))) - slide
