"""Clock drift: what the page played, read where a microphone on another clock hears it.

A microphone and the speakers on two devices run on two clocks: 50 ppm apart, the song
arrives 3 ms later (or earlier) every minute of the microphone's samples, and a bleed
canceller that subtracts it where it was a minute ago leaves most of it (at 20 ppm it removes
5 dB instead of 28 after 40 s). :class:`ClockWarp` says how many samples later than its own
clock says the song is heard, from each position of it on: piecewise linear, followed from
the song heard in the microphone (:mod:`drumjam.analysis.slips`). :class:`WarpedSignal` reads
a signal through it, by windowed-sinc interpolation (:data:`SINC_HALF` taps each side, a
Blackman window), each sample once: what it read is kept (:data:`KEEP_S`) until the warp
changes under it.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

import numpy as np

#: Taps each side of the interpolation ...
SINC_HALF = 8
#: ... its kernel tabulated at this many fractions of a sample (a point read at most 1/1024
#: of a sample off: at 10 kHz and 48 kHz, 1/780 of a radian).
SINC_STEPS = 512
#: Samples read ahead of the latest asked for at once, in seconds (reads come block by block).
READ_AHEAD_S = 0.1
#: Read samples kept behind the latest asked for, in seconds (what a canceller reads again:
#: a response's history, the segments learned again after a slip).
KEEP_S = 4.0
#: Breakpoints of a warp kept (at two a second, the last 32 s).
BREAKPOINTS = 64


class Signal(Protocol):
    """A known signal read a piece at a time (the song or the clicks a page plays), so that
    nothing the length of a song is copied for the canceller."""

    def samples(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as float32, zeros outside the signal."""
        ...  # pragma: no cover


class ClockWarp:
    """How many samples later than its own clock a signal is heard: from each breakpoint on,
    a delay that grows at a rate (samples per sample). The last :data:`BREAKPOINTS` are kept
    (a position before them is read as the first kept one says)."""

    def __init__(self) -> None:
        self._at = np.zeros(1, np.int64)
        self._delay = np.zeros(1)
        self._rate = np.zeros(1)
        #: changes made so far, and the first position each of the last ones moved
        self.version = 0
        self._changes: deque[tuple[int, int]] = deque(maxlen=BREAKPOINTS)

    @property
    def still(self) -> bool:
        """Whether nothing has moved yet (signals are read as they are)."""
        return self.version == 0

    def delay(self, positions: np.ndarray) -> np.ndarray:
        """The delay, in samples, at each of ``positions`` (samples of the signal's clock)."""
        p = np.asarray(positions, np.float64)
        i = np.maximum(np.searchsorted(self._at, p, side="right") - 1, 0)
        return self._delay[i] + self._rate[i] * (p - self._at[i])

    def follow(self, at: int, *, step: float, rate: float) -> None:
        """From position ``at`` on: ``step`` samples later than so far, the delay growing by
        ``rate`` samples per sample."""
        start = float(self.delay(np.array([at]))[0]) + float(step)
        keep = max(1, int(np.searchsorted(self._at, at, side="left")))
        keep_from = max(0, keep - (BREAKPOINTS - 1))
        self._at = np.r_[self._at[keep_from:keep], int(at)]
        self._delay = np.r_[self._delay[keep_from:keep], start]
        self._rate = np.r_[self._rate[keep_from:keep], float(rate)]
        self.version += 1
        self._changes.append((self.version, int(at)))

    def moved_since(self, version: int) -> float:
        """The first position any change after ``version`` moved (-inf if they are no longer
        all known, +inf if there were none)."""
        if version >= self.version:
            return np.inf
        if not self._changes or self._changes[0][0] > version + 1:
            return -np.inf
        return float(min(at for v, at in self._changes if v > version))


class WarpedSignal:
    """A :class:`Signal` read through a :class:`ClockWarp`: sample ``n`` is the signal at
    ``n - delay(n)``.

    Parameters
    ----------
    signal : Signal
        What is read.
    warp : ClockWarp
        Shared by every signal heard through one microphone.
    sample_rate : int
        In Hz (for :data:`KEEP_S`).
    """

    def __init__(self, signal: Signal, warp: ClockWarp, *, sample_rate: int) -> None:
        self.signal = signal
        self.warp = warp
        self._keep = int(KEEP_S * sample_rate)
        self._ahead = int(READ_AHEAD_S * sample_rate)
        self._cache = np.zeros(0, np.float32)
        self._cache_start = 0
        self._seen = 0  # changes of the warp taken into account

    def samples(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as float32, zeros outside the signal."""
        if self.warp.still:
            return self.signal.samples(start, stop)
        if self._seen < self.warp.version:  # what was read from a change on is stale
            moved = self.warp.moved_since(self._seen)
            self._seen = self.warp.version
            self._cache = self._cache[:int(max(0, min(moved - self._cache_start, self._cache.size)))]
        cache_end = self._cache_start + self._cache.size
        if start < self._cache_start or start > cache_end:  # far behind or ahead: afresh
            if stop <= self._cache_start:
                return self._read(start, stop)
            self._cache, self._cache_start, cache_end = np.zeros(0, np.float32), start, start
        if stop > cache_end:
            self._cache = np.concatenate([self._cache,
                                          self._read(cache_end, stop + self._ahead)])
        out = self._cache[start - self._cache_start:stop - self._cache_start].copy()
        drop = self._cache.size - self._keep
        if drop > 0 and self._cache_start + drop <= start:
            self._cache = self._cache[drop:]
            self._cache_start += drop
        return out

    def _read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` interpolated at ``n - delay(n)``."""
        if stop <= start:
            return np.zeros(0, np.float32)
        where = np.arange(start, stop, dtype=np.float64)
        where -= self.warp.delay(where)
        whole = np.floor(where).astype(np.int64)
        lo = int(whole.min()) - SINC_HALF + 1
        x = self.signal.samples(lo, int(whole.max()) + SINC_HALF + 1)
        if not np.any(x):  # silence (the clicks between clicks)
            return np.zeros(stop - start, np.float32)
        step = np.rint((where - whole) * SINC_STEPS).astype(np.int64)
        taps = _KERNEL[step]  # (samples, 2 * SINC_HALF)
        rows = (whole - lo - SINC_HALF + 1)[:, None] + np.arange(2 * SINC_HALF)
        return np.einsum("ij,ij->i", x[rows], taps).astype(np.float32)


def _kernel() -> np.ndarray:
    """The Blackman-windowed sinc at each tabulated fraction: row ``s`` holds the taps
    ``-SINC_HALF + 1 .. SINC_HALF`` for a point ``s / SINC_STEPS`` past a sample."""
    frac = np.arange(SINC_STEPS + 1)[:, None] / SINC_STEPS
    t = np.arange(-SINC_HALF + 1, SINC_HALF + 1)[None, :] - frac
    window = 0.42 + 0.5 * np.cos(np.pi * t / SINC_HALF) + 0.08 * np.cos(2 * np.pi * t / SINC_HALF)
    return (np.sinc(t) * window).astype(np.float32)


_KERNEL = _kernel()
