"""Capture slips: where the song's bleed says the microphone's samples lie.

A browser's capture drops or repeats a buffer (10 ms in Chromium) when the machine is busy,
and a microphone on another device than the speakers drifts against their clock, which the
browser makes good by such steps. After one, every sample the page stamps is that much off
the audio clock the song plays on: the player's hits would score that much early or late
for the rest of the take, and the bleed canceller (:mod:`drumjam.analysis.bleed`) would
subtract the song where it no longer is, leaving it to be heard as strokes.

The song's own bleed says where the microphone's samples really lie. :class:`SlipTracker`
compares, over a window of :data:`WINDOW_S` every :data:`HOP_S`, the microphone with the
bleed the canceller predicts for it, moved by up to :data:`MAX_SLIP_S` either way (both
first-differenced, so that the song's bass, nearly the same 10 ms later, does not blur where
it lies). The best move counts only if it is at least :data:`MIN_SLIP_S` (smaller misfits are
the response's to learn), if it leaves less of the microphone in at least
:data:`AGREE_SHARE` of the window's 20 ms chunks where the song sounds (a drum stroke can
favour a wrong move in the few chunks it fills, never in most of them), and if the moved
bleed does remove most of its power from the microphone (:data:`REMOVES`: a prediction of a
song the microphone does not hear, from a response fitted to the drums, adds to it instead).
The move is dated to the chunk from which on the window's chunks favour it (:class:`Slip`).
A microphone that does not hear the speakers (headphones) gives no prediction once the
canceller has judged its estimate useless, and nothing is followed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import correlate

#: The microphone is compared with the predicted bleed over this long ...
WINDOW_S = 1.0
#: ... every this long, in seconds.
HOP_S = 0.5
#: Moves looked for, either way, in seconds (a browser's buffer is 10 ms).
MAX_SLIP_S = 0.03
#: Smaller moves are left to the room response to learn, in seconds.
MIN_SLIP_S = 0.001
#: The window is judged in chunks this long, in seconds ...
CHUNK_S = 0.02
#: ... of which those where the song sounds (a tenth of its mean chunk power or more) must
#: favour the move in at least this share ...
AGREE_SHARE = 0.75
#: ... and be at least this many (by chance, three in four of 25 votes for a move that does
#: nothing happen about once in 150 windows) ...
MIN_CHUNKS = 25
#: ... and the moved bleed must remove at least this share of its own power from the
#: microphone there: a prediction the microphone does not hold (headphones) adds to it.
REMOVES = 0.5


@dataclass(frozen=True)
class Slip:
    """A step of the microphone against the speakers' clock.

    Attributes
    ----------
    at : int
        The microphone sample from which on it holds (that chunk's first).
    samples : int
        How many samples later than before the song now arrives (negative: earlier).
    """

    at: int
    samples: int


class SlipTracker:
    """Follow where the predicted bleed lies in the microphone, window by window.

    Parameters
    ----------
    sample_rate : int
        Of the microphone, in Hz.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = int(sample_rate)
        self.window = int(round(WINDOW_S * sample_rate))
        self.hop = int(round(HOP_S * sample_rate))
        self.max_samples = int(round(MAX_SLIP_S * sample_rate))
        self.min_samples = max(1, int(round(MIN_SLIP_S * sample_rate)))
        self.chunk = int(round(CHUNK_S * sample_rate))

    def check(self, mic: np.ndarray, predicted: np.ndarray, *, start: int) -> Slip | None:
        """Judge one window.

        Parameters
        ----------
        mic : numpy.ndarray
            The microphone's samples ``[start, start + window)``.
        predicted : numpy.ndarray
            The bleed predicted for microphone samples ``[start - max_samples,
            start + window + max_samples)`` with the alignment as it is.
        start : int
            The window's first microphone sample.

        Returns
        -------
        Slip or None
            A move seen in this window and the one before (the caller moves its alignment
            by it; the tracker starts afresh).
        """
        found = self._move(np.diff(np.asarray(mic, np.float64)),
                           np.diff(np.asarray(predicted, np.float64)))
        if found is None:
            return None
        shift, votes = found
        return Slip(start + _change_point(votes) * self.chunk, shift)

    def _move(self, y: np.ndarray, p: np.ndarray) -> tuple[int, np.ndarray] | None:
        """The move the window favours and its chunks' votes (1 for, -1 against, 0 where the
        song is quiet), or None."""
        d_max = self.max_samples
        if y.size < self.chunk * MIN_CHUNKS or not np.any(p):
            return None
        xc = correlate(p, y, mode="valid", method="fft")  # index k: p[k:k + y.size] against y
        shift = d_max - int(np.argmax(xc))
        if abs(shift) < self.min_samples:
            return None
        here = p[d_max:d_max + y.size]
        moved = p[d_max - shift:d_max - shift + y.size]
        n = y.size // self.chunk * self.chunk
        power = np.sum(here[:n].reshape(-1, self.chunk) ** 2, axis=1)
        left_here = np.sum((y[:n] - here[:n]).reshape(-1, self.chunk) ** 2, axis=1)
        left_moved = np.sum((y[:n] - moved[:n]).reshape(-1, self.chunk) ** 2, axis=1)
        sounds = power >= 0.1 * np.mean(power)
        votes = np.where(sounds, np.where(left_moved < left_here, 1, -1), 0)
        if np.sum(sounds) < MIN_CHUNKS or np.mean(votes[sounds] > 0) < AGREE_SHARE:
            return None
        heard = np.sum(y[:n].reshape(-1, self.chunk) ** 2, axis=1)
        moved_power = np.sum(moved[:n].reshape(-1, self.chunk) ** 2, axis=1)
        if np.sum((heard - left_moved)[sounds]) < REMOVES * np.sum(moved_power[sounds]):
            return None
        return shift, votes


def _change_point(votes: np.ndarray) -> int:
    """The chunk from which on the votes favour the move: against it before, for it after,
    as many as possible."""
    before_against = np.concatenate([[0], np.cumsum(votes < 0)])
    after_for = np.concatenate([np.cumsum((votes > 0)[::-1])[::-1], [0]])
    return int(np.argmax(before_against + after_for))
