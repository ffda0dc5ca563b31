"""Capture slips and clock drift: where the song's bleed says the microphone's samples lie.

A browser's capture drops or repeats a buffer (10 ms in Chromium) when the machine is busy,
and a microphone on another device than the speakers runs on another clock: tens of ppm
apart, the song arrives a few ms later (or earlier) every minute, until the browser makes up
for it with such a step. Either way every sample the page stamps is off the audio clock the
song plays on: the player's hits would score that much early or late, and the bleed canceller
(:mod:`drumjam.analysis.bleed`) would subtract the song where it no longer is, leaving it to
be heard as strokes.

The song's own bleed says where the microphone's samples really lie. :class:`SlipTracker`
compares, over a window of :data:`WINDOW_S` every :data:`HOP_S`, the microphone with the
bleed the canceller predicts for it, moved by up to :data:`MAX_SLIP_S` either way (both
first-differenced, so that the song's bass, nearly the same 10 ms later, does not blur where
it lies).

- A best move of at least :data:`MIN_SLIP_S` is a slip if it leaves less of the microphone in
  at least :data:`AGREE_SHARE` of the window's 20 ms chunks where the song sounds (a drum
  stroke can favour a wrong move in the few chunks it fills, never in most of them), and if
  the moved bleed does remove most of its power from the microphone (:data:`REMOVES`: a
  prediction of a song the microphone does not hear, from a response fitted to the drums,
  adds to it instead). It is dated to the chunk from which on the window's chunks favour it
  (:class:`Slip`).
- Where the song sounds in fewer chunks than that (the count-in's clicks), a move is a slip
  only if the chunks split into those before a step, every one against it, and at least
  :data:`MIN_SPARSE_CHUNKS` after it, every one for it, and if it removes nearly all of the
  moved bleed's power there (:data:`SPARSE_REMOVES`): clicks heard alone leave nothing
  else for it to explain.
- A smaller one, where the prediction removes most of its power as it is, is drift: where
  the bleed lies against the prediction to a fraction of a sample (the correlation's peak
  interpolated by a parabola). The canceller follows it a share at a time
  (:data:`FOLLOW_GAIN`) and learns its rate (:data:`FOLLOW_RATE_GAIN`: a steady drift is
  then followed with no lag), reading what the page played through a
  :class:`~drumjam.analysis.drift.ClockWarp`.

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
#: Smaller moves are followed as drift, a share at a time ...
MIN_SLIP_S = 0.001
#: ... this share of each window's, and the rate of drift learned by this share of it per
#: window (a second-order loop: a steady drift is followed with no lag; at 50 ppm the
#: canceller removes over 20 dB of a song after 20 s, 1.4 dB left alone).
FOLLOW_GAIN = 0.5
FOLLOW_RATE_GAIN = 0.25
#: Two clocks drift apart by at most this much, in ppm (crystals are within 100 ppm) ...
MAX_DRIFT_PPM = 500.0
#: ... and a window's estimate counts for at most this many samples (a response that learned
#: the song at two places, around a slip not found, can put the peak several samples off).
MAX_DRIFT_STEP = 1.0
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
#: A window with fewer chunks where the song sounds (clicks alone) needs this many after the
#: step, every one for the move and every one before it against ...
MIN_SPARSE_CHUNKS = 5
#: ... and the moved bleed to remove this share of its power there.
SPARSE_REMOVES = 0.8


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

    def check(self, mic: np.ndarray, predicted: np.ndarray, *,
              start: int) -> tuple[Slip | None, float | None]:
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
        slip : Slip or None
            A move seen in this window (the caller moves its alignment by it).
        drift : float or None
            Without one, where the bleed lies against the prediction, in samples (a fraction
            of one, or a few: the microphone's clock drifting against the speakers'), when the
            prediction holds the bleed there: it leaves less of the microphone in
            :data:`AGREE_SHARE` of the chunks where the song sounds (a response fitted to
            drums that hear no song adds to many) and removes :data:`REMOVES` of its power
            from it; else None.
        """
        y = np.diff(np.asarray(mic, np.float64))
        p = np.diff(np.asarray(predicted, np.float64))
        if y.size < self.chunk * MIN_CHUNKS or not np.any(p):
            return None, None
        xc = correlate(p, y, mode="valid", method="fft")  # index k: p[k:k + y.size] against y
        shift = self.max_samples - int(np.argmax(xc))
        n = y.size // self.chunk * self.chunk
        y = y[:n]
        here = self._at(p, 0, n)
        heard, power = self._chunks(y ** 2), self._chunks(here ** 2)
        sounds = power >= 0.1 * np.mean(power)
        sparse = np.sum(sounds) < MIN_CHUNKS
        if sparse and (np.sum(sounds) < MIN_SPARSE_CHUNKS or abs(shift) < self.min_samples):
            return None, None
        left_here = self._chunks((y - here) ** 2)
        if abs(shift) < self.min_samples:
            holds = (np.mean(left_here[sounds] < heard[sounds]) >= AGREE_SHARE
                     and self._holds(np.asarray(mic, np.float64),
                                     np.asarray(predicted, np.float64)))
            return None, (self._drift(y, p, heard / np.maximum(power, 1e-30), sounds)
                          if holds else None)
        moved = self._at(p, shift, n)
        left_moved = self._chunks((y - moved) ** 2)
        votes = np.where(sounds, np.where(left_moved < left_here, 1, -1), 0)
        step = _change_point(votes)
        if sparse:  # every chunk before the step against the move, every one after it for it
            counted = sounds & (np.arange(votes.size) >= step)
            if (np.sum(counted) < MIN_SPARSE_CHUNKS or np.any(votes[counted] < 0)
                    or np.any(votes[:step] > 0)):
                return None, None
            needed = SPARSE_REMOVES
        else:
            counted, needed = sounds, REMOVES
            if np.mean(votes[sounds] > 0) < AGREE_SHARE:
                return None, None
        if np.sum((heard - left_moved)[counted]) < needed * np.sum(self._chunks(moved ** 2)[counted]):
            return None, None
        return Slip(start + step * self.chunk, shift), None

    def _at(self, p: np.ndarray, shift: int, n: int) -> np.ndarray:
        """The prediction moved ``shift`` samples later, over the window's ``n`` samples."""
        return p[self.max_samples - shift:self.max_samples - shift + n]

    def _drift(self, y: np.ndarray, p: np.ndarray, ratio: np.ndarray,
               sounds: np.ndarray) -> float | None:
        """Where the bleed lies against a prediction that holds it, to a fraction of a
        sample: the correlation's peak, within the least slip of no move, interpolated by a
        parabola, over the half of the chunks where the song is loudest against the
        microphone (a drum stroke would pull the peak its way)."""
        ruled = np.repeat(sounds & (ratio <= np.median(ratio[sounds])), self.chunk)
        quiet = np.where(ruled, y, 0.0)
        xc = correlate(p[:y.size + 2 * self.max_samples], quiet, mode="valid", method="fft")
        near = slice(self.max_samples - self.min_samples, self.max_samples + self.min_samples + 1)
        k = near.start + int(np.argmax(xc[near]))
        if not near.start < k < near.stop - 1:
            return None
        a, b, c = xc[k - 1:k + 2]
        curve = a - 2 * b + c
        return float(self.max_samples - k - (0.5 * (a - c) / curve if curve < 0 else 0.0))

    def _holds(self, mic: np.ndarray, predicted: np.ndarray) -> bool:
        """Whether the prediction as it is removes :data:`REMOVES` of its power from the
        microphone (undifferenced: a drift of a few samples leaves the song's body
        cancelled)."""
        d = self.max_samples
        n = (mic.size // self.chunk) * self.chunk
        here = predicted[d:d + n]
        power = self._chunks(here ** 2)
        sounds = power >= 0.1 * np.mean(power)
        removed = self._chunks(mic[:n] ** 2 - (mic[:n] - here) ** 2)
        return bool(np.sum(removed[sounds]) >= REMOVES * np.sum(power[sounds]))

    def _chunks(self, x: np.ndarray) -> np.ndarray:
        """Sums over the window's chunks."""
        return np.sum(x.reshape(-1, self.chunk), axis=1)


def _change_point(votes: np.ndarray) -> int:
    """The chunk from which on the votes favour the move: against it before, for it after,
    as many as possible."""
    before_against = np.concatenate([[0], np.cumsum(votes < 0)])
    after_for = np.concatenate([np.cumsum((votes > 0)[::-1])[::-1], [0]])
    return int(np.argmax(before_against + after_for))
