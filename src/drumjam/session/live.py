"""The play-along core: one or two players playing a chart (or a grid) on one timeline.

A local jam, a remote room and a lesson attempt share its rules. Every hit arrives with its
time on the timeline as the player's device heard it; :func:`remove_latency` takes the
player's calibrated latency off; a hit more than :data:`COUNT_IN_GRACE_S` before the song's
start is a count-in tap (:func:`is_count_in`), not part of the take, and one after it is
scored as it is, early or late, never moved. Each hit is recorded and scored at once with the
player's :class:`drumjam.scoring.LiveScorer`; the running figures use the results' accuracy
(:func:`drumjam.scoring.stats`), and :meth:`LiveSession.finish` returns the final scores, which
equal offline scoring of the recorded takes, up to where the players stopped.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from drumjam.errors import InputError
from drumjam.limits import MAX_DURATION_S
from drumjam.model import BeatMap, Chart, Hit, Take, voice_group
from drumjam.numtext import readable
from drumjam.scoring import (
    DuetResult,
    HitResult,
    Judgment,
    LiveScorer,
    ScoringConfig,
    TakeScore,
    analyse_duet,
    score_take,
)
from drumjam.scoring.stats import JUDGMENT_WEIGHT

MAX_PLAYERS = 2
MAX_NAME_CHARS = 40
MAX_LATENCY_MS = 500.0
#: Most hits one player's take holds: two hours (the longest song) at 14 hits a second, past
#: what the busiest drummer keeps up (16ths at 200 BPM are 13 a second); a duet at the limit
#: holds about 300 MB while it is played.
MAX_HITS_PER_PLAYER = 100_000
#: Hits up to this long before the song's start aim at its first notes (early, not clamped);
#: earlier ones are count-in taps.
COUNT_IN_GRACE_S = 0.25
_ON_TIME = (Judgment.PERFECT, Judgment.GREAT, Judgment.GOOD)


def remove_latency(hit: Hit, latency_ms: float) -> Hit:
    """The hit as played: its time less the player's input + output latency."""
    return Hit(hit.time_s - latency_ms / 1000.0, hit.voice, hit.velocity, hit.hihat_openness)


def is_count_in(time_s: float, start_s: float) -> bool:
    """Whether a hit at ``time_s`` (latency removed) is a count-in tap of a song starting at
    ``start_s`` rather than part of the take."""
    return time_s < start_s - COUNT_IN_GRACE_S


def clean_name(name: Any, default: str, *, max_chars: int | None = MAX_NAME_CHARS) -> str:
    """A player's name as given, without control characters or lone surrogates, trimmed (to
    ``max_chars`` characters, 40 by default; None: any length); ``default`` if nothing is left.

    Names are kept verbatim otherwise (``<b>`` stays ``<b>``): whoever shows them must treat
    them as text. Song titles and uploaded file names are cleaned the same way (PostgreSQL
    refuses NUL in text).
    """
    text = "".join(ch for ch in str(name if name is not None else "") if ch.isprintable()).strip()
    return text[:max_chars] or default


@dataclass(frozen=True)
class Player:
    """A player of a session.

    Parameters
    ----------
    name : str
        Shown as text everywhere.
    latency_ms : float
        Measured input + output latency of the player's setup; subtracted from each hit time.
    """

    name: str
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        try:
            latency = float(self.latency_ms)
        except (TypeError, ValueError):
            latency = float("nan")  # refused below, with the value given
        if not -MAX_LATENCY_MS <= latency <= MAX_LATENCY_MS:
            raise InputError(
                f"latency {self.latency_ms} ms for {self.name!r} is out of range; "
                f"calibrate again (expected -{MAX_LATENCY_MS:.0f}..{MAX_LATENCY_MS:.0f} ms)")
        object.__setattr__(self, "latency_ms", latency)


