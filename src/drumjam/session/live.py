"""A live jam session: one or two players playing a chart (or a grid) at the same time.

Every hit arrives with its time on the practice timeline as the player's device heard it;
the session removes the player's calibrated latency, records the hit, and scores it at once
with the player's :class:`drumjam.scoring.LiveScorer`. :meth:`LiveSession.finish` returns the
final scores, which equal offline scoring of the recorded takes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drumjam.errors import InputError
from drumjam.model import BeatMap, Chart, Hit, Take, voice_group
from drumjam.scoring import (
    DuetResult,
    HitResult,
    Judgment,
    LiveScorer,
    ScoringConfig,
    TakeScore,
    analyse_duet,
)

MAX_PLAYERS = 2
MAX_NAME_CHARS = 40
MAX_LATENCY_MS = 500.0
MAX_HITS_PER_PLAYER = 20000
_ON_TIME = (Judgment.PERFECT, Judgment.GREAT, Judgment.GOOD)


def clean_name(name: Any, default: str) -> str:
    """A player's name as given, trimmed to 40 characters without control characters.

    Names are kept verbatim otherwise (``<b>`` stays ``<b>``): whoever shows them must treat
    them as text.
    """
    text = "".join(ch for ch in str(name if name is not None else "") if ch.isprintable()).strip()
    return text[:MAX_NAME_CHARS] or default


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
        latency = float(self.latency_ms)
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

    def add(self, result: HitResult) -> None:
        self.hits += 1
        if result.judgment in _ON_TIME and result.offset_ms is not None:
            self.on_time += 1
            self.abs_offset_ms += abs(result.offset_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hits": self.hits,
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready results: per player the score with every hit, and the duet analysis."""
        players = []
        for player, score in zip(self.players, self.scores):
            players.append({
                "name": player.name,
                "latency_ms": player.latency_ms,
                "score": score.to_dict(with_hits=True),
                "missed": list(score.missed),
            })
        return {
            "players": players,
            "duet": self.duet.to_dict() if self.duet is not None else None,
            "summary": self.summary,
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
    """

    players: list[Player]
    beatmap: BeatMap
    chart: Chart | None = None
    grid: int = 16
    config: ScoringConfig = field(default_factory=ScoringConfig)
    on_hit: Callable[[int, Hit], None] | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.players) <= MAX_PLAYERS:
            raise InputError(f"a session has 1 or {MAX_PLAYERS} players, got {len(self.players)}")
        self._lock = threading.Lock()
        self._scorers = [self._new_scorer(p.name) for p in self.players]
        self._running = [_Running() for _ in self.players]
        self._matched: list[dict[tuple[str, float], float]] = [{} for _ in self.players]
        self._async_ms: list[float] = []
        self.finished: SessionResult | None = None

    def _new_scorer(self, name: str) -> LiveScorer:
        if self.chart is not None:
            return LiveScorer(self.chart, config=self.config, player=name)
        return LiveScorer(grid=self.grid, beatmap=self.beatmap, config=self.config, player=name)

    def add_hit(self, player: int, hit: Hit) -> HitResult:
        """Record and score one hit.

        Parameters
        ----------
        player : int
            Index of the player (0 or 1).
        hit : Hit
            The hit as heard on the player's device, in practice-timeline seconds; the
            player's latency is removed before scoring.

        Returns
        -------
        HitResult
            The immediate verdict (times already calibrated).
        """
        if self.finished is not None:
            raise InputError("this session has finished; start a new one to play again")
        if not isinstance(player, int) or not 0 <= player < len(self.players):
            raise InputError(f"player {player!r} does not exist; use 0-{len(self.players) - 1}")
        latency_s = self.players[player].latency_ms / 1000.0
        if hit.time_s - latency_s < 0:
            raise InputError(
                f"hit at {hit.time_s:.3f} s (latency {latency_s * 1000:.0f} ms) is before the session "
                "started; it is not scored")
        corrected = Hit(hit.time_s - latency_s, hit.voice, hit.velocity, hit.hihat_openness)
        with self._lock:
            if self._running[player].hits >= MAX_HITS_PER_PLAYER:
                raise InputError(f"more than {MAX_HITS_PER_PLAYER} hits from one player")
            result = self._scorers[player].add(corrected)
            self._running[player].add(result)
            self._pair(player, result)
            if self.on_hit is not None:
                self.on_hit(player, corrected)
        return result

    def running(self, player: int) -> dict[str, Any]:
        """Hits so far, share of them matched to a note (perfect, great or good; %), and their
        mean absolute offset (ms)."""
        return self._running[player].to_dict()

    def _pair(self, player: int, result: HitResult) -> None:
        if len(self.players) != 2 or result.target_time_s is None:
            return
        key = (voice_group(result.voice).value, round(result.target_time_s, 6))
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

    def finish(self) -> SessionResult:
        """Close the session: final scores of each player and, for two, the duet analysis.

        A player who played nothing is left out of the result (a duet with a silent partner
        is a solo).

        Raises
        ------
        InputError
            If nobody played a hit.
        """
        with self._lock:
            if self.finished is not None:
                return self.finished
            played = [i for i, running in enumerate(self._running) if running.hits]
            if not played:
                raise InputError("nobody played a hit, so there is nothing to score or save")
            players = [self.players[i] for i in played]
            takes = [self.takes()[i] for i in played]
            scores = [self._scorers[i].finish() for i in played]
            duet = None
            summary = " ".join(_solo_summary(s) for s in scores)
            if len(takes) == 2:
                duet = analyse_duet(takes[0], takes[1], self.chart,
                                    grid=None if self.chart else self.grid,
                                    beatmap=self.beatmap, config=self.config)
                summary = duet.summary
            silent = [p.name for i, p in enumerate(self.players) if i not in played]
            if silent:
                summary += f" {', '.join(silent)} played no hits."
            self.finished = SessionResult(players, takes, scores, duet, summary)
        return self.finished


def _solo_summary(score: TakeScore) -> str:
    d = score.to_dict()
    mean = d.get("mean_offset_ms")
    if not d.get("matched"):
        return f"{score.player} played no hit that matched the chart."
    if abs(mean) < 5:
        lean = f"right on the beat on average ({mean:+.0f} ms)"
    else:
        lean = f"on average {abs(mean):.0f} ms {'behind' if mean > 0 else 'ahead of'} the beat"
    return (f"{score.player} matched {d['matched']} notes, missed {d['missed']}, "
            f"{d['extra']} extra; {lean}.")
