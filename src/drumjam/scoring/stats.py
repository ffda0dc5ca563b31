"""Timing and dynamics statistics of matched hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from drumjam.model.dynamics import dynamic_marks
from drumjam.scoring.config import Judgment, ScoringConfig

#: Weight of each judgment in the accuracy percentage.
JUDGMENT_WEIGHT = {Judgment.PERFECT: 1.0, Judgment.GREAT: 0.75, Judgment.GOOD: 0.4}


@dataclass(frozen=True)
class TimingStats:
    """Statistics of a take or of one voice of it.

    Attributes
    ----------
    matched, missed, extra : int
        Hits that met a note, notes nobody played, hits that met no note.
    perfect, great, good : int
        Matched hits per judgment.
    accuracy_pct : float
        Judgment-weighted share of matched hits among all notes and extra hits (0-100).
    mean_offset_ms : float or None
        Mean signed offset: positive drags (late), negative rushes (early).
    sd_offset_ms : float or None
        Standard deviation of the offsets (timing consistency).
    median_abs_offset_ms : float or None
        Median absolute offset.
    drift_ms_per_bar : float or None
        Trend of the offset over time: positive = falling behind the song bar by bar.
    velocity_mean, velocity_cv : float or None
        Mean velocity and its coefficient of variation among the hits that are neither accents
        nor ghost notes (lower = more even dynamics).
    accents, ghost_notes : int
        Hits clearly louder / softer than the voice's usual velocity.
    velocity_corr : float or None
        Correlation of played and charted velocities (how well the dynamics follow the chart).
    """

    matched: int = 0
    missed: int = 0
    extra: int = 0
    perfect: int = 0
    great: int = 0
    good: int = 0
    accuracy_pct: float = 0.0
    mean_offset_ms: float | None = None
    sd_offset_ms: float | None = None
    median_abs_offset_ms: float | None = None
    drift_ms_per_bar: float | None = None
    velocity_mean: float | None = None
    velocity_cv: float | None = None
    accents: int = 0
    ghost_notes: int = 0
    velocity_corr: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, rounded to 0.01."""
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def dynamics(velocities: np.ndarray, config: ScoringConfig) -> tuple[np.ndarray, np.ndarray]:
    """Masks of accents and ghost notes among hits of one voice
    (:func:`drumjam.model.dynamics.dynamic_marks`)."""
    return dynamic_marks(velocities, config.ghost_fraction, config.accent_fraction)


def timing_stats(
    offsets_ms: np.ndarray,
    bars: np.ndarray,
    judgments: list[Judgment],
    played_velocities: np.ndarray,
    chart_velocities: np.ndarray,
    n_missed: int,
    n_extra: int,
    all_velocities: np.ndarray,
    accents: np.ndarray,
    ghosts: np.ndarray,
) -> TimingStats:
    """Statistics of one set of hits.

    Parameters
    ----------
    offsets_ms : numpy.ndarray
        Signed offsets of the matched hits.
    bars : numpy.ndarray
        Bar position (bars, float) of each matched hit's target, for the drift.
    judgments : list of Judgment
        Judgment of each matched hit.
    played_velocities, chart_velocities : numpy.ndarray
        Velocity played and velocity charted (0 where none) of each matched hit.
    n_missed, n_extra : int
        Notes nobody played; hits that met no note.
    all_velocities : numpy.ndarray
        Velocities of every hit of the set, matched or extra.
    accents, ghosts : numpy.ndarray
        Which of those hits are accents / ghost notes (see :func:`dynamics`, per voice).
    """
    n = offsets_ms.size
    counts = {j: 0 for j in (Judgment.PERFECT, Judgment.GREAT, Judgment.GOOD)}
    for j in judgments:
        counts[j] += 1
    denom = n + n_missed + n_extra
    accuracy = 100.0 * sum(JUDGMENT_WEIGHT[j] * c for j, c in counts.items()) / denom if denom else 0.0
    plain = all_velocities[~accents & ~ghosts].astype(float)
    velocity_mean = float(plain.mean()) if plain.size else None
    velocity_cv = float(plain.std() / plain.mean()) if plain.size > 1 and plain.mean() > 0 else None
    corr = None
    played = played_velocities.astype(float)
    charted = chart_velocities.astype(float)
    if n > 2 and np.ptp(charted) > 0 and np.ptp(played) > 0:
        corr = float(np.corrcoef(played, charted)[0, 1])
    drift = None
    if n >= 4 and np.ptp(bars) >= 1.0:
        drift = float(np.polyfit(bars, offsets_ms, 1)[0])
    return TimingStats(
        matched=int(n),
        missed=int(n_missed),
        extra=int(n_extra),
        perfect=counts[Judgment.PERFECT],
        great=counts[Judgment.GREAT],
        good=counts[Judgment.GOOD],
        accuracy_pct=float(accuracy),
        mean_offset_ms=float(offsets_ms.mean()) if n else None,
        sd_offset_ms=float(offsets_ms.std(ddof=1)) if n > 1 else None,
        median_abs_offset_ms=float(np.median(np.abs(offsets_ms))) if n else None,
        drift_ms_per_bar=drift,
        velocity_mean=velocity_mean,
        velocity_cv=velocity_cv,
        accents=int(accents.sum()),
        ghost_notes=int(ghosts.sum()),
        velocity_corr=corr,
    )
