"""Scoring a stream of hits as they arrive, with the same result as offline scoring.

Each hit gets a provisional verdict at once (the nearest free note of its group). The final
matching is made per connected component exactly as offline (:mod:`drumjam.scoring.matching`):
a component is closed as soon as a later hit can no longer share a note with it, so the
result of :meth:`LiveScorer.finish` equals :func:`drumjam.scoring.score_take` on the same hits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from drumjam.errors import InputError
from drumjam.model import BeatMap, Chart, Hit, Take
from drumjam.model.voices import voice_group
from drumjam.scoring.config import Judgment, ScoringConfig
from drumjam.scoring.matching import Windows, solve_component, target_windows
from drumjam.scoring.take import HitResult, TakeScore, assemble_score, build_targets, match_take
from drumjam.scoring.targets import chart_targets

#: Without a chart, the grid reaches this many beats past the latest hit (or the beat map's
#: end) and is extended again when a hit comes within :data:`_GRID_MARGIN_BEATS` of its end.
_GRID_TAIL_BEATS = 512
_GRID_MARGIN_BEATS = 2


@dataclass
class _KeyState:
    """Targets and the open component of one matching key."""

    times_s: np.ndarray
    windows: Windows
    end_beat: float = np.inf  # a grid's last position in beats (a chart's notes: no end)
    pending: list[tuple[int, float, int, int]] = field(default_factory=list)  # arrival, t, lo, hi
    taken: set[int] = field(default_factory=set)  # provisional claims in the open component


class LiveScorer:
    """Score one player's hits as they arrive.

    Parameters
    ----------
    chart : Chart, optional
        The notes to play; without it, the ``grid`` of ``beatmap``.
    grid : int, optional
        Grid subdivision without a chart (default 16).
    beatmap : BeatMap, optional
        Beat map of the grid.
    config : ScoringConfig, optional
        Windows and rules.
    player : str
        The player's name.
    """

    def __init__(
        self,
        chart: Chart | None = None,
        *,
        grid: int | None = None,
        beatmap: BeatMap | None = None,
        config: ScoringConfig | None = None,
        player: str = "player",
    ) -> None:
        self.config = config or ScoringConfig()
        self.chart = chart
        self.grid = None if chart is not None else (16 if grid is None else grid)
        self.beatmap = chart.beatmap if chart is not None else beatmap
        if self.beatmap is None:
            raise InputError("live scoring needs a chart or a beat map for the grid")
        self.player = player
        self._hits: list[Hit] = []
        self._final: dict[int, tuple[str, float] | None] = {}  # arrival -> (key, target time)
        self._states: dict[str, _KeyState] = {}
        self._in_order = True
        self._last_time = -np.inf
        if chart is not None:
            targets = chart_targets(chart, self.config.strict_voices)
            for key in set(targets.keys):
                t = targets.times_s[targets.indices_of(key)]
                self._states[key] = self._state(t)

    def _state(self, times_s: np.ndarray) -> _KeyState:
        return _KeyState(times_s, target_windows(times_s, self.config.good_ms / 1000.0,
                                                 self.config.tempo_aware))

    def _grid_state(self, time_s: float) -> _KeyState:
        """Grid targets from time 0 (no hit comes earlier) to :data:`_GRID_TAIL_BEATS` past
        ``time_s`` or the beat map's end, whichever is later."""
        bm = self.beatmap
        first_beat = np.floor(float(bm.to_beats(0.0)))
        last_beat = np.ceil(max(float(bm.to_beats(time_s)), len(bm.beats_s) - 1)) + _GRID_TAIL_BEATS
        grid = bm.grid(self.grid, start_s=float(bm.to_seconds(first_beat)),
                       end_s=float(bm.to_seconds(last_beat)))
        state = self._state(grid[grid >= 0])
        state.end_beat = float(last_beat)
        return state

    def _extend_grid(self, state: _KeyState, time_s: float) -> _KeyState:
        """The grid reaching further past a hit near its end: the same targets first (the
        open component's indices stay valid), as offline scoring extends it to every hit."""
        longer = self._grid_state(time_s)
        longer.pending, longer.taken = state.pending, state.taken
        return longer

    def _key(self, hit: Hit) -> str:
        return hit.voice.value if self.config.strict_voices else voice_group(hit.voice).value

    def add(self, hit: Hit) -> HitResult:
        """Take one hit and return its provisional verdict.

        Parameters
        ----------
        hit : Hit
            The hit, on the same clock as the chart.

        Returns
        -------
        HitResult
            Verdict against the nearest free note of its group (the final matching may still
            hand the note to a closer hit that comes later).
        """
        key = self._key(hit)
        state = self._states.get(key)
        if state is None and self.grid is not None:
            state = self._states[key] = self._grid_state(hit.time_s)
        elif state is not None and float(self.beatmap.to_beats(hit.time_s)) > state.end_beat - _GRID_MARGIN_BEATS:
            state = self._states[key] = self._extend_grid(state, hit.time_s)
        arrival = len(self._hits)
        self._hits.append(hit)
        if hit.time_s < self._last_time:
            self._in_order = False
        self._last_time = max(self._last_time, hit.time_s)
        if state is None:
            self._final[arrival] = None
            return HitResult(arrival, hit.time_s, hit.voice.value, hit.velocity, None, None,
                             None, Judgment.EXTRA)
        t = hit.time_s
        lo = int(np.searchsorted(state.windows.end_s, t, side="left"))
        hi = max(lo, int(np.searchsorted(state.windows.start_s, t, side="right")))
        if state.pending:
            _, _, plo, phi = state.pending[-1]
            if hi <= lo or lo >= phi or phi <= plo:
                self._close(key, state)
        if hi <= lo:
            self._final[arrival] = None
            return HitResult(arrival, t, hit.voice.value, hit.velocity, None, None, None,
                             Judgment.EXTRA)
        state.pending.append((arrival, t, lo, hi))
        free = [j for j in range(lo, hi) if j not in state.taken]
        if not free:
            return HitResult(arrival, t, hit.voice.value, hit.velocity, None, None, None,
                             Judgment.EXTRA)
        best = min(free, key=lambda j: abs(t - state.times_s[j]))
        state.taken.add(best)
        off = (t - state.times_s[best]) * 1000.0
        return HitResult(arrival, t, hit.voice.value, hit.velocity, best,
                         float(state.times_s[best]), off, self.config.judge(abs(off)))

    def _close(self, key: str, state: _KeyState) -> None:
        if not state.pending:
            return
        arr = np.array([p[0] for p in state.pending])
        times = np.array([p[1] for p in state.pending])
        lo = np.array([p[2] for p in state.pending])
        hi = np.array([p[3] for p in state.pending])
        picked = solve_component(times, state.times_s, lo, hi)
        for a, j in zip(arr, picked):
            self._final[int(a)] = None if j < 0 else (key, float(state.times_s[j]))
        state.pending.clear()
        state.taken.clear()

    @property
    def hits(self) -> list[Hit]:
        """The hits received so far, in arrival order."""
        return list(self._hits)

    def take(self) -> Take:
        """The hits received so far as a take."""
        return Take(tuple(self._hits), player=self.player, beatmap=self.beatmap)

    def finish(self) -> TakeScore:
        """Close every open component and return the final score.

        Equal to ``score_take(self.take(), chart, played_along=True)`` (or the grid
        equivalent).
        """
        for key, state in self._states.items():
            self._close(key, state)
        take = self.take()
        if not len(take):
            raise InputError(f"{self.player} played no hits")
        targets = build_targets(take, self.chart, self.grid, self.beatmap, self.config,
                                played_along=True)
        if not self._in_order:
            return assemble_score(take, targets, match_take(take, targets, self.config), self.config)
        lookup = {(str(k), float(t)): i for i, (k, t) in enumerate(zip(targets.keys, targets.times_s))}
        order = sorted(range(len(self._hits)), key=lambda i: (
            self._hits[i].time_s, self._hits[i].voice.value, self._hits[i].velocity))
        matched = np.full(len(order), -1, dtype=np.int64)
        for sorted_pos, arrival in enumerate(order):
            final = self._final.get(int(arrival))
            if final is not None:
                matched[sorted_pos] = lookup[final]
        return assemble_score(take, targets, matched, self.config)
