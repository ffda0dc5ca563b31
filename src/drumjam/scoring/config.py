"""Scoring settings and judgments."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from drumjam.errors import InputError
from drumjam.model.dynamics import ACCENT_FRACTION, GHOST_FRACTION


class Judgment(StrEnum):
    """How a hit (or a note nobody played) is judged."""

    PERFECT = "perfect"
    GREAT = "great"
    GOOD = "good"
    MISS = "miss"  # a note that no hit matched
    EXTRA = "extra"  # a hit that matched no note


@dataclass(frozen=True)
class ScoringConfig:
    """Timing windows and matching rules.

    Parameters
    ----------
    perfect_ms : float
        ``|offset| <= perfect_ms`` is perfect. Default 20 ms: what a drummer hears as "on it".
    great_ms : float
        ``|offset| <= great_ms`` is great. Default 45 ms.
    good_ms : float
        The matching window: a hit further than this from every note of its group is extra.
        Default 90 ms.
    tempo_aware : bool
        If True (default), a note's window never reaches past half the gap to the neighbouring
        note of the same voice group, so fast passages are judged fairly and every hit can
        belong to at most one note.
    strict_voices : bool
        If True, a hit only matches a note of the very same voice (an open hi-hat does not
        count for a closed one). Default False: any voice of the group matches.
    ghost_fraction : float
        A hit softer than this fraction of its voice's full strokes (90th-percentile velocity)
        is a ghost note (see :mod:`drumjam.model.dynamics`).
    accent_fraction : float
        A hit at least this fraction of its voice's full strokes, and clearly above the
        voice's median, is an accent.
    """

    perfect_ms: float = 20.0
    great_ms: float = 45.0
    good_ms: float = 90.0
    tempo_aware: bool = True
    strict_voices: bool = False
    ghost_fraction: float = GHOST_FRACTION
    accent_fraction: float = ACCENT_FRACTION

    def __post_init__(self) -> None:
        for name in ("perfect_ms", "great_ms", "good_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                                  np.floating)):
                raise InputError(f"{name} {value!r} is not a number of ms")
        if not 0 < self.perfect_ms <= self.great_ms <= self.good_ms <= 1000:
            raise InputError(
                "timing windows must satisfy 0 < perfect_ms <= great_ms <= good_ms <= 1000, got "
                f"{self.perfect_ms}, {self.great_ms}, {self.good_ms}"
            )
        if not 0 < self.ghost_fraction < self.accent_fraction <= 1:
            raise InputError(
                "need 0 < ghost_fraction < accent_fraction <= 1, got "
                f"{self.ghost_fraction}, {self.accent_fraction}"
            )

    def judge(self, abs_offset_ms: float) -> Judgment:
        """The judgment of a matched hit from its absolute offset in ms."""
        if abs_offset_ms <= self.perfect_ms:
            return Judgment.PERFECT
        if abs_offset_ms <= self.great_ms:
            return Judgment.GREAT
        return Judgment.GOOD
