"""Scoring one take: match every hit, judge it, and summarise per take and per voice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drumjam.errors import InputError
from drumjam.model import BeatMap, Chart, Take
from drumjam.scoring.config import Judgment, ScoringConfig
from drumjam.scoring.matching import match_times, target_windows
from drumjam.scoring.stats import TimingStats, dynamics, timing_stats
from drumjam.scoring.targets import TargetSet, chart_targets, check_overlap, grid_targets, hit_keys


@dataclass(frozen=True, slots=True)
class HitResult:
    """The verdict on one hit.

    Attributes
    ----------
    hit_index : int
        Position of the hit in its take.
    time_s : float
        When it was played.
    voice : str
        What was struck.
    velocity : int
        How hard.
    target_index : int or None
        The note (or grid position) it matched, None for an extra hit.
    target_time_s : float or None
        When that note was due.
    offset_ms : float or None
        ``time - target time`` in ms: positive = late, negative = early.
    judgment : Judgment
        perfect / great / good, or extra.
    """

    hit_index: int
    time_s: float
    voice: str
    velocity: int
    target_index: int | None
    target_time_s: float | None
    offset_ms: float | None
    judgment: Judgment

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "hit_index": self.hit_index,
            "time_s": round(self.time_s, 6),
            "voice": self.voice,
            "velocity": self.velocity,
            "target_index": self.target_index,
            "target_time_s": None if self.target_time_s is None else round(self.target_time_s, 6),
            "offset_ms": None if self.offset_ms is None else round(self.offset_ms, 3),
            "judgment": self.judgment.value,
        }


@dataclass(frozen=True)
class TakeScore:
    """A scored take.

    Attributes
    ----------
    player : str
        Who played.
    hits : list of HitResult
        One verdict per hit, in the take's order.
    missed : list of int
        Indices of the targets nobody played (always empty against a grid, where silence at a
        grid position is a rest, not a miss).
    overall : TimingStats
        Statistics of the whole take.
    voices : dict of str to TimingStats
        Statistics per voice (matched and extra by the voice played, missed by the voice due).
    targets : TargetSet
        What the take was scored against.
    config : ScoringConfig
        The windows used.
    """

    player: str
    hits: list[HitResult]
    missed: list[int]
    overall: TimingStats
    voices: dict[str, TimingStats]
    targets: TargetSet = field(repr=False)
    config: ScoringConfig = field(repr=False)

    def offsets_ms(self) -> np.ndarray:
        """Signed offsets of the matched hits, in time order."""
        return np.array([h.offset_ms for h in self.hits if h.offset_ms is not None], dtype=float)

    def matched_target_times(self) -> dict[int, float]:
        """Target index -> time of the hit that matched it."""
        return {h.target_index: h.time_s for h in self.hits if h.target_index is not None}

    def to_dict(self, with_hits: bool = False) -> dict[str, Any]:
        """JSON-ready summary: the overall figures at top level, plus ``voices``."""
        out: dict[str, Any] = {"player": self.player}
        out.update(self.overall.to_dict())
        out["mode"] = "grid" if self.targets.is_grid else "chart"
        if self.targets.is_grid:
            out["grid"] = self.targets.subdivision
        out["windows_ms"] = {
            "perfect": self.config.perfect_ms,
            "great": self.config.great_ms,
            "good": self.config.good_ms,
            "tempo_aware": self.config.tempo_aware,
        }
        out["voices"] = {v: s.to_dict() for v, s in sorted(self.voices.items())}
        if with_hits:
            out["hits"] = [h.to_dict() for h in self.hits]
        return out


def build_targets(
    take: Take,
    chart: Chart | None,
    grid: int | None,
    beatmap: BeatMap | None,
    config: ScoringConfig,
    *,
    played_along: bool = False,
) -> TargetSet:
    """The targets a take is scored against (see :func:`score_take`)."""
    if not isinstance(take, Take):
        raise InputError(f"a take to score is a Take, got {type(take).__name__}; "
                         "wrap the hits: Take(hits, player=..., beatmap=...)")
    if chart is not None and not isinstance(chart, Chart):
        raise InputError(f"a chart to score against is a Chart, got {type(chart).__name__}; "
                         "read a file with drumjam.io.songfolder.load_chart")
    if chart is not None and grid is not None:
        raise InputError("score against a chart or a grid, not both")
    if chart is not None:
        targets = chart_targets(chart, config.strict_voices, allow_empty=played_along)
        if not played_along:
            check_overlap(take, targets, chart.title or "chart")
        return targets
    bm = beatmap or take.beatmap
    if bm is None:
        raise InputError(
            f"take {take.player!r} has no beat map to build a grid from; give a chart or a beat map"
        )
    return grid_targets(take, bm, 16 if grid is None else grid, config.strict_voices)


def match_take(take: Take, targets: TargetSet, config: ScoringConfig) -> np.ndarray:
    """Target index matched by each hit (-1 for extra hits), one-to-one per matching key."""
    times = take.times_s()
    keys = hit_keys(take, config.strict_voices)
    out = np.full(times.size, -1, dtype=np.int64)
    window_s = config.good_ms / 1000.0
    for key in set(keys):
        h_idx = np.flatnonzero(keys == key)
        t_idx = targets.indices_of(key)
        if t_idx.size == 0:
            continue
        t_times = targets.times_s[t_idx]
        windows = target_windows(t_times, window_s, config.tempo_aware)
        local = match_times(times[h_idx], t_times, windows)
        ok = local >= 0
        out[h_idx[ok]] = t_idx[local[ok]]
    return out


def assemble_score(
    take: Take, targets: TargetSet, matched: np.ndarray, config: ScoringConfig
) -> TakeScore:
    """Judgments and statistics from a matching (shared by offline and live scoring)."""
    times = take.times_s()
    velocities = take.velocities().astype(np.int64)
    hit_voices = [h.voice.value for h in take.hits]
    ok = matched >= 0
    if len(targets):
        at = np.maximum(matched, 0)
        target_t = np.where(ok, targets.times_s[at], np.nan)
        chart_vel = np.where(ok, targets.velocities[at], 0)
    else:  # a run stopped before its first note: every hit is extra
        target_t = np.full(times.size, np.nan)
        chart_vel = np.zeros(times.size, targets.velocities.dtype)
    offsets = (times - target_t) * 1000.0
    results: list[HitResult] = []
    for i in range(times.size):
        if ok[i]:
            off = float(offsets[i])
            results.append(HitResult(i, float(times[i]), hit_voices[i], int(velocities[i]),
                                     int(matched[i]), float(target_t[i]), off, config.judge(abs(off))))
        else:
            results.append(HitResult(i, float(times[i]), hit_voices[i], int(velocities[i]),
                                     None, None, None, Judgment.EXTRA))
    hit_targets = set(matched[ok].tolist())
    missed = [] if targets.is_grid else [i for i in range(len(targets)) if i not in hit_targets]
    bm = targets.beatmap
    bars = bm.bar_index(np.where(ok, target_t, times)).astype(float)
    judgments = np.array([r.judgment for r in results], dtype=object)

    voice_arr = np.array(hit_voices, dtype=object)
    accents = np.zeros(times.size, dtype=bool)
    ghosts = np.zeros(times.size, dtype=bool)
    for v in set(hit_voices):
        mask = voice_arr == v
        accents[mask], ghosts[mask] = dynamics(velocities[mask], config)

    def stats_for(mask_hits: np.ndarray, n_missed: int) -> TimingStats:
        m = mask_hits & ok
        return timing_stats(offsets[m], bars[m], list(judgments[m]), velocities[m],
                            chart_vel[m], n_missed, int((mask_hits & ~ok).sum()),
                            velocities[mask_hits], accents[mask_hits], ghosts[mask_hits])

    overall = stats_for(np.ones(times.size, dtype=bool), len(missed))
    missed_voices = [targets.voices[i] or targets.keys[i] for i in missed]
    per_voice: dict[str, TimingStats] = {}
    for v in sorted(set(hit_voices) | set(missed_voices)):
        per_voice[v] = stats_for(voice_arr == v, missed_voices.count(v))
    return TakeScore(take.player, results, missed, overall, per_voice, targets, config)


def score_take(
    take: Take,
    chart: Chart | None = None,
    *,
    grid: int | None = None,
    beatmap: BeatMap | None = None,
    config: ScoringConfig | None = None,
    played_along: bool = False,
) -> TakeScore:
    """Score a take against a chart, or against the beat grid.

    Parameters
    ----------
    take : Take
        What was played.
    chart : Chart, optional
        What should have been played. Hits match notes one-to-one per voice group: the most
        matches, then the least total absolute offset.
    grid : int, optional
        Without a chart: score against every position of this subdivision (4, 8, 12, 16, 24,
        32; default 16) of ``beatmap``.
    beatmap : BeatMap, optional
        The beat grid (default: the take's own beat map).
    config : ScoringConfig, optional
        Windows and rules (see :class:`ScoringConfig` for the defaults in ms).
    played_along : bool
        The take was played along the chart on its own timeline (a live run): it is scored
        even where no hit comes near a note (all extra, every note missed) or the chart has
        no notes left (a run stopped before its first), instead of being refused as a take of
        another song.

    Returns
    -------
    TakeScore

    Examples
    --------
    >>> from drumjam.model import BeatMap, Hit, Take
    >>> bm = BeatMap.constant(120, 4)
    >>> take = Take((Hit(0.010, "kick"), Hit(0.495, "snare")), beatmap=bm)
    >>> [round(h.offset_ms) for h in score_take(take, grid=4).hits]
    [10, -5]
    """
    config = config or ScoringConfig()
    targets = build_targets(take, chart, grid, beatmap, config, played_along=played_along)
    return assemble_score(take, targets, match_take(take, targets, config), config)
