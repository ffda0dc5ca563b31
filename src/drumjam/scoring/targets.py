"""What a take is scored against: a chart's notes or the grid of a beat map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drumjam.errors import ChartError, InputError
from drumjam.model import BeatMap, Chart, Take
from drumjam.model.voices import VOICE_GROUP, voice_group

_GROUP_NAME = {voice: group.value for voice, group in VOICE_GROUP.items()}
#: Most grid targets of one take (a 6-hour take at 120 BPM on sixteenths for 12 voice
#: groups is about 2 million).
MAX_GRID_TARGETS = 4_000_000


@dataclass(frozen=True, eq=False)
class TargetSet:
    """Target times with the key they are matched by (voice group, or voice when strict).

    Attributes
    ----------
    times_s : numpy.ndarray
        Sorted target times.
    keys : numpy.ndarray
        Matching key of each target (str objects).
    voices : numpy.ndarray
        Voice name of each target ("" for grid targets, which accept any voice of the key).
    velocities : numpy.ndarray
        Chart velocity of each target (0 for grid targets).
    beatmap : BeatMap
        Beats and bars of the targets.
    subdivision : int or None
        The grid subdivision, None for a chart.
    """

    times_s: np.ndarray
    keys: np.ndarray
    voices: np.ndarray
    velocities: np.ndarray
    beatmap: BeatMap
    subdivision: int | None = None

    @property
    def is_grid(self) -> bool:
        """True when scoring against a grid rather than a chart."""
        return self.subdivision is not None

    def __len__(self) -> int:
        return int(self.times_s.size)

    def indices_of(self, key: str) -> np.ndarray:
        """Indices of the targets with a matching key, in time order."""
        return np.flatnonzero(self.keys == key)


def hit_keys(take: Take, strict_voices: bool) -> np.ndarray:
    """Matching key of each hit of a take."""
    if strict_voices:
        return np.array([h.voice.value for h in take.hits], dtype=object)
    return np.array([_GROUP_NAME[h.voice] for h in take.hits], dtype=object)


def chart_targets(chart: Chart, strict_voices: bool = False, *, allow_empty: bool = False
                  ) -> TargetSet:
    """Targets from a chart's notes (none only with ``allow_empty``)."""
    if len(chart) == 0 and not allow_empty:
        raise ChartError(chart.title or "chart", "has no notes to play", "give a chart with drum notes")
    voices = np.array([n.voice.value for n in chart.notes], dtype=object)
    keys = voices if strict_voices else np.array(
        [voice_group(n.voice).value for n in chart.notes], dtype=object
    )
    return TargetSet(chart.times_s(), keys, voices, chart.velocities(), chart.beatmap, None)


def grid_targets(
    take: Take, beatmap: BeatMap, subdivision: int, strict_voices: bool = False
) -> TargetSet:
    """Targets at every grid position, for every key the take plays.

    The grid covers the beat map, extended by whole beats to cover every hit.
    """
    keys_played = sorted(set(hit_keys(take, strict_voices)))
    if not keys_played:
        raise InputError("the take has no hits to score")
    times = take.times_s()
    first_beat = np.floor(min(0.0, float(beatmap.to_beats(times[0]))))
    last_beat = np.ceil(max(float(beatmap.to_beats(times[-1])), len(beatmap.beats_s) - 1))
    grid = beatmap.grid(
        subdivision,
        start_s=float(beatmap.to_seconds(first_beat)),
        end_s=float(beatmap.to_seconds(last_beat)),
    )
    grid = grid[grid >= 0]
    n = grid.size
    if n * len(keys_played) > MAX_GRID_TARGETS:
        raise InputError(
            f"scoring {len(keys_played)} voice groups on {n} grid positions makes "
            f"{n * len(keys_played)} targets, more than {MAX_GRID_TARGETS}; use a coarser grid "
            "or score a shorter part of the take")
    all_times = np.tile(grid, len(keys_played))
    all_keys = np.repeat(np.array(keys_played, dtype=object), n)
    order = np.argsort(all_times, kind="stable")
    return TargetSet(
        all_times[order],
        all_keys[order],
        np.full(all_times.size, "", dtype=object),
        np.zeros(all_times.size, dtype=np.int16),
        beatmap,
        subdivision,
    )


def check_overlap(take: Take, targets: TargetSet, source: str) -> None:
    """Raise ChartError when the take and the chart do not overlap in time at all."""
    if len(take) == 0 or len(targets) == 0:
        return
    t = take.times_s()
    slack = 2.0 * float(np.median(np.diff(targets.beatmap.beats_s)))
    if t[-1] < targets.times_s[0] - slack or t[0] > targets.times_s[-1] + slack:
        raise ChartError(
            source,
            f"the take ({t[0]:.1f}-{t[-1]:.1f} s) and the chart "
            f"({targets.times_s[0]:.1f}-{targets.times_s[-1]:.1f} s) do not overlap",
            "check that both belong to the same song, or align the start",
        )
