"""Scoring settings and judgments."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drumjam.errors import InputError


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
    ghost_ratio : float
        A hit softer than ``ghost_ratio`` x the median velocity of its voice is a ghost note.
    accent_ratio : float
        A hit louder than ``accent_ratio`` x the median velocity of its voice is an accent.
    """

    perfect_ms: float = 20.0
    great_ms: float = 45.0
    good_ms: float = 90.0
    tempo_aware: bool = True
    strict_voices: bool = False
    ghost_ratio: float = 0.6
    accent_ratio: float = 1.2

    def __post_init__(self) -> None:
        if not 0 < self.perfect_ms <= self.great_ms <= self.good_ms <= 1000:
            raise InputError(
                "timing windows must satisfy 0 < perfect_ms <= great_ms <= good_ms <= 1000, got "
                f"{self.perfect_ms}, {self.great_ms}, {self.good_ms}"
            )
        if not 0 < self.ghost_ratio < 1 < self.accent_ratio:
            raise InputError(
                f"need 0 < ghost_ratio < 1 < accent_ratio, got {self.ghost_ratio}, {self.accent_ratio}"
            )

    def judge(self, abs_offset_ms: float) -> Judgment:
        """The judgment of a matched hit from its absolute offset in ms."""
        if abs_offset_ms <= self.perfect_ms:
            return Judgment.PERFECT
        if abs_offset_ms <= self.great_ms:
            return Judgment.GREAT
        return Judgment.GOOD
