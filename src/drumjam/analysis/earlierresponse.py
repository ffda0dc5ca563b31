"""An earlier take's room response (or the calibration's) as a new take tries and applies it.

A new take of the same player, microphone and speakers need not wait for its own response:
:class:`~drumjam.analysis.bleed.BleedCanceller` tries the one an earlier take applied on what
the microphone hears of the count-in's clicks (and of the song). :class:`EarlierResponse` keeps
what that trial has seen and, once the response passed, the gain it is applied at, what it and
the take's own response leave of the microphone, and the level it follows the speakers at
(turned up or down mid-take). The canceller decides when to judge it, on which audio; here is
what is judged and how.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


#: An earlier take's response (the same player, microphone and speakers) is applied from the
#: song's first sample when, scaled by one gain (speakers turned up or down), it removes at
#: least this share of what the microphone heard of the clicks and the song so far ...
EARLIER_REMOVES = 0.5
#: ... with a gain in this range (beyond it, the set-up changed) ...
EARLIER_GAIN_RANGE = (0.25, 4.0)
#: ... judged on this long of the count-in's clicks or the song, in seconds (segment hops),
#: in the frequency bins where it predicts at least this share of its strongest bin's power.
EARLIER_EVIDENCE_S = 1.0
EARLIER_BAND = 0.01
#: While an earlier take's (or the calibration's) response is applied, the estimate follows
#: the speakers turned up or down mid-take (the take's own response would take over only as
#: it relearns, over :data:`~drumjam.analysis.roomresponse.MEMORY_S`): it is scaled by the
#: least-squares gain of the microphone on it over about this long, in seconds, judged as
#: the earlier response was (in its strongest bins, removing :data:`EARLIER_REMOVES` of what
#: was heard there, within :data:`EARLIER_GAIN_RANGE`) ...
LEVEL_S = 2.0
#: ... where that gain is this far from 1 in dB (at a steady level it stays within 0.15 dB
#: on every take of ``benchmarks/mic_bleed.py``; a scale 0.25 dB off leaves the song 31 dB
#: down).
LEVEL_DEADBAND_DB = 0.25


def in_band(spec_p: np.ndarray, spec_y: np.ndarray) -> tuple[float, float, float]:
    """A response's prediction (``spec_p``) against the microphone (``spec_y``) where it
    predicts most (the clicks' tones, most of the song: a drum played along the count-in adds
    little there): their cross power, its power, the microphone's power."""
    power = np.abs(spec_p) ** 2
    bins = power >= EARLIER_BAND * np.max(power)
    heard = spec_y[bins]
    return (float(np.sum(np.real(np.conj(spec_p[bins]) * heard))), float(np.sum(power[bins])),
            float(np.sum(np.abs(heard) ** 2)))


def removing_gain(cross: float, predicted: float, heard: float) -> float | None:
    """The least-squares gain on a prediction (powers as :func:`in_band` gives them), if at
    that gain it removes :data:`EARLIER_REMOVES` of what the microphone heard with a gain in
    :data:`EARLIER_GAIN_RANGE`; else None."""
    gain = cross / max(predicted, 1e-30)
    lo, hi = EARLIER_GAIN_RANGE
    return gain if lo <= gain <= hi and heard - gain * cross <= EARLIER_REMOVES * heard else None


@dataclass
class EarlierResponse:
    """An earlier take's response on trial in a stream, then applied until the take's own
    leaves less.

    Attributes
    ----------
    response : numpy.ndarray
        Its taps, moved to the stream's round trip.
    gain : float or None
        The gain it is applied at once it passed its check; None while it is judged.
    seen : numpy.ndarray
        While judged: its and the microphone's cross power, its power, the microphone's, and
        seconds seen (:meth:`judge`).
    left : numpy.ndarray
        Once applied: what it and the take's own response left of the microphone
        (:meth:`overtaken`).
    clicks : bool
        Whether the clicks take it too (it left less of the count-in's clicks than their own
        response).
    level_seen : numpy.ndarray
        Once applied: the microphone against the estimate in its strongest bins over the last
        :data:`LEVEL_S` (cross power, its power, the microphone's; :meth:`follow_level`).
    level : float
        The scale the whole estimate is applied at: the speakers' level followed.
    """

    response: np.ndarray
    gain: float | None = None
    seen: np.ndarray = field(default_factory=lambda: np.zeros(4))
    left: np.ndarray = field(default_factory=lambda: np.zeros(2))
    clicks: bool = False
    level_seen: np.ndarray = field(default_factory=lambda: np.zeros(3))
    level: float = 1.0

    def copy(self) -> EarlierResponse:
        """A copy to return to (the response itself is never changed in place)."""
        return EarlierResponse(self.response, self.gain, self.seen.copy(), self.left.copy(),
                               self.clicks, self.level_seen.copy(), self.level)

    def resumed(self) -> EarlierResponse:
        """A copy for a later stream of the same take to carry on with: what was judged of
        it, its level found afresh."""
        return EarlierResponse(self.response, self.gain, self.seen.copy(), self.left.copy(),
                               self.clicks)

    @property
    def applied(self) -> bool:
        """Whether it passed its check and is applied."""
        return self.gain is not None

    @property
    def h(self) -> np.ndarray:
        """Its taps at the gain it passed with (before the level followed)."""
        assert self.gain is not None, "an earlier response is applied only once it passed"
        return self.gain * self.response

    def judge(self, spec_p: np.ndarray, spec_y: np.ndarray, seconds: float) -> float:
        """Add one more segment to what the trial has seen: the response's prediction and the
        microphone, windowed spectra, ``seconds`` long. Returns the seconds seen so far."""
        self.seen += (*in_band(spec_p, spec_y), seconds)
        return float(self.seen[3])

    def fitted_gain(self) -> float | None:
        """The gain it passes with on what the trial has seen (:func:`removing_gain`), or None
        where it fails."""
        return removing_gain(*self.seen[:3])

    def overtaken(self, left_earlier: float, left_own: float, forget: float) -> bool:
        """Add what it and the take's own response left of one more segment (energies, the
        older ones weighed by ``forget``); whether the take's own now leaves less."""
        for k, left in enumerate((left_earlier, left_own)):
            self.left[k] = forget * self.left[k] + left
        return bool(self.left[1] < self.left[0])

    def follow_level(self, spec_p: np.ndarray, spec_y: np.ndarray, *, hop: int,
                     sample_rate: int) -> None:
        """Judge the level on one more segment, ``hop`` samples after the last: the estimate
        as applied (``spec_p``) against the microphone (``spec_y``), windowed spectra. The
        microphone's gain on it over :data:`LEVEL_S` becomes the level where it holds (beyond
        :data:`LEVEL_DEADBAND_DB`); else the drums drown what it predicts and the level is
        kept."""
        forget = float(np.exp(-hop / (LEVEL_S * sample_rate)))
        self.level_seen = forget * self.level_seen + np.array(in_band(spec_p, spec_y))
        gain = removing_gain(*self.level_seen)
        if gain is not None:
            self.level = 1.0 if abs(20.0 * np.log10(gain)) < LEVEL_DEADBAND_DB else float(gain)
