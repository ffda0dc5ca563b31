"""Backing-track audio files: OGG/Vorbis writing and the time-stretched copies for practice.

A stretch keeps a core busy for up to a few minutes (a two-hour song), so the copies are
made under one :class:`StretchGate`: one stretch of a (song, speed) at a time, a bounded
number at once across the server, a bounded number of requests waiting; and only the
speeds of a song most recently asked for are kept. A copy is written under a temporary name
beside it and renamed once whole; the temporaries a crashed process left are removed the next
time the cache is used (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

from drumjam.errors import DrumjamError, InputError
from drumjam.io.audio import audio_blocks, audio_info
from drumjam.leftovers import STALE_S, remove_stale, sweep_if_due

MIN_SPEED = 0.5
MAX_SPEED = 1.5
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
#: Stretches made at once across the server: one per core, as each keeps one busy, and at most
#: 10, as each runs in one of the web server's 40 worker threads.
STRETCHES_AT_ONCE = max(1, min(os.cpu_count() or 1, 10))
#: Requests that may be waiting for or making a stretch at once (each holds a worker thread
#: meanwhile); one more is refused with :class:`StretchBusyError`. A copy already made is
#: served without waiting, however many requests wait.
STRETCH_REQUESTS_AT_ONCE = 2 * STRETCHES_AT_ONCE
#: Stretched copies kept of one song: the speeds most recently asked for. With 101 speeds
#: of up to two hours each, keeping all would fill the disk.
STRETCHES_KEPT_PER_SONG = 4
#: A stretched copy in the making: the copy's name (``<key>-<percent>``) with 8 hex digits of
#: its own (no two requests, of any process, write one file) and ``.tmp`` before ``.ogg``.
TEMP_NAME = re.compile(r".+-\d+\.[0-9a-f]{8}\.tmp\.ogg")
#: Seconds a copy in the making may go unwritten before it counts as a crashed stretch's: one
#: being made is written every few seconds, whichever process (or server) makes it.
STALE_TEMP_S = STALE_S
#: Seconds between one process's looks for stale temporaries in one cache folder.
SWEEP_EVERY_S = 600.0


class StretchBusyError(DrumjamError, RuntimeError):
    """As many requests as may are waiting for or making a stretch; try again in a moment."""


class StretchGate:
    """Who may stretch a backing track, and when.

    One request at a time holds the turn of an output file (a second request for the same
    copy waits, then finds it made), at most ``at_once`` stretches run, and at most
    ``requests`` requests wait or stretch at once.

    Parameters
    ----------
    at_once : int
        Stretches run at once (at least 1).
    requests : int
        Requests let in at once, waiting or stretching; one more is refused.
    """

    def __init__(self, at_once: int, requests: int) -> None:
        #: Held while a stretch runs.
        self.slots = threading.Semaphore(at_once)
        self._requests = requests
        self._lock = threading.Lock()
        self._files: dict[Path, tuple[threading.Lock, int]] = {}  # turn, requests for it
        self._inside = 0

    @property
    def inside(self) -> int:
        """The requests let in now (waiting for a turn or a slot, or stretching)."""
        return self._inside

    @contextmanager
    def turn(self, out: Path) -> Iterator[None]:
        """Hold the turn to make ``out``, waiting while another request holds it.

        Raises
        ------
        StretchBusyError
            If ``requests`` requests are already let in.
        """
        with self._lock:
            if self._inside >= self._requests:
                raise StretchBusyError(
                    f"the server is busy time-stretching backing tracks for {self._inside} "
                    "requests; try again in a moment (100 % speed needs no stretch)")
            self._inside += 1
            lock, users = self._files.get(out, (threading.Lock(), 0))
            self._files[out] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                self._inside -= 1
                users = self._files[out][1] - 1
                if users:
                    self._files[out] = (lock, users)
                else:
                    del self._files[out]


#: The gate every stretch of this process goes through.
STRETCH_GATE = StretchGate(STRETCHES_AT_ONCE, STRETCH_REQUESTS_AT_ONCE)


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
    song needs little memory; speed 1.0 returns ``audio_path`` itself. The copy is made
    through :data:`STRETCH_GATE`: a request for a copy being made waits for it, and one
    for a copy not made waits for a free slot. Of one ``key``, the
    :data:`STRETCHES_KEPT_PER_SONG` copies most recently asked for are kept.

    Raises
    ------
    StretchBusyError
        If the copy is not made and the gate lets in no more requests.
    """
    speed = validate_speed(speed)
    if speed == 1.0:
        return audio_path
    cache_dir.mkdir(parents=True, exist_ok=True)
    _sweep_if_due(cache_dir)
    out = cache_dir / f"{key}-{round(speed * 100)}.ogg"
    if _mark_used(out):
        return out
    gate = STRETCH_GATE
    with gate.turn(out):
        if _mark_used(out):  # made while this request waited for its turn
            return out
        # a name of its own: no clash with another process making the same copy
        tmp = out.with_name(f"{out.stem}.{secrets.token_hex(4)}.tmp.ogg")  # a TEMP_NAME
        try:
            with gate.slots:
                sr, _, blocks = audio_blocks(audio_path, block_s=STRETCH_BLOCK_S, mono=False)
                channels = audio_info(audio_path).channels
                write_ogg_blocks(tmp, stretch_blocks(blocks, sr, speed), sr, channels)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
    _mark_used(out)
    _forget_older_copies(cache_dir, key)
    return out


