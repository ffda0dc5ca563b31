"""Quantising a take to a grid: the chart a take was aiming at."""

from __future__ import annotations

import numpy as np

from drumjam.errors import InputError
from drumjam.model import SUBDIVISIONS, BeatMap, Chart, Note, Take
from drumjam.model.voices import voice_group


def quantize_take(take: Take, beatmap: BeatMap | None = None, subdivision: int = 16) -> Chart:
    """Move every hit to its nearest grid position; keep the loudest of a group per position.

    Parameters
    ----------
    take : Take
        The played take.
    beatmap : BeatMap, optional
        The grid's beat map (default: the take's own).
    subdivision : int
        Grid positions per whole note (4, 8, 12, 16, 24, 32).

    Returns
    -------
    Chart
        Notes on the grid with the played voices and velocities.
    """
    bm = beatmap or take.beatmap
    if bm is None:
        raise InputError(f"take {take.player!r} has no beat map; give one to quantise against")
    if subdivision not in SUBDIVISIONS:
        raise InputError(f"grid subdivision {subdivision} is not one of {SUBDIVISIONS}")
    steps_per_beat = subdivision / bm.beat_unit
    positions = np.round(bm.to_beats(take.times_s()) * steps_per_beat) / steps_per_beat
    chosen: dict[tuple[str, float], Note] = {}
    times = bm.to_seconds(positions)
    for hit, pos, t in zip(take.hits, positions, times):
        key = (voice_group(hit.voice).value, float(pos))
        if t < 0:
            continue
        note = Note(float(t), hit.voice, hit.velocity)
        if key not in chosen or chosen[key].velocity < hit.velocity:
            chosen[key] = note
    return Chart(tuple(chosen.values()), bm, title=f"{take.player} (1/{subdivision})")
