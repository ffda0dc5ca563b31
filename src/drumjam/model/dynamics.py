"""Accents and ghost notes: one definition for scoring, reports and lessons.

Loudness is judged within one voice (or voice group) against its *full strokes*, the
90th-percentile velocity: a note softer than :data:`GHOST_FRACTION` of them is a ghost note; a
note at least :data:`ACCENT_FRACTION` of them and clearly above the voice's median
(:data:`ACCENT_OVER_MEDIAN`) is an accent, so a voice played evenly has no accents, and a snare
with many ghost notes still has them counted as ghosts.
"""

from __future__ import annotations

import numpy as np

GHOST_FRACTION = 0.55
ACCENT_FRACTION = 0.9
ACCENT_OVER_MEDIAN = 1.1
FULL_STROKE_PERCENTILE = 90.0


def loudness_reference(velocities: np.ndarray) -> tuple[float, float]:
    """Full-stroke (90th-percentile) and median velocity of one voice's notes."""
    v = np.asarray(velocities, dtype=float)
    return float(np.percentile(v, FULL_STROKE_PERCENTILE)), float(np.median(v))


def dynamic_marks(
    velocities: np.ndarray,
    ghost_fraction: float = GHOST_FRACTION,
    accent_fraction: float = ACCENT_FRACTION,
    reference: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the accents and the ghost notes among the velocities of one voice.

    Parameters
    ----------
    velocities : numpy.ndarray
        MIDI velocities (1-127) of one voice's notes.
    ghost_fraction, accent_fraction : float
        Below ``ghost_fraction`` x the full-stroke velocity is a ghost note; at least
        ``accent_fraction`` x it (and above :data:`ACCENT_OVER_MEDIAN` x the median) an accent.
    reference : tuple of float, optional
        Full-stroke and median velocity to judge against (:func:`loudness_reference`); by
        default those of ``velocities`` themselves.

    Returns
    -------
    accents, ghosts : numpy.ndarray
        Boolean masks, the shape of ``velocities``.
    """
    v = np.asarray(velocities, dtype=float)
    if v.size == 0:
        empty = np.zeros(0, dtype=bool)
        return empty, empty
    full, median = loudness_reference(v) if reference is None else reference
    ghosts = v < ghost_fraction * full
    accents = (v >= accent_fraction * full) & (v > ACCENT_OVER_MEDIAN * median) & ~ghosts
    return accents, ghosts