def remove_stale_temporaries(cache_dir: Path, *, older_than_s: float = STALE_TEMP_S,
                             now: float | None = None) -> list[Path]:
    """Delete the stretched copies in the making that a crashed process left in ``cache_dir``.

    Only plain files directly in ``cache_dir`` named as :func:`stretched_audio` names a copy
    in the making (:data:`TEMP_NAME`) and not modified for ``older_than_s`` seconds are
    deleted: a copy another process is making now (it writes every few seconds), a finished
    copy, a link, a folder and any other file stay.

    Parameters
    ----------
    cache_dir : Path
        The folder of the stretched copies (``cache_dir`` of :func:`stretched_audio`).
    older_than_s : float
        Seconds since its last modification after which a temporary counts as left behind.
    now : float, optional
        The time now (seconds since the epoch; default: the clock's).

    Returns
    -------
    list of Path
        The files deleted (none where ``cache_dir`` does not exist or cannot be read: the cache
        only saves time). See :func:`drumjam.leftovers.remove_stale`.
    """
    return remove_stale(cache_dir, TEMP_NAME, older_than_s=older_than_s, now=now)


def _sweep_if_due(cache_dir: Path) -> None:
    """:func:`remove_stale_temporaries` in ``cache_dir`` at its first use by this process,
    then at most every :data:`SWEEP_EVERY_S`."""
    sweep_if_due(cache_dir, TEMP_NAME, every_s=SWEEP_EVERY_S)


def _mark_used(copy: Path) -> bool:
    """Stamp ``copy``'s access time as now, if it exists; whether it does. Its modification
    time (and so the ETag it is served with) stays."""
    try:
        os.utime(copy, ns=(time.time_ns(), copy.stat().st_mtime_ns))
    except FileNotFoundError:
        return False
    return True


def _forget_older_copies(cache_dir: Path, key: str) -> None:
    """Delete the stretched copies of ``key`` but the :data:`STRETCHES_KEPT_PER_SONG` last used
    (by access time, stamped at each use by :func:`_mark_used`)."""
    name = re.compile(re.escape(key) + r"-\d+\.ogg")  # not another key's, not a copy being made
    copies = []
    for path in cache_dir.glob(f"{glob.escape(key)}-*.ogg"):
        if not name.fullmatch(path.name):
            continue
        try:
            copies.append((path.stat().st_atime_ns, path))
        except FileNotFoundError:  # forgotten by another request just now
            continue
    for _, path in sorted(copies, reverse=True)[STRETCHES_KEPT_PER_SONG:]:
        path.unlink(missing_ok=True)


def stretch_blocks(blocks: Iterable[np.ndarray], sample_rate: int,
                   speed: float) -> Iterator[np.ndarray]:
    """Consecutive ``(frames, channels)`` blocks played at ``speed``, pitch kept, as blocks.

    Each block is stretched with :data:`STRETCH_CONTEXT_S` of its neighbours' audio on each
    side (so the stretcher hears where it comes from and goes to). Two blocks' stretches of
    the same moment match in timing but not in phase, so the next block's output is slid by
    up to :data:`STRETCH_ALIGN_S` to where it best matches the last one's before they are
    crossfaded over :data:`STRETCH_JOIN_S`: no dip where a tone's phases would cancel. Audio
    given as one block is stretched whole. Output sample ``i`` plays input sample about
    ``i * speed``; in all there are ``round(frames / speed)``. A block silent with its context
    (an uploaded MIDI song's backing is often silent for minutes) becomes silence of its
    stretched length without the stretcher, which would give the same zeros in a second a
    minute.
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
        if segment.any():
            stretched = pedalboard.time_stretch(segment.T.copy(), sample_rate,
                                                stretch_factor=speed).T
        else:
            stretched = np.zeros((round(segment.shape[0] / speed), segment.shape[1]), np.float32)
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
    ends too soon or nothing correlates (a join in silence, where the first of the all-zero
    scores would slide the next block by the whole ``slide``)."""
    ref = reference.sum(axis=1)
    region = audio[at - slide:at + slide + ref.size].sum(axis=1)
    if at < slide or region.size < ref.size + 2 * slide:
        return 0
    corr = np.correlate(region, ref, mode="valid")
    if not corr.any():
        return 0
    energy = np.convolve(region ** 2, np.ones(ref.size, np.float32), mode="valid")
    return int(np.argmax(corr / np.sqrt(energy + 1e-12))) - slide
