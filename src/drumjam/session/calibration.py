"""Latency calibration: how late a player's taps land on a click they hear.

The taps are scored against the clicks with :func:`drumjam.scoring.score_take` (wide windows,
since an uncalibrated setup can be 200 ms late); the latency is the median offset of the
matched taps, so a few stray taps do not move it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from drumjam.errors import InputError
from drumjam.model import BeatMap, Chart, Hit, Note, Take, Voice, validate_times_s
from drumjam.scoring import ScoringConfig, score_take

MIN_MATCHED_TAPS = 4
CALIBRATION_WINDOWS = ScoringConfig(perfect_ms=20.0, great_ms=45.0, good_ms=250.0)


@dataclass(frozen=True)
class Calibration:
    """A latency measurement: median offset (ms), its spread (ms), taps used."""

    latency_ms: float
    spread_ms: float
    matched: int
    taps: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"latency_ms": round(self.latency_ms, 1), "spread_ms": round(self.spread_ms, 1),
                "matched": self.matched, "taps": self.taps}


def measure_latency(clicks_s: Sequence[float], taps_s: Sequence[float]) -> Calibration:
    """Measure latency from the clicks a player heard and the taps they played.

    Parameters
    ----------
    clicks_s : sequence of float
        Click times in seconds (at least four, increasing).
    taps_s : sequence of float
        Tap times in seconds on the same clock.

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        If fewer than four taps land near a click.
    """
    clicks = validate_times_s(clicks_s, "click times")
    taps = np.sort(validate_times_s(taps_s, "tap times"))
    if clicks.size < 4 or np.any(np.diff(clicks) <= 0):
        raise InputError("calibration needs at least four increasing click times")
    beatmap = BeatMap.from_beats(clicks, meter=4)
    chart = Chart(tuple(Note(t, Voice.SNARE) for t in clicks), beatmap, title="calibration")
    take = Take(tuple(Hit(t, Voice.SNARE) for t in taps), player="calibration", beatmap=beatmap)
    offsets = score_take(take, chart, config=CALIBRATION_WINDOWS).offsets_ms() if taps.size else []
    if len(offsets) < MIN_MATCHED_TAPS:
        raise InputError(
            f"only {len(offsets)} of {taps.size} taps landed near a click; tap along with every "
            f"click (at least {MIN_MATCHED_TAPS}) and try again")
    median = float(np.median(offsets))
    spread = float(np.median(np.abs(np.asarray(offsets) - median)))
    return Calibration(median, spread, len(offsets), int(taps.size))
