"""Grids a groove can sit on: straight 16ths, eighth-note triplets, swung eighths.

Positions are in beats. A grid has *written* positions (what the notation shows: k/4, k/3 or
k/2 of a beat) and *played* positions (where the click says the note falls: for swung eighths
the written off-beat 1/2 is played at ``r / (1 + r)`` of the beat, ``r`` the swing ratio).
"""

from __future__ import annotations

from enum import StrEnum
from fractions import Fraction

import numpy as np

from drumjam.errors import InputError

#: A swing ratio below this counts as straight (1.2:1 is the lightest swing drummers name).
MIN_SWING_RATIO = 1.2
#: Off-beat window (fraction of the beat) in which swung or straight eighths are looked for.
OFFBEAT_WINDOW = (0.42, 0.85)


class GridKind(StrEnum):
    """The grid a pattern is written on."""

    SIXTEENTHS = "16th"
    TRIPLETS = "triplet"
    SWUNG_EIGHTHS = "swing8"


STEPS_PER_BEAT = {GridKind.SIXTEENTHS: 4, GridKind.TRIPLETS: 3, GridKind.SWUNG_EIGHTHS: 2}


def swing_position(swing_ratio: float) -> float:
    """Where the off-beat eighth falls, as a fraction of the beat, for a swing ratio."""
    if not 0.5 <= swing_ratio <= 4.0:
        raise InputError(f"swing ratio {swing_ratio} is out of range; use 1.0 (straight) to 4.0")
    return swing_ratio / (1.0 + swing_ratio)


def played_offsets(kind: GridKind, swing_ratio: float = 1.0) -> np.ndarray:
    """Played positions of the grid within one beat (fractions of the beat)."""
    if kind is GridKind.SWUNG_EIGHTHS:
        return np.array([0.0, swing_position(swing_ratio)])
    steps = STEPS_PER_BEAT[kind]
    return np.arange(steps) / steps