@dataclass
class _Running:
    hits: int = 0
    on_time: int = 0
    abs_offset_ms: float = 0.0
    weighted: float = 0.0
    extra: int = 0
    last_s: float = float("-inf")

    def add(self, result: HitResult) -> None:
        self.hits += 1
        self.last_s = max(self.last_s, result.time_s)
        if result.judgment in _ON_TIME and result.offset_ms is not None:
            self.on_time += 1
            self.abs_offset_ms += abs(result.offset_ms)
            self.weighted += JUDGMENT_WEIGHT[result.judgment]
        else:
            self.extra += 1

    def to_dict(self, notes_due: int | None) -> dict[str, Any]:
        # the results' accuracy: judgment-weighted share of the notes so far and the extra hits
        denom = (self.on_time if notes_due is None else max(notes_due, self.on_time)) + self.extra
        return {
            "hits": self.hits,
            "accuracy_pct": round(100.0 * self.weighted / denom, 1) if denom else None,
            "on_time_pct": round(100.0 * self.on_time / self.hits, 1) if self.hits else None,
            "mean_abs_offset_ms": round(self.abs_offset_ms / self.on_time, 1) if self.on_time else None,
        }


@dataclass
class SessionResult:
    """What a finished session produced: takes, scores and (for two players) the duet."""

    players: list[Player]
    takes: list[Take]
    scores: list[TakeScore]
    duet: DuetResult | None
    summary: str
    stopped_at_s: float | None = None
    #: Per player, where on the timeline they left before the end (None: they did not).
    left_at_s: list[float | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready results: per player the score with every hit (and ``left_at_s`` for
        a player who left before the end), and the duet analysis."""
        players = []
        for i, (player, score) in enumerate(zip(self.players, self.scores)):
            players.append({
                "name": player.name,
                "latency_ms": player.latency_ms,
                "score": score.to_dict(with_hits=True),
                "missed": list(score.missed),
            })
            left = None if self.left_at_s is None else self.left_at_s[i]
            if left is not None:
                players[-1]["left_at_s"] = round(left, 6)
        return {
            "players": players,
            "duet": self.duet.to_dict() if self.duet is not None else None,
            "summary": self.summary,
            "stopped_at_s": self.stopped_at_s,
        }


@dataclass
class LiveSession:
    """Players, their calibration, a live scorer each, and the hits they played.

    Parameters
    ----------
    players : list of Player
        One or two players.
    beatmap : BeatMap
        Beats of the practice timeline.
    chart : Chart or None
        The notes to play on the practice timeline; None to score against ``grid``.
    grid : int
        Grid subdivision used without a chart.
    config : ScoringConfig
        Timing windows.
    on_hit : callable, optional
        Called with ``(player, hit)`` for every hit recorded (latency removed), e.g. to write
        it through to the history as it is played.
    start_s : float
        Where the song starts on the timeline (after the lead-in); hits more than
        :data:`COUNT_IN_GRACE_S` before it are count-in taps.
    """

    players: list[Player]
    beatmap: BeatMap
    chart: Chart | None = None
    grid: int = 16
    config: ScoringConfig = field(default_factory=ScoringConfig)
    on_hit: Callable[[int, Hit], None] | None = None
    start_s: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= len(self.players) <= MAX_PLAYERS:
            raise InputError(f"a session has 1 or {MAX_PLAYERS} players, got {len(self.players)}")
        if not all(isinstance(p, Player) for p in self.players):
            raise InputError("a session's players are Player(name, latency_ms) objects, got "
                             f"{[type(p).__name__ for p in self.players]}")
        if self.chart is None:  # the grid is checked now, not at the first hit
            self.beatmap.grid(self.grid, start_s=self.beatmap.start_s,
                              end_s=self.beatmap.start_s)
        self._lock = threading.Lock()
        self._scorers = [self._new_scorer(p.name) for p in self.players]
        self._running = [_Running() for _ in self.players]
        self._matched: list[dict[tuple[str, int], float]] = [{} for _ in self.players]
        self._note_times = None if self.chart is None else self.chart.times_s()
        self._async_ms: list[float] = []
        self.finished: SessionResult | None = None

    def _new_scorer(self, name: str) -> LiveScorer:
        if self.chart is not None:
            return LiveScorer(self.chart, config=self.config, player=name)
        return LiveScorer(grid=self.grid, beatmap=self.beatmap, config=self.config, player=name)

    def add_hit(self, player: int, hit: Hit) -> HitResult | None:
        """Record and score one hit.

        Parameters
        ----------
        player : int
            Index of the player (0 or 1).
        hit : Hit
            The hit as heard on the player's device, in timeline seconds; the player's latency
            is removed before scoring.

        Returns
        -------
        HitResult or None
            The immediate verdict (times already calibrated); None for a count-in tap.
        """
        if self.finished is not None:
            raise InputError("this session has finished; start a new one to play again")
        player = self._index(player)
        corrected = remove_latency(hit, self.players[player].latency_ms)
        if is_count_in(corrected.time_s, self.start_s):
            return None
        if corrected.time_s < 0.0:  # a take's times start at 0: it could never be finished
            raise InputError(
                f"a hit at {corrected.time_s:.3f} s (latency removed) falls before the "
                f"timeline's start; give the session a lead-in (the song starting at start_s "
                f"of at least {COUNT_IN_GRACE_S} s on the timeline)")
        with self._lock:
            if self._running[player].hits >= MAX_HITS_PER_PLAYER:
                raise InputError(f"more than {MAX_HITS_PER_PLAYER} hits from one player, the "
                                 "most a take holds; finish this session (every hit so far is "
                                 "saved) and start a new one to play on")
            result = self._scorers[player].add(corrected)
            self._running[player].add(result)
            self._pair(player, result)
            if self.on_hit is not None:
                self.on_hit(player, corrected)
        return result

    def running(self, player: int) -> dict[str, Any]:
        """Hits so far; accuracy so far as the results define it (judgment-weighted share of
        the notes up to the player's latest hit and the extra hits, %); the share of hits on a
        note (%), and their mean absolute offset (ms)."""
        running = self._running[self._index(player)]
        due = None
        if self._note_times is not None:
            due = int(np.searchsorted(self._note_times, running.last_s, side="right"))
        return running.to_dict(due)

    def _index(self, player: Any) -> int:
        """A player's index, checked (a bool is no index)."""
        if isinstance(player, (int, np.integer)) and not isinstance(player, (bool, np.bool_)):
            if 0 <= int(player) < len(self.players):
                return int(player)
        raise InputError(f"player {player!r} does not exist; use 0-{len(self.players) - 1}")

    def _pair(self, player: int, result: HitResult) -> None:
        if len(self.players) != 2 or result.target_index is None:
            return
        key = (voice_group(result.voice).value, result.target_index)
        self._matched[player][key] = result.time_s
        other = self._matched[1 - player].get(key)
        if other is not None:
            a, b = (other, result.time_s) if player == 1 else (result.time_s, other)
            self._async_ms.append(1000.0 * (a - b))

    def duet_running(self) -> dict[str, Any] | None:
        """For two players: notes both have hit so far, mean asynchrony A - B (ms, positive =
        the first player later, as in :class:`drumjam.scoring.DuetResult`) and the share within
        20 ms (%). The final figures come from the duet analysis at :meth:`finish`."""
        if len(self.players) != 2:
            return None
        n = len(self._async_ms)
        return {
            "pairs": n,
            "mean_async_ms": round(sum(self._async_ms) / n, 1) if n else None,
            "within_20ms_pct": round(100.0 * sum(abs(a) <= 20 for a in self._async_ms) / n, 1)
            if n else None,
        }

    def takes(self) -> list[Take]:
        """The calibrated hits of each player as takes on the practice beat map."""
        return [Take(tuple(s.hits), player=p.name, beatmap=self.beatmap)
                for p, s in zip(self.players, self._scorers)]

    def finish(self, stop_s: float | None = None, *,
               left_s: Mapping[int, float] | None = None) -> SessionResult:
        """Close the session: final scores of each player and, for two, the duet analysis.

        A player who played nothing is left out of the result (a duet with a silent partner
        is a solo). Finishing again returns the first result.

        Parameters
        ----------
        stop_s : float, optional
            Where the players stopped on the timeline, if before the end: notes after it are
            not counted as missed, and the summary says where it was.
        left_s : mapping of int to float, optional
            Players who left before the end (a remote room's player whose connection never
            came back), by index, with where they left on the timeline: each is scored up to
            there (their later notes are not counted as missed), the duet up to the first to
            leave, and the summary says who left where.

        Raises
        ------
        InputError
            If nobody played a hit, or a stop is not a time on the timeline.
        """
        _check_stop(stop_s, "stop_s")
        left = dict(left_s or {})
        for player, at_s in left.items():
            _check_stop(at_s, f"left_s[{player!r}]")
            self._index(player)
        with self._lock:
            if self.finished is not None:
                return self.finished
            played = [i for i, running in enumerate(self._running) if running.hits]
            if not played:
                raise InputError("nobody played a hit, so there is nothing to score or save")
            players = [self.players[i] for i in played]
            takes = [self.takes()[i] for i in played]
            chart = self.chart
            end_s = math.inf if chart is None else chart.duration_s
            if chart is None or (stop_s is not None and stop_s >= end_s):
                stop_s = None  # a grid has no notes to miss: nothing to cut
            ends = [math.inf if chart is None else
                    min(math.inf if stop_s is None else stop_s, left.get(i, math.inf))
                    for i in played]
            scores = [self._scorers[i].finish() if until >= end_s else
                      score_take(take, _cut(chart, until), beatmap=self.beatmap,
                                 config=self.config, played_along=True)
                      for i, take, until in zip(played, takes, ends)]
            duet = None
            summary = " ".join(_solo_summary(s) for s in scores)
            if len(takes) == 2:
                together = _cut(chart, min(ends)) if chart is not None else None
                duet = analyse_duet(takes[0], takes[1], together,
                                    grid=None if chart else self.grid,
                                    beatmap=self.beatmap, config=self.config, played_along=True)
                summary = duet.summary
            silent = [p.name for i, p in enumerate(self.players) if i not in played]
            if silent:
                summary += f" {', '.join(silent)} played no hits."
            if stop_s is not None:
                summary += (f" Stopped {stop_s - self.start_s:.1f} s into the song (bar "
                            f"{self._bar_at(stop_s)}); the notes after that are not counted.")
            gone = {i: until for i, until in zip(played, ends)
                    if i in left and until < end_s and until != stop_s}
            for i, until in gone.items():
                summary += (f" {self.players[i].name} left {until - self.start_s:.1f} s into "
                            f"the song (bar {self._bar_at(until)}); their notes after that are "
                            "not counted.")
            self.finished = SessionResult(players, takes, scores, duet, summary, stop_s,
                                          left_at_s=[gone.get(i) for i in played])
        return self.finished

    def _bar_at(self, time_s: float) -> int:
        """The bar (from 1) a time on the timeline falls in."""
        bm = self.beatmap
        if bm.downbeats_s.size:  # bars counted from 1, at the downbeats
            return int(np.searchsorted(bm.downbeats_s, time_s, side="right"))
        # a map without downbeats: bars of its metre from its first beat
        return int(np.floor(float(bm.to_beats(time_s)) / bm.meter)) + 1


def _check_stop(stop_s: float | None, what: str) -> None:
    """Refuse a stop that is not a time on the timeline (NaN fails too)."""
    if stop_s is not None and not 0.0 <= stop_s <= MAX_DURATION_S:
        raise InputError(f"{what} {stop_s} s is not a time on the timeline; give where the "
                         "players stopped, in seconds from 0")


def _cut(chart: Chart, until_s: float) -> Chart:
    """The chart's notes before ``until_s`` (all of them at or past its end)."""
    if until_s >= chart.duration_s:
        return chart
    return replace(chart, notes=tuple(n for n in chart.notes if n.time_s < until_s - 1e-6))


def _solo_summary(score: TakeScore) -> str:
    d = score.to_dict()
    mean = d.get("mean_offset_ms")
    if not d.get("matched"):
        return f"{score.player} played no hit that matched the chart."
    if abs(mean) < 5:
        lean = f"right on the beat on average ({readable(mean, sign=True)} ms)"
    else:
        lean = f"on average {abs(mean):.0f} ms {'behind' if mean > 0 else 'ahead of'} the beat"
    return (f"{score.player} matched {d['matched']} notes, missed {d['missed']}, "
            f"{d['extra']} extra; {lean}.")
