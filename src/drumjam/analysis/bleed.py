"""The song in the microphone: cancel the backing track's bleed before transcribing.

Without headphones the microphone hears the backing track too. drumjam knows exactly what it
played and when (the reference), so the bleed is the reference through one path: the round
trip measured by ear (:mod:`drumjam.analysis.roundtrip`) and a room response after it.
:class:`BleedCanceller` learns that response as it goes, by frequency-domain least squares
(Welch averages of the cross- and auto-spectra of microphone and reference: the drums do not
correlate with the song, so they average out; each bin of a segment weighted by the inverse of
what the response learned so far leaves of it, so that loud fills count little,
:meth:`WelchResponse.add`), filters the reference with it and subtracts the result. It learns
the response at two lengths side by side: :data:`TAPS_S`, ready after about a second of song,
and :data:`LONG_TAPS_S`, which holds a reverberant room's tail but needs longer segments to
learn from; the long one is applied once it leaves less of the microphone than the short one
over the last few seconds, each segment judged before the long one learns from it (the short
one may already have: the comparison leans its way). The take's own estimate is applied only
while it leaves less of the microphone than no cancelling at all, judged the same way on each
short segment, in dB: a microphone that does not hear the speakers (headphones) still yields a
response, a fit of the drums to the song they follow, and subtracting it would add the song's
attacks, heard as strokes. The responses are updated at fixed sample positions, so the output
does not depend on how the microphone's audio was cut into blocks, and no latency is added:
the reference is known ahead. Each change of the estimate is faded in over :data:`FADE_S`:
switched at once, the estimate would step, a click the transcription would hear as a stroke.

A new take of the same player, microphone and speakers need not wait for that second: the
response an earlier take applied (:class:`RoomResponse`), or the calibration by ear's noise
bursts (:func:`learn_from_calibration`), is tried on what the microphone hears of the
count-in's clicks (and of the song, without a count-in). Fitted by one gain, it is applied from
the song's first sample if it removes at least half of it
(:data:`~drumjam.analysis.earlierresponse.EARLIER_REMOVES`), and kept until the take's own
response leaves less; meanwhile its level follows the speakers turned up or down mid-take (the
microphone's gain on the estimate over the last
:data:`~drumjam.analysis.earlierresponse.LEVEL_S`, judged the same way), which the take's own
response would learn only over its memory, most of it at the old level (what is judged of it
and how: :class:`~drumjam.analysis.earlierresponse.EarlierResponse`). A capture that hears
everything a buffer later or earlier than the earlier take's did (a new stream's latency) fails
there but passes where the count-in's clicks say it now lies: that is taken as a slip from the
stream's start. One that slipped while the response was being tried fails on the count-in as a
whole but passes on its clicks after the step (the clicks heard alone show a slip as the song
does, :meth:`~drumjam.analysis.slips.SlipTracker.check`). Headphones put on, a microphone moved
or the speakers turned far up or down fail the check, and the take learns afresh as before.

The page's clicks reach the microphone through the same speakers, but their own response is
not learned while the drums play: they are nearly pure tones in time with the drums, so the
drums would be taken for their bleed and the subtraction would leave clicks of its own. Two
estimates of their path are kept instead:

- the song's response, learned with the clicks as a second regressor (so that the clicks'
  bleed, which the song does not explain, does not bend it) and applied to the clicks too:
  the drums do not follow the song's waveform, so the drums cannot enter it;
- the clicks' own response, learned during the count-in, when the microphone should hear them
  alone. It is used until the song's response is ready, and after that only while the two
  agree (their clicks differ by less than the clicks themselves,
  :meth:`~drumjam.analysis.roomresponse.CountInClicks.agrees`): a
  drummer who played along the count-in put their strokes into it, and it is dropped.

An earlier take's response (or the calibration's), while applied, takes the clicks too where
it left less of the count-in's microphone than their own response does (their own judged on the
very clicks it was learned from). The calibration's holds the room's tail (:data:`LONG_TAPS_S`,
learned over the whole spectrum from its bursts), which the clicks' own (:data:`TAPS_S`) cannot:
in a room of 0.3 s RT60 it removes 24 dB of the clicks against their own 12 dB, and what
their own left was heard as strokes. A take's response, learned from a song that may sound
little where the clicks do, mostly loses to their own and leaves them to it.

:meth:`BleedCanceller.report` says how loud the song was in the microphone and how far the
drums stand above what is left, and flags bleed too strong to transcribe reliably.

A capture that slips (a dropped or repeated buffer) or drifts (a microphone on another clock
than the speakers, :mod:`drumjam.analysis.slips`) moves the song in the microphone: every
window of :data:`~drumjam.analysis.slips.HOP_S` is checked against the bleed predicted for
it (the count-in's clicks alone included). After a slip the song is looked for where it now
lies; what was learned and judged from the song and the clicks heard since the slip (looked
for where they no longer were) is forgotten and learned again, a segment heard partly before
it and partly after it by no response. Drift is followed by reading what the page played
through a :class:`~drumjam.analysis.drift.ClockWarp`.
:meth:`BleedCanceller.slipped` tells the stroke times what to take off.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.signal import correlate

from drumjam.analysis.roomresponse import (
    CountInClicks,
    LONG_TAPS_S,
    PRE_S,
    TAPS_S,
    WARMUP_S,
    LearnedPath,
    RoomResponse,
    WelchResponse,
)
from drumjam.analysis.drift import ClockWarp, Signal, WarpedSignal
from drumjam.analysis.earlierresponse import (
    EARLIER_EVIDENCE_S,
    EarlierResponse,
    in_band,
    removing_gain,
)
from drumjam.analysis.slips import (
    FOLLOW_GAIN,
    FOLLOW_RATE_GAIN,
    MAX_DRIFT_PPM,
    MAX_DRIFT_STEP,
    Slip,
    SlipTracker,
)
from drumjam.errors import InputError

#: The two responses are compared on what they left of the song over about this long.
COMPARE_S = 4.0
#: Recent audio the report looks at, in seconds, in chunks of REPORT_CHUNK_S.
REPORT_S = 30.0
REPORT_CHUNK_S = 0.02
#: Bleed is too strong when what is left of it stands within this many dB of the drums.
TOO_STRONG_DB = -20.0
#: A new response is faded in over this long, in seconds: switched at once, the estimate
#: would step by what the two responses predict differently, a click the transcription hears
#: as a stroke.
FADE_S = 0.02
class ArraySignal:
    """A :class:`Signal` over samples held in memory (not copied).

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float samples.
    """

    def __init__(self, samples: np.ndarray) -> None:
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            raise InputError(f"a reference must be mono samples, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InputError("a reference holds NaN or infinite samples")
        self.x = x

    def samples(self, start: int, stop: int) -> np.ndarray:
        """``x[start:stop]`` with zeros outside ``x``."""
        return _slice(self.x, start, stop)


def as_signal(reference: np.ndarray | Signal) -> Signal:
    """``reference`` as a :class:`Signal` (arrays are wrapped, not copied)."""
    return reference if hasattr(reference, "samples") else ArraySignal(reference)  # type: ignore[return-value]


@dataclass(frozen=True)
class BleedReport:
    """How much of the song reached the microphone and what is left of it.

    Attributes
    ----------
    bleed_db : float or None
        Song level relative to the cleaned signal between hits (the medians of 20-50 ms
        chunk powers), in dB; None before any audio, and while nothing of the song is
        subtracted at most chunks (the microphone does not hear it: headphones).
    residual_db : float or None
        Level between hits after cancelling, relative to the drums' loud chunks (95th
        percentile), in dB: the lower, the cleaner.
    too_strong : bool
        The song dominated the microphone and what is left of it stands within
        :data:`TOO_STRONG_DB` of the drums: hits may be missed or invented.
    earlier_gain_db : float or None
        The gain at which an earlier take's response was applied from the song's start
        (fitted on the count-in's clicks: it follows the speakers' volume), in dB; None when
        none was (none was kept, or the set-up had changed).
    slip_ms : float
        How much later than at its start the microphone's stream hears the speakers, after
        the capture slips found and the drift followed (:mod:`drumjam.analysis.slips`), in
        ms (negative: earlier).
    """

    bleed_db: float | None
    residual_db: float | None
    too_strong: bool
    earlier_gain_db: float | None = None
    slip_ms: float = 0.0

    @property
    def message(self) -> str | None:
        """What to tell the player, or None when all is well."""
        if not self.too_strong:
            return None
        return ("the song is too loud in the microphone to hear the drums reliably: "
                "use headphones, turn the speakers down or move the microphone closer to the kit")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"bleed_db": None if self.bleed_db is None else round(self.bleed_db, 1),
                "residual_db": None if self.residual_db is None else round(self.residual_db, 1),
                "too_strong": self.too_strong, "message": self.message,
                "earlier_gain_db": (None if self.earlier_gain_db is None
                                    else round(self.earlier_gain_db, 1)),
                "slip_ms": round(self.slip_ms, 2)}


class Judged(NamedTuple):
    """What a canceller has judged and learned of the count-in's clicks before a segment, to
    return to after a slip found later (:meth:`BleedCanceller._rejudge`)."""

    #: what the short and the long response left of the microphone (see ``_score``)
    errors: np.ndarray
    #: what the take's own estimate left against no cancelling, in dB (see ``_judge_own``)
    own_db: float
    #: an earlier take's response on trial or applied, and the gain it was applied at
    earlier: EarlierResponse | None
    earlier_gain: float | None
    #: the clicks' own response from the count-in, and whether the clicks take it
    click_path: CountInClicks
    clicks_own: bool


class BleedCanceller:
    """Subtract a known reference's bleed from a microphone, streaming.

    Parameters
    ----------
    reference : numpy.ndarray or Signal
        The backing track as played (mono float), its sample ``first_sample`` played at
        microphone sample 0 on the shared audio clock.
    sample_rate : int
        Of both, in Hz.
    round_trip_s : float
        Output + input latency measured by ear (the bleed arrives this late).
    clicks : numpy.ndarray or Signal, optional
        The clicks played through the same speakers, lined up as ``reference``.
    first_sample : int
        The sample of ``reference`` and ``clicks`` played at microphone sample 0.
    learned : LearnedPath, optional
        What an earlier stream of the same take learned (:meth:`learned`; the microphone
        reconnected mid-song), an earlier take's response it was trying included; used at
        once when its sample rate and round trip are this stream's.
    earlier : RoomResponse, optional
        The response an earlier take with the same microphone and speakers applied
        (:meth:`LearnedPath.applied`); tried first (see the module's notes) when its sample
        rate is this stream's, its round trip within :data:`PRE_S` of this one's, and
        ``learned`` is not given.
    alone_s : float
        How long from the first microphone sample the clicks are heard without the drums (the
        count-in): their response is learned there.

    Examples
    --------
    >>> bc = BleedCanceller(song, sample_rate=48000, round_trip_s=0.092)  # doctest: +SKIP
    >>> clean = bc.process(mic_block)                                       # doctest: +SKIP
    """

    def __init__(self, reference: np.ndarray | Signal, *, sample_rate: int, round_trip_s: float,
                 clicks: np.ndarray | Signal | None = None, first_sample: int = 0,
                 alone_s: float = 0.0, learned: LearnedPath | None = None,
                 earlier: RoomResponse | None = None) -> None:
        if not 4000 <= int(sample_rate) <= 384000:
            raise InputError(f"sample rate {sample_rate} Hz is out of range; use 4000-384000 Hz")
        #: the microphone's clock against the speakers' (drift), followed from the song in it
        self._warp = ClockWarp()
        self._ref = WarpedSignal(as_signal(reference), self._warp, sample_rate=int(sample_rate))
        self._clicks = (None if clicks is None else
                        WarpedSignal(as_signal(clicks), self._warp, sample_rate=int(sample_rate)))
        if not 0.0 <= float(round_trip_s) <= 0.5:
            raise InputError(f"round trip {round_trip_s} s is out of range; calibrate again "
                             "(expected 0-0.5 s)")
        self.sample_rate = int(sample_rate)
        self._short = WelchResponse(int(round(TAPS_S * sample_rate)), self.sample_rate)
        self._long = WelchResponse(int(round(LONG_TAPS_S * sample_rate)), self.sample_rate)
        self.taps = self._short.taps
        # reference sample feeding tap 0 of mic sample n: n - self._lag
        self._lag = (int(round(float(round_trip_s) * sample_rate)) - int(round(PRE_S * sample_rate))
                     - int(first_sample))
        self._alone = int(round(max(0.0, alone_s) * sample_rate))
        self._click_path = CountInClicks.unheard(self.taps, self._short.seg)
        self._clicks_own = False  # the clicks filtered with their own response, not the song's
        # what the short and the long response left of the microphone on each long segment
        # before the long one learned from it (averaged over COMPARE_S, see _score)
        self._errors = np.zeros(2)
        # what the take's own estimate left of the microphone against no cancelling, in dB
        # summed over the short segments judged (see _judge_own)
        self._own_db = 0.0
        self._mic = np.zeros(0, np.float32)  # mic samples [self._mic_start, self._n)
        self._mic_start = 0
        self._n = 0
        self._chunk = int(REPORT_CHUNK_S * sample_rate)
        n_chunks = int(REPORT_S / REPORT_CHUNK_S)
        self._powers: deque[tuple[float, float]] = deque(maxlen=n_chunks)
        self._acc = np.zeros(2)  # bleed and cleaned energy of the current chunk
        self._acc_n = 0
        self._round_trip_s = float(round_trip_s)
        #: an earlier take's response on trial or applied (None: none, dropped or overtaken)
        self._earlier: EarlierResponse | None = None
        #: the gain it was applied at from the song's start (kept once the take's own took
        #: over: the report tells it)
        self._earlier_gain: float | None = None
        self._count_in: list[np.ndarray] = []
        #: the estimate's make-up before its last change, and the sample it changed at
        self._fading: tuple[tuple[np.ndarray, bool, np.ndarray], int, int] | None = None
        #: where the song's bleed says the microphone's samples lie: the capture slips found,
        #: the drift followed (samples later per sample), and from which microphone sample on
        #: the song arrived how many samples later than at the start
        self._tracker = SlipTracker(self.sample_rate)
        self._next_check = self._tracker.window
        self.slips: list[Slip] = []
        self._drift = 0.0
        self._moves: list[tuple[int, float]] = []
        #: before each recent segment was learned: (its path, its first sample, the path's
        #: snapshot, what the canceller had judged, :meth:`_judged`), to learn again with the
        #: song where it lies after a slip
        self._recent_segments: deque[tuple[WelchResponse, int, tuple, Judged]] = deque()
        if self._fits(learned):
            self._short.restore(learned.song[:-1], learned.song_weights)
            self._long.restore(learned.long, learned.long_weights)
            self._errors = np.asarray(learned.errors, float).copy()
            self._own_db = float(learned.own_db)
            self._click_path = CountInClicks(self._click_path.cross, learned.song[-1].copy(),
                                             learned.clicks.copy())
            self._clicks_own = True
            self._update()
            if learned.trial is not None:  # carry on judging or applying it
                self._earlier = learned.trial.resumed()
                self._earlier_gain = learned.trial.gain
        elif earlier is not None and earlier.sample_rate == self.sample_rate:
            # the round trip may be given a little differently (a player's latency is set
            # in whole ms): the response moves by the difference, within its margin
            moved = int(round(self._round_trip_s * sample_rate)) - int(round(earlier.round_trip_s * sample_rate))
            if abs(moved) <= int(round(PRE_S * sample_rate)):
                response = _shifted(np.asarray(earlier.response, np.float32), moved)
                self._earlier = EarlierResponse(response) if np.any(response) else None

    def _fits(self, path: LearnedPath | None) -> bool:
        """Whether a learned path was learned at this stream's sample rate and round trip."""
        return (path is not None and path.sample_rate == self.sample_rate
                and abs(path.round_trip_s - self._round_trip_s) < 0.5 / self.sample_rate
                and path.clicks.size == self.taps)

    @property
    def _earlier_applied(self) -> bool:
        """Whether an earlier take's response passed its check and is applied (until the
        take's own leaves less)."""
        return self._earlier is not None and self._earlier.applied

    @property
    def _h(self) -> np.ndarray:
        """The song's response as applied now: an earlier take's while it is applied, else
        the take's own (:attr:`_own_h`)."""
        if self._earlier_applied:
            return self._earlier.h
        return self._own_h

    @property
    def _own_h(self) -> np.ndarray:
        """The song's response this take learned: the long one once it predicts the
        microphone better than the short one (:data:`LONG_TAPS_S`)."""
        use_long = 0.0 < self._errors[1] < self._errors[0]
        return self._long.h if use_long else self._short.h

    def process(self, block: np.ndarray) -> np.ndarray:
        """Feed microphone samples (the next ones after the last block); return them cleaned.

        Parameters
        ----------
        block : numpy.ndarray
            Mono float samples, any length.

        Returns
        -------
        numpy.ndarray
            float32, the same length: the microphone less the estimated bleed.
        """
        y = np.asarray(block, dtype=np.float32).reshape(-1)
        if y.size and not np.all(np.isfinite(y)):
            raise InputError("the microphone audio holds NaN or infinite samples")
        out = np.empty_like(y)
        done = 0
        self._mic = np.concatenate([self._mic, y])
        if (self._n < self._alone and self._clicks is not None and self._earlier is not None
                and not self._click_path.fixed):
            self._count_in.append(y[:self._alone - self._n].copy())
        paths = (self._short, self._long)
        while done < y.size:
            update_at = min(min(p.next_seg + p.seg for p in paths), self._next_check)
            if self._n >= update_at:
                self._learn_due()
                self._follow()
                continue
            stop = min(y.size, done + update_at - self._n)
            out[done:stop] = self._clean(y[done:stop])
            done = stop
        self._learn_due()
        self._follow()
        keep = min(min(p.next_seg for p in paths), self._next_check - self._tracker.window,
                   *(m for _, m, *_ in self._recent_segments))
        keep -= self._mic_start
        if keep > 0:
            self._mic = self._mic[keep:]
            self._mic_start += keep
        return out

    def bleed(self, start: int, stop: int) -> np.ndarray:
        """The estimated bleed for microphone samples ``[start, stop)`` with the response as it
        is now."""
        return self._estimate(self._applied(), start, stop)

    def slipped(self, sample: int) -> float:
        """How many samples later than at the stream's start the microphone heard the
        speakers at microphone sample ``sample`` (the capture slips found and the drift
        followed so far, :mod:`drumjam.analysis.slips`): what a stroke heard there is to be
        moved back by."""
        i = bisect_right(self._moves, (sample, np.inf))
        return self._moves[i - 1][1] if i else 0.0

    def _moved(self, at: int) -> None:
        """Note how late the song arrives from microphone sample ``at`` on."""
        while self._moves and self._moves[-1][0] >= at:  # a slip dated before a drift's step
            self._moves.pop()
        late = (sum(s.samples for s in self.slips)
                + float(self._warp.delay(np.array([at - self._lag]))[0]))
        self._moves.append((at, late))

    def _follow(self) -> None:
        """Judge the window of microphone samples that ends here against the bleed predicted
        for it; after a capture slip, the song is looked for where it now arrives (the change
        faded in like any other)."""
        tracker = self._tracker
        if self._n < self._next_check:
            return
        end = self._next_check
        self._next_check += tracker.hop
        start = end - tracker.window
        # a slip is dated within the window judged: what was learned before it stays
        while self._recent_segments and (self._recent_segments[0][1]
                                         + self._recent_segments[0][0].seg <= start):
            self._recent_segments.popleft()
        applied = self._applied()
        if not np.any(applied[0]) and not (self._clicks is not None and applied[1]):
            return
        d = tracker.max_samples
        mic = self._mic[start - self._mic_start:end - self._mic_start]
        slip, drift = tracker.check(mic, self._estimate(applied, start - d, end + d), start=start)
        if drift is not None:  # a share at a time: one window's estimate is noisy
            drift = float(np.clip(drift, -MAX_DRIFT_STEP, MAX_DRIFT_STEP))
            most = MAX_DRIFT_PPM * 1e-6
            self._drift = float(np.clip(self._drift + FOLLOW_RATE_GAIN * drift / tracker.hop,
                                        -most, most))
            self._warp.follow(self._n - self._lag, step=FOLLOW_GAIN * drift, rate=self._drift)
            self._moved(self._n)
        if slip is None:
            return
        self._fading = (applied, self._n, self._lag)
        self._take_slip(slip)
        # what was learned from the song heard after the slip, the song looked for where it
        # no longer was, is forgotten, and learned again before the next sample is cleaned
        rewound: set[int] = set()
        for path, m, snapshot, judged in self._recent_segments:
            if m + path.seg > slip.at and id(path) not in rewound:
                if not rewound:
                    self._rejudge(judged)
                rewound.add(id(path))
                path.rewind(snapshot)
        self._recent_segments.clear()

    def _take_slip(self, slip: Slip) -> None:
        """The song arrives ``slip.samples`` later from microphone sample ``slip.at`` on."""
        self.slips.append(slip)
        self._lag += slip.samples
        self._moved(slip.at)

    def _judged(self) -> Judged:
        """What the canceller has judged so far and learned of the count-in's clicks, for
        :meth:`_rejudge`."""
        return Judged(self._errors.copy(), self._own_db,
                      None if self._earlier is None else self._earlier.copy(), self._earlier_gain,
                      self._click_path.copy(), self._clicks_own)

    def _rejudge(self, judged: Judged) -> None:
        """Return to what :meth:`_judged` gave: judgements made on the song looked for where
        it no longer was are made again."""
        (self._errors, self._own_db, self._earlier, self._earlier_gain, self._click_path,
         self._clicks_own) = judged

    def _applied(self) -> tuple[np.ndarray, bool, np.ndarray]:
        """What the estimate is made with now: the song's response, whether the clicks take
        their own, and theirs (not while an earlier response that leaves less of them is
        applied, :meth:`_judge_clicks`)."""
        if not (self._earlier_applied or self._own_cancels):
            return np.zeros(self.taps, np.float32), False, self._click_path.h
        clicks_earlier = self._earlier_applied and self._earlier.clicks
        return self._h, self._clicks_own and not clicks_earlier, self._click_path.h

    @property
    def _own_cancels(self) -> bool:
        """Whether the take's own estimate is applied: until it is judged, and then while it
        leaves less of the microphone than no cancelling at all (:meth:`_judge_own`)."""
        return self._own_db <= 0.0

    def _judge_clicks(self) -> None:
        """Once an earlier response passed its check and the clicks' own response is learned:
        whether the earlier one, at its gain, leaves less of the count-in's microphone than
        theirs (their own judged on the very clicks it learned from, so the earlier one must
        do better still: a calibration's long response holds the room's tail, which the
        clicks' short one cannot)."""
        if (not self._earlier_applied or not self._click_path.fixed or self._clicks is None
                or not self._count_in):
            return
        y = np.concatenate(self._count_in)
        # the clicks where they were heard: before and after each slip found in the count-in
        cuts = sorted({0, y.size, *(s.at for s in self.slips if 0 < s.at < y.size)})
        pieces = [(a, b, self._lag - sum(s.samples for s in self.slips if s.at > a))
                  for a, b in itertools.pairwise(cuts)]

        def left(h: np.ndarray) -> float:
            return sum(float(np.sum((y[a:b] - _fir(self._clicks.samples(a - lag - (h.size - 1),
                                                                       b - lag), h)) ** 2))
                       for a, b, lag in pieces)

        self._earlier.clicks = left(self._earlier.h) < left(self._click_path.h)

    def _bleed_with(self, applied: tuple[np.ndarray, bool, np.ndarray], start: int,
                    stop: int, lag: int | None = None) -> np.ndarray:
        """The estimated bleed for microphone samples ``[start, stop)`` with what
        :meth:`_applied` gave (and the song arriving ``lag`` samples late, by default as
        it does now)."""
        h, clicks_own, h_clicks = applied
        lag = self._lag if lag is None else lag
        a = start - lag - (h.size - 1)
        b = stop - lag
        x = self._ref.samples(a, b)
        if self._clicks is None:
            return _fir(x, h)
        clicks = self._clicks.samples(a, b)
        if not clicks_own:
            return _fir(x + clicks, h)
        return _fir(x, h) + _fir(clicks[h.size - self.taps:], h_clicks)

    def _estimate(self, applied: tuple[np.ndarray, bool, np.ndarray], start: int, stop: int,
                  lag: int | None = None) -> np.ndarray:
        """What is subtracted from microphone samples ``[start, stop)``: the bleed
        :meth:`_bleed_with` gives, at the level followed (:meth:`_follow_level`)."""
        level = 1.0 if self._earlier is None else self._earlier.level
        return level * self._bleed_with(applied, start, stop, lag)

    def _clean(self, y: np.ndarray) -> np.ndarray:
        est = self.bleed(self._n, self._n + y.size)
        if self._fading is not None:  # from the estimate before the last change to this one
            before, at, lag = self._fading
            n_fade = int(round(FADE_S * self.sample_rate))
            k = min(y.size, at + n_fade - self._n)
            if k > 0:
                old = self._estimate(before, self._n, self._n + k, lag)
                w = 0.5 - 0.5 * np.cos(np.pi * (np.arange(self._n, self._n + k) - at) / n_fade)
                est[:k] = old + w.astype(np.float32) * (est[:k] - old)
            if at + n_fade <= self._n + y.size:
                self._fading = None
        out = y - est
        self._n += y.size
        self._acc += (float(np.dot(est, est)), float(np.dot(out, out)))
        self._acc_n += y.size
        if self._acc_n >= self._chunk:
            self._powers.append((self._acc[0] / self._acc_n, self._acc[1] / self._acc_n))
            self._acc[:] = 0.0
            self._acc_n = 0
        return out

    def _learn_due(self) -> None:
        """Learn from every segment the microphone has been heard to the end of (a change of
        the estimate is faded in from here)."""
        if all(self._n < p.next_seg + p.seg for p in (self._short, self._long)):
            return  # nothing due: most blocks
        before = self._applied()
        self._learn_segments()
        h, own, h_clicks = self._applied()
        slipped_here = self._fading is not None and self._fading[1] == self._n
        if not (slipped_here or (own == before[1] and np.array_equal(h, before[0])
                                 and np.array_equal(h_clicks, before[2]))):
            self._fading = (before, self._n, self._lag)

    def _learn_segments(self) -> None:
        while True:
            due = [p for p in (self._short, self._long) if self._n >= p.next_seg + p.seg]
            if not due:
                return
            self._learn(min(due, key=lambda p: p.next_seg + p.seg))

    def _segment(self, path: WelchResponse) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Microphone, song and clicks of the path's next segment (and move on by its hop)."""
        m = path.next_seg
        y = self._mic[m - self._mic_start:m - self._mic_start + path.seg]
        path.next_seg += path.hop
        return (y, *self._played(m, path.seg))

    def _played(self, m: int, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The song and the clicks heard in ``n`` microphone samples from ``m`` on."""
        a = m - self._lag
        return (self._ref.samples(a, a + n),
                None if self._clicks is None else self._clicks.samples(a, a + n))

    def _learn(self, path: WelchResponse) -> None:
        """Average one more segment's spectra into a path and update the responses."""
        m = path.next_seg
        self._recent_segments.append((path, m, path.snapshot(), self._judged()))
        y, x, c = self._segment(path)
        if self._straddles(m, path.seg):
            return  # heard partly before a slip and partly after: judged and learned from by none
        if path is self._short and self._earlier is not None and self._try_earlier(m, y):
            if self._straddles(m, path.seg):
                return
            x, c = self._played(m, path.seg)  # the capture had slipped: where they now lie
        if path is self._short:
            if c is not None and m + path.seg <= self._alone:
                self._learn_clicks(c, y)
            # the count-in's clicks are heard: their response is used from here, before the
            # song's first click (the next segment would end past the count-in)
            last = m + path.hop + path.seg > self._alone
            if last and self._click_path.heard and not self._click_path.fixed:
                self._click_path.fix()
                self._clicks_own = self._short.warm_s < WARMUP_S
                self._judge_clicks()
        if float(np.dot(x, x)) <= 1e-9 * path.seg:
            return
        spec_x = np.fft.rfft(x * path.window)
        spec_y = np.fft.rfft(y * path.window)
        spec_c = None if c is None else np.fft.rfft(c * path.window)
        if path is self._long:
            self._score(spec_x if spec_c is None else spec_x + spec_c, spec_y)
        elif path.warm_s >= WARMUP_S:
            self._judge_own(m, y)
            self._follow_level(m, spec_y)
        path.add(spec_x, spec_y, spec_c)
        if path.warm_s >= WARMUP_S:
            self._update()

    def _straddles(self, m: int, n: int) -> bool:
        """Whether microphone samples ``[m, m + n)`` were heard partly before a slip and
        partly after it."""
        return any(m < s.at < m + n for s in self.slips)

    def _try_earlier(self, m: int, y: np.ndarray) -> bool:
        """Judge an earlier take's response on one more short segment (microphone samples
        ``m`` on) before the take's own learns from it: while untried, what it and the best
        gain on it would leave of the microphone, over :data:`EARLIER_EVIDENCE_S` (then it
        is applied, or tried again where the count-in's clicks say the capture has slipped
        since, :meth:`_earlier_slip`, or dropped); once applied, whether the take's own
        leaves less (then the take's own takes over), over the last :data:`COMPARE_S`.
        Whether the capture had slipped."""
        seg, window, earlier = self._short.seg, self._short.window, self._earlier
        predicted = self._bleed_with((earlier.response, False, self._click_path.h), m, m + seg)
        if not earlier.applied:
            spec_p = np.fft.rfft(predicted * window)
            if not np.any(spec_p):
                return False
            seen_s = earlier.judge(spec_p, np.fft.rfft(y * window),
                                   self._short.hop / self.sample_rate)
            # judged once seen long enough, or before the song starts at the count-in's end
            count_in_ends = self._alone > 0 and m + self._short.hop + seg > self._alone
            if seen_s < EARLIER_EVIDENCE_S and not count_in_ends:
                return False
            gain, slip = earlier.fitted_gain(), None
            if gain is None:
                slip, gain = self._earlier_slip()
            if gain is None:
                self._earlier = None
                return False
            if slip is not None:
                self._take_slip(slip)
                # the clicks were learned where they no longer are: from here on again
                self._click_path.forget()
            earlier.gain = self._earlier_gain = gain
            self._judge_clicks()
            return slip is not None
        if self._short.warm_s < WARMUP_S:
            return False
        forget = float(np.exp(-self._short.hop / (COMPARE_S * self.sample_rate)))
        own = self._bleed_with((self._own_h, False, self._click_path.h), m, m + seg)
        left = [(y - est) * window for est in (earlier.level * earlier.gain * predicted, own)]
        if earlier.overtaken(*(float(np.dot(v, v)) for v in left), forget):
            self._earlier = None  # the take's own leaves less: it is applied from now on
        return False

    def _earlier_slip(self) -> tuple[Slip | None, float | None]:
        """Where, within :data:`~drumjam.analysis.slips.MAX_SLIP_S`, an earlier response
        that does not hold where the round trip puts it holds on the count-in heard so far:
        from the stream's start (a new capture's latency can differ by a buffer from the
        calibration's), else from a step in its last window (the capture slipped while the
        response was on trial, :meth:`~drumjam.analysis.slips.SlipTracker.check`). The slip
        and the gain, or (None, None) if nowhere."""
        if not self._count_in:
            return None, None
        y = np.concatenate(self._count_in).astype(np.float64)
        d = self._tracker.max_samples
        predicted = self._bleed_with((self._earlier.response, False, self._click_path.h), -d, y.size + d)

        def gain_after(at: int, shift: int) -> float | None:  # judged as a trial's segment
            return removing_gain(*in_band(np.fft.rfft(predicted[d - shift + at:d - shift + y.size]),
                                          np.fft.rfft(y[at:])))

        xc = correlate(predicted, y, mode="valid", method="fft")
        shift = d - int(np.argmax(xc))
        gain = None if abs(shift) < self._tracker.min_samples else gain_after(0, shift)
        if gain is not None:
            return Slip(0, shift), gain
        start = max(0, y.size - self._tracker.window)
        slip, _ = self._tracker.check(y[start:], predicted[start:y.size + 2 * d], start=start)
        gain = None if slip is None else gain_after(slip.at, slip.samples)
        return (None, None) if gain is None else (slip, gain)

    def _judge_own(self, m: int, y: np.ndarray) -> None:
        """What the take's own estimate leaves of one more short segment (microphone samples
        ``m`` on) before the response learns from it, against no cancelling at all, in dB,
        summed over the last :data:`COMPARE_S`. The estimate is applied only while that sum
        is not above 0: a microphone that does not hear the speakers (headphones) makes the
        response a fit of the drums to the song, and subtracting it would add the song's
        attacks. Each segment counts by its ratio, not its energy, as the transcription hears
        levels: a bar the drummer rests counts as much as a loud one."""
        seg, window = self._short.seg, self._short.window
        own = self._bleed_with((self._own_h, self._clicks_own, self._click_path.h), m, m + seg)
        left, heard = (float(np.dot(v, v)) + self._short.silence
                       for v in ((y - own) * window, y * window))
        forget = float(np.exp(-self._short.hop / (COMPARE_S * self.sample_rate)))
        self._own_db = forget * self._own_db + 10.0 * np.log10(left / heard)

    def _follow_level(self, m: int, spec_y: np.ndarray) -> None:
        """Judge the estimate's level on one more short segment (microphone samples ``m``
        on, ``spec_y`` its windowed spectrum) before the response learns from it, while an
        earlier response is applied
        (:meth:`~drumjam.analysis.earlierresponse.EarlierResponse.follow_level`)."""
        if not self._earlier_applied:
            return  # the take's own response finds the song's level as it learns
        predicted = self._bleed_with(self._applied(), m, m + self._short.seg)
        spec_p = np.fft.rfft(predicted * self._short.window)
        if np.any(spec_p):
            self._earlier.follow_level(spec_p, spec_y, hop=self._short.hop,
                                       sample_rate=self.sample_rate)

    def _score(self, spec_x: np.ndarray, spec_y: np.ndarray) -> None:
        """What each length's response leaves of a long segment before the long one learns
        from it (once it is learned at all; averaged over the last :data:`COMPARE_S`)."""
        if self._long.warm_s < WARMUP_S:
            return
        seg = self._long.seg
        forget = float(np.exp(-self._long.hop / (COMPARE_S * self.sample_rate)))
        for k, h in enumerate((self._short.h, self._long.h)):
            left = spec_y - np.fft.rfft(h, seg) * spec_x
            self._errors[k] = forget * self._errors[k] + float(np.sum(np.abs(left) ** 2))

    def _update(self) -> None:
        """The clicks' path after a response changed: their own response from the count-in
        while it agrees with the song's short one, else the song's."""
        self._clicks_own = self._click_path.fixed and (self._short.warm_s < WARMUP_S
                                                       or self._click_path.agrees(self._short))

    def learned(self) -> LearnedPath:
        """What this canceller has learned, for a later stream of the same set-up."""
        return LearnedPath(self.sample_rate, self._round_trip_s,
                           tuple(a.copy() for a in (*self._short.spectra,
                                                    self._click_path.power)),
                           self._short.weights, self._click_path.response().copy(),
                           tuple(a.copy() for a in self._long.spectra), self._long.weights,
                           (float(self._errors[0]), float(self._errors[1])),
                           float(self._own_db),
                           None if self._earlier is None else self._earlier.copy())

    def _learn_clicks(self, x: np.ndarray, y: np.ndarray) -> None:
        """Average one more segment of the clicks heard alone (their response is used once
        the count-in is over)."""
        if float(np.dot(x, x)) <= 1e-9 * self._short.seg:
            return
        window = self._short.window
        self._click_path.add(np.fft.rfft(x * window), np.fft.rfft(y * window))

    def report(self) -> BleedReport:
        """How loud the song was and how clean the microphone is, over the last 30 s."""
        earlier_db = (None if self._earlier_gain is None
                      else float(20 * np.log10(self._earlier_gain)))
        slip_ms = 1000.0 * self.slipped(self._n) / self.sample_rate
        if not self._powers:
            return BleedReport(None, None, False, earlier_db, slip_ms)
        p = np.asarray(self._powers)
        floor = float(np.median(p[:, 1])) + 1e-20
        peaks = float(np.percentile(p[:, 1], 95)) + 1e-20
        song = float(np.median(p[:, 0]))
        bleed_db = None if song <= 0.0 else float(10 * np.log10(song / floor))
        residual_db = float(10 * np.log10(floor / peaks))
        too_strong = bleed_db is not None and bleed_db > 0.0 and residual_db > TOO_STRONG_DB
        return BleedReport(bleed_db, residual_db, bool(too_strong), earlier_db, slip_ms)


def _shifted(h: np.ndarray, moved: int) -> np.ndarray:
    """A response indexed from a lag ``moved`` samples later (earlier if negative)."""
    if moved == 0:
        return h
    out = np.zeros_like(h)
    if moved > 0:
        out[:h.size - moved] = h[moved:]
    else:
        out[-moved:] = h[:h.size + moved]
    return out


def learn_from_calibration(played: np.ndarray, recorded: np.ndarray, *, sample_rate: int,
                           round_trip_s: float) -> LearnedPath:
    """The way from the speakers to the microphone as a calibration by ear heard it.

    The calibration's noise bursts (:func:`drumjam.analysis.roundtrip.calibration_clicks`)
    sound across the spectrum in a quiet room, so the room's response is learned from them as
    a canceller learns it from a song (their own path: the round trip measured on them). A
    player's first take tries the response it applies (:meth:`LearnedPath.applied`, ``earlier``
    of :class:`BleedCanceller`): the song is cancelled from its first note if the count-in's
    clicks confirm it.

    Parameters
    ----------
    played : numpy.ndarray
        The calibration signal as played.
    recorded : numpy.ndarray
        The microphone from the signal's first sample on (at least as long).
    sample_rate : int
        Of both, in Hz.
    round_trip_s : float
        The round trip measured on them.

    Returns
    -------
    LearnedPath
    """
    canceller = BleedCanceller(np.asarray(played, np.float32), sample_rate=sample_rate,
                               round_trip_s=round_trip_s)
    canceller.process(np.asarray(recorded, np.float32))
    return canceller.learned()


def _slice(x: np.ndarray, a: int, b: int) -> np.ndarray:
    """``x[a:b]`` with zeros outside ``x``."""
    out = np.zeros(b - a, np.float32)
    lo, hi = max(a, 0), min(b, x.size)
    if hi > lo:
        out[lo - a:hi - a] = x[lo:hi]
    return out


def _fir(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The 'valid' part of ``x`` filtered by ``h`` (len(x) - len(h) + 1 samples), by FFT."""
    n_out = x.size - h.size + 1
    if not np.any(h):
        return np.zeros(n_out, np.float32)
    size = 1 << int(np.ceil(np.log2(x.size)))
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)
    return y[h.size - 1:x.size].astype(np.float32)