def snap(
    beats: np.ndarray, kind: GridKind, swing_ratio: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Snap beat positions to a grid.

    Parameters
    ----------
    beats : numpy.ndarray
        Positions in beats.
    kind : GridKind
        The grid.
    swing_ratio : float
        Long-to-short ratio of swung eighths (only for ``GridKind.SWUNG_EIGHTHS``).

    Returns
    -------
    steps : numpy.ndarray of int
        Grid step of each position (``steps / STEPS_PER_BEAT[kind]`` is the written beat).
    played_beats : numpy.ndarray
        Played position of that step in beats.
    """
    beats = np.asarray(beats, dtype=np.float64)
    offsets = played_offsets(kind, swing_ratio)
    whole = np.floor(beats)
    frac = beats - whole
    candidates = np.concatenate([offsets, [1.0]])
    nearest = np.argmin(np.abs(frac[:, None] - candidates[None, :]), axis=1)
    n = offsets.size
    steps = (whole.astype(np.int64) * n + nearest).astype(np.int64)
    played = whole + candidates[nearest]
    return steps, played


def played_beat(written: Fraction | float, kind: GridKind, swing_ratio: float = 1.0) -> float:
    """Where a written position is played (swung off-beats move, everything else stays)."""
    value = float(written)
    if kind is not GridKind.SWUNG_EIGHTHS:
        return value
    whole = np.floor(value + 1e-9)
    frac = value - whole
    if abs(frac - 0.5) < 1e-9:
        return float(whole + swing_position(swing_ratio))
    return value


def measure_swing_ratio(fractions: np.ndarray) -> float | None:
    """The swing ratio from the positions (fractions of a beat) of off-beat eighths.

    The median position ``p`` of the notes in the off-beat window gives ``p / (1 - p)``: 1.0 is
    straight, 2.0 the triplet shuffle. ``None`` when no note falls in the window.
    """
    frac = np.asarray(fractions, dtype=np.float64)
    inside = frac[(frac > OFFBEAT_WINDOW[0]) & (frac < OFFBEAT_WINDOW[1])]
    if inside.size == 0:
        return None
    p = float(np.median(inside))
    return p / (1.0 - p)


def mean_residual_beats(beats: np.ndarray, kind: GridKind, swing_ratio: float = 1.0) -> float:
    """Mean distance in beats from each position to its nearest grid point."""
    if np.asarray(beats).size == 0:
        return 0.0
    _, played = snap(beats, kind, swing_ratio)
    return float(np.mean(np.abs(np.asarray(beats) - played)))


def chance_residual_beats(kind: GridKind, swing_ratio: float = 1.0) -> float:
    """Mean distance to the grid of positions spread evenly over the beat (pure chance).

    Within a gap ``g`` between two grid points the mean distance is ``g / 4``, so the whole
    beat gives ``sum(g ** 2) / 4``. Dividing a residual by this stops a denser grid from
    winning only because it has more points.
    """
    points = np.concatenate([played_offsets(kind, swing_ratio), [1.0]])
    return float(np.sum(np.diff(points) ** 2) / 4.0)


def swing_ratio_of_pairs(beats: np.ndarray, min_pairs: int = 4) -> float | None:
    """The swing ratio of a time-keeping voice from its eighth-note pairs.

    For every beat ``k`` where the voice has a note on the beat (within 0.15 beat), one in the
    off-beat window and one on beat ``k + 1``, the long-to-short ratio is
    ``(off - on) / (next - off)``; the median over those beats is returned, or None when fewer
    than ``min_pairs`` beats have such a pair.
    """
    pos = np.sort(np.asarray(beats, dtype=np.float64))
    if pos.size < 3:
        return None
    ratios = []
    for k in np.unique(np.round(pos)):
        on = pos[np.abs(pos - k) < 0.15]
        nxt = pos[np.abs(pos - (k + 1)) < 0.15]
        off = pos[(pos > k + OFFBEAT_WINDOW[0]) & (pos < k + OFFBEAT_WINDOW[1])]
        if on.size and nxt.size and off.size:
            ratios.append((off[0] - on[0]) / (nxt[0] - off[0]))
    return float(np.median(ratios)) if len(ratios) >= min_pairs else None


def choose_grid(beats: np.ndarray, timekeeping_beats: np.ndarray) -> tuple[GridKind, float]:
    """Pick the grid that fits a performance best and measure its swing.

    Parameters
    ----------
    beats : numpy.ndarray
        Positions in beats of every hit (global phase already removed).
    timekeeping_beats : numpy.ndarray
        Positions of the time-keeping voice (hi-hat or ride), where the swing is measured.

    Returns
    -------
    kind : GridKind
        Straight 16ths, triplets or swung eighths: the one whose mean residual is the smallest
        fraction of what chance would leave (:func:`chance_residual_beats`); a simpler grid
        wins near-ties (within 10 %), in the order 16ths, swung eighths, triplets.
    swing_ratio : float
        Long-to-short ratio of the time-keeper's eighths (:func:`swing_ratio_of_pairs`, else
        from the median off-beat position); about 1.0 when straight.
    """
    source = timekeeping_beats if np.asarray(timekeeping_beats).size else beats
    ratio = swing_ratio_of_pairs(source) or measure_swing_ratio(np.mod(source, 1.0)) or 1.0
    ratio = float(np.clip(ratio, 0.5, 4.0))
    kinds = [GridKind.SIXTEENTHS, GridKind.TRIPLETS]
    if ratio >= MIN_SWING_RATIO:
        kinds.append(GridKind.SWUNG_EIGHTHS)
    fit = {k: mean_residual_beats(beats, k, ratio) / chance_residual_beats(k, ratio) for k in kinds}
    best = min(fit.values())
    chosen = next(
        k
        for k in (GridKind.SIXTEENTHS, GridKind.SWUNG_EIGHTHS, GridKind.TRIPLETS)
        if k in fit and fit[k] <= best * 1.1 + 1e-9
    )
    return chosen, round(ratio, 3)
