"""Backing-track audio files: OGG/Vorbis writing and the time-stretched copies for practice."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from drumjam.errors import InputError

MIN_SPEED = 0.5
MAX_SPEED = 1.5
SPEED_STEP = 0.05
OGG_BLOCK_FRAMES = 16384


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

    Uses pedalboard's time stretcher; speed 1.0 returns ``audio_path`` itself.
    """
    speed = validate_speed(speed)
    if speed == 1.0:
        return audio_path
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"{key}-{round(speed * 100)}.ogg"
    if out.is_file():
        return out
    import pedalboard

    samples, sr = sf.read(audio_path, dtype="float32", always_2d=True)
    stretched = pedalboard.time_stretch(samples.T.copy(), sr, stretch_factor=speed)
    tmp = out.with_name(f"{out.stem}.{secrets.token_hex(4)}.tmp.ogg")  # no clash between requests
    write_ogg(tmp, stretched.T, sr)
    tmp.replace(out)
    return out
