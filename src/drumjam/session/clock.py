"""One clock for two players: an NTP-style estimate of a client's offset to the server clock.

A client sends a ping stamped with its own clock (``t0``); the server stamps arrival (``t1``)
and departure (``t2``) on its clock; the client stamps the reply's arrival (``t3``). Then

    offset = ((t1 - t0) + (t2 - t3)) / 2      (server minus client)
    delay  = (t3 - t0) - (t2 - t1)            (round trip spent on the network)

and the offset's error is at most ``delay / 2``: the fastest round trips carry the best
offsets. The estimator keeps a window of recent samples, keeps the fastest of them, and fits
offset against client time with a Theil-Sen line (median of pairwise slopes), so that a slow
drift of one clock against the other is tracked while the odd stalled round trip is ignored.

A clock that steps (a computer that slept, an audio clock that was suspended) is followed as
soon as :data:`STEP_CONFIRM` round trips in a row contradict the estimate (see
:data:`STEP_MIN_S`): the samples from before the step are dropped.

The browser client (``web/static/room/clock.js``) runs the same algorithm with the same
constants; all times here are seconds.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from statistics import median

from drumjam.errors import InputError

#: Samples kept (the newest ones).
WINDOW = 128
#: Share of the window kept as "fast" samples (the lowest round-trip times).
FAST_FRACTION = 0.5
#: The fastest samples must span at least this long before a drift is fitted.
MIN_DRIFT_SPAN_S = 10.0
#: A fitted drift is kept only if it moves the offset across the window by this many times the
#: scatter (median absolute deviation) of the fast samples.
DRIFT_SIGNIFICANCE = 2.0
#: Drifts beyond this (500 ppm) are treated as noise, not as a clock running fast.
MAX_DRIFT = 5e-4
#: A round trip whose offset lies further from the estimate than its own delay plus the
#: estimate's fastest round trip plus this cannot come from the same two clocks (a trip's
#: offset is within half its delay of the truth): it says a clock stepped.
STEP_MIN_S = 0.05
#: This many such round trips in a row, on the same side, and the samples before them are
#: dropped: the estimate follows a clock that jumped (a computer that slept, an audio clock
#: suspended) at once, instead of after half a window of pings.
STEP_CONFIRM = 3


@dataclass(frozen=True, slots=True)
class ClockSample:
    """One ping round trip, in seconds.

    Parameters
    ----------
    local_s : float
        Client time at the middle of the round trip.
    offset_s : float
        Server clock minus client clock measured by this round trip.
    delay_s : float
        Time the round trip spent on the network (server hold time removed).
    """

    local_s: float
    offset_s: float
    delay_s: float


def make_sample(t0_s: float, t1_s: float, t2_s: float, t3_s: float) -> ClockSample:
    """Turn the four timestamps of a ping round trip into a :class:`ClockSample`.

    Parameters
    ----------
    t0_s, t3_s : float
        Client clock when the ping left and when the reply arrived.
    t1_s, t2_s : float
        Server clock when the ping arrived and when the reply left.

    Returns
    -------
    ClockSample

    Raises
    ------
    InputError
        If a timestamp is not finite or the reply came back before the ping left.
    """
    stamps = (t0_s, t1_s, t2_s, t3_s)
    if not all(math.isfinite(t) for t in stamps):
        raise InputError(f"ping timestamps must be finite seconds, got {stamps}")
    if t3_s < t0_s or t2_s < t1_s:
        raise InputError(
            f"ping timestamps out of order (t0={t0_s}, t1={t1_s}, t2={t2_s}, t3={t3_s}): "
            "each clock must read later at the second stamp"
        )
    offset = ((t1_s - t0_s) + (t2_s - t3_s)) / 2.0
    delay = max(0.0, (t3_s - t0_s) - (t2_s - t1_s))
    return ClockSample(local_s=(t0_s + t3_s) / 2.0, offset_s=offset, delay_s=delay)


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """The current view of the server clock from a client.

    Parameters
    ----------
    offset_s : float
        Server minus client at ``ref_local_s``.
    drift : float
        Seconds the offset grows per second of client time (0 until enough data).
    ref_local_s : float
        Client time the offset refers to.
    rtt_s : float
        Fastest network round trip in the window.
    spread_s : float
        Scatter of the fast samples around the fitted line (median absolute deviation):
        how far one can trust the estimate.
    samples : int
        Samples in the window.
    """

    offset_s: float
    drift: float
    ref_local_s: float
    rtt_s: float
    spread_s: float
    samples: int

    def offset_at(self, local_s: float) -> float:
        """Server minus client at client time ``local_s``."""
        return self.offset_s + self.drift * (local_s - self.ref_local_s)

    def to_server(self, local_s: float) -> float:
        """Client time -> server time."""
        return local_s + self.offset_at(local_s)

    def to_local(self, server_s: float) -> float:
        """Server time -> client time."""
        guess = server_s - self.offset_s
        # offset_at depends (weakly) on local time: one fixed-point step is exact to 1e-7 s.
        return server_s - self.offset_at(guess)

    @property
    def quality(self) -> str:
        """``"good"`` (spread under 1 ms), ``"fair"`` (under 5 ms) or ``"poor"``."""
        if self.spread_s < 1e-3:
            return "good"
        return "fair" if self.spread_s < 5e-3 else "poor"

    def to_dict(self) -> dict[str, float | int | str]:
        """JSON-ready summary in milliseconds."""
        return {
            "offset_ms": self.offset_s * 1e3,
            "drift_ppm": self.drift * 1e6,
            "rtt_ms": self.rtt_s * 1e3,
            "spread_ms": self.spread_s * 1e3,
            "samples": self.samples,
            "quality": self.quality,
        }


def _theil_sen(xs: list[float], ys: list[float]) -> float:
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    ]
    return median(slopes) if slopes else 0.0


def estimate(samples: list[ClockSample]) -> ClockEstimate:
    """Estimate offset and drift from round-trip samples.

    Parameters
    ----------
    samples : list of ClockSample
        At least one, any order.

    Returns
    -------
    ClockEstimate

    Raises
    ------
    InputError
        If ``samples`` is empty.
    """
    if not samples:
        raise InputError("no clock samples yet: send at least one ping before estimating")
    n_fast = max(1, math.ceil(len(samples) * FAST_FRACTION))
    fast = sorted(samples, key=lambda s: s.delay_s)[:n_fast]
    fast.sort(key=lambda s: s.local_s)
    xs = [s.local_s for s in fast]
    ys = [s.offset_s for s in fast]
    ref = xs[-1]
    drift = 0.0
    span = xs[-1] - xs[0]
    if len(fast) >= 4 and span >= MIN_DRIFT_SPAN_S:
        drift = _theil_sen(xs, ys)
        line = [y - drift * x for x, y in zip(xs, ys)]
        centre = median(line)
        scatter = median(abs(r - centre) for r in line)
        # keep a drift only where it moves the offset clearly more than the scatter does
        if abs(drift) > MAX_DRIFT or abs(drift) * span < DRIFT_SIGNIFICANCE * scatter:
            drift = 0.0
    residual_at_ref = [y - drift * (x - ref) for x, y in zip(xs, ys)]
    offset = median(residual_at_ref)
    spread = median(abs(r - offset) for r in residual_at_ref)
    return ClockEstimate(
        offset_s=offset,
        drift=drift,
        ref_local_s=ref,
        rtt_s=min(s.delay_s for s in fast),
        spread_s=spread,
        samples=len(samples),
    )


def step_side(est: ClockEstimate, sample: ClockSample) -> int:
    """+1 or -1 if ``sample`` says the clock stepped ahead of or behind ``est`` (its offset
    further from the estimate than its delay, the estimate's round trip and
    :data:`STEP_MIN_S` together), else 0."""
    residual = sample.offset_s - est.offset_at(sample.local_s)
    if abs(residual) <= sample.delay_s + est.rtt_s + STEP_MIN_S:
        return 0
    return 1 if residual > 0 else -1


class ClockSync:
    """A client's running clock estimate: feed it round trips, ask it for server time.

    Parameters
    ----------
    window : int
        Newest samples kept.
    """

    def __init__(self, window: int = WINDOW) -> None:
        if window < 1:
            raise InputError(f"clock window must hold at least 1 sample, got {window}")
        self._samples: deque[ClockSample] = deque(maxlen=window)
        self._estimate: ClockEstimate | None = None
        self._stepped: list[ClockSample] = []  # the latest round trips that say it stepped
        self._step_side = 0

    def add(self, t0_s: float, t1_s: float, t2_s: float, t3_s: float) -> ClockEstimate:
        """Add one round trip (see :func:`make_sample`) and return the new estimate; after
        :data:`STEP_CONFIRM` round trips that say a clock stepped, only they are kept."""
        sample = make_sample(t0_s, t1_s, t2_s, t3_s)
        side = 0 if self._estimate is None else step_side(self._estimate, sample)
        if side != self._step_side:
            self._stepped = []
        self._step_side = side
        if side:
            self._stepped.append(sample)
        if len(self._stepped) >= STEP_CONFIRM:  # the clock stepped: only these are kept
            self._samples.clear()
            self._samples.extend(self._stepped)
            self._stepped, self._step_side = [], 0
        else:
            self._samples.append(sample)
        self._estimate = estimate(list(self._samples))
        return self._estimate

    @property
    def estimate(self) -> ClockEstimate | None:
        """The latest estimate, or None before the first round trip."""
        return self._estimate

    def to_server(self, local_s: float) -> float:
        """Client time -> server time.

        Raises
        ------
        InputError
            Before the first round trip.
        """
        if self._estimate is None:
            raise InputError("the clock is not synchronised yet: wait for the first ping reply")
        return self._estimate.to_server(local_s)
