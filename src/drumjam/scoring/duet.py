"""Two players of one song: each scored, and measured against each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drumjam.errors import InputError
from drumjam.model import BeatMap, Chart, Take
from drumjam.limits import MAX_EVENTS
from drumjam.numtext import readable
from drumjam.scoring.config import ScoringConfig
from drumjam.scoring.phase import MIN_EVENTS, PhaseCorrection, phase_correction
from drumjam.scoring.take import TakeScore, assemble_score, build_targets, match_take

#: Two takes' own beat maps are one grid when their beats lie within this many seconds of each
#: other (two copies of one click agree to the microsecond; a different tempo is milliseconds
#: apart within a beat or two).
SAME_BEATS_S = 0.001
#: Two players within this many ms of each other are "together".
TOGETHER_MS = 20.0
#: Correction gains closer than this are called mutual adjustment, with no leader.
LEADER_MARGIN = 0.1
#: Standard errors a gain (or a difference of gains) must clear to count. Three, not two:
#: drummers who recorded apart to one click (the Groove MIDI eval sessions) get a "leader"
#: in 6 of 30 pairs at two standard errors and in 2 of 30 at three.
SIGNIFICANCE_SE = 3.0


@dataclass(frozen=True)
class BarSync:
    """Synchrony of one bar."""

    bar: int
    pairs: int
    mean_async_ms: float
    sd_async_ms: float | None
    within_20ms: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "bar": self.bar,
            "pairs": self.pairs,
            "mean_async_ms": round(self.mean_async_ms, 2),
            "sd_async_ms": None if self.sd_async_ms is None else round(self.sd_async_ms, 2),
            "within_20ms": round(self.within_20ms, 4),
        }


@dataclass(frozen=True)
class DuetResult:
    """A duet: both scores, their asynchrony and who followed whom.

    Attributes
    ----------
    players : tuple of TakeScore
        Player A's and player B's scores against the same targets.
    target_index : numpy.ndarray
        Targets both players hit (the pairs), in time order.
    async_ms : numpy.ndarray
        Signed asynchrony A - B of each pair (positive: A later than B).
    mean_async_ms, sd_async_ms : float or None
        Mean and SD of the asynchrony.
    within_20ms : float
        Share of pairs within +-20 ms of each other (0-1).
    per_bar : list of BarSync
        The same per bar, over time.
    phase : tuple of PhaseCorrection or None
        Each player's correction gain towards the other and towards the music (None with too
        few shared beats).
    leader : str or None
        "A" or "B": the one who corrects clearly less towards the other (by more than 0.1 and
        three standard errors); None when neither adjusts or both adjust alike.
    summary : str
        One plain sentence.
    """

    players: tuple[TakeScore, TakeScore]
    target_index: np.ndarray = field(repr=False)
    async_ms: np.ndarray = field(repr=False)
    mean_async_ms: float | None
    sd_async_ms: float | None
    within_20ms: float
    per_bar: list[BarSync]
    phase: tuple[PhaseCorrection, PhaseCorrection] | None
    leader: str | None
    summary: str

    @property
    def alpha(self) -> tuple[float | None, float | None]:
        """Correction gains of A and B."""
        if self.phase is None:
            return (None, None)
        return (self.phase[0].alpha, self.phase[1].alpha)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"players": [score_a, score_b], "sync": {...}, "summary": ...}``."""
        r2 = (lambda x: None if x is None else round(float(x), 3))
        sync = {
            "pairs": int(self.async_ms.size),
            "mean_async_ms": r2(self.mean_async_ms),
            "sd_async_ms": r2(self.sd_async_ms),
            "within_20ms": round(self.within_20ms, 4),
            "alpha": [r2(a) for a in self.alpha],
            "leader": self.leader,
            "per_bar": [b.to_dict() for b in self.per_bar],
        }
        if self.phase is not None:
            sync["alpha_se"] = [r2(p.alpha_se) for p in self.phase]
            sync["beta_music"] = [r2(p.beta) for p in self.phase]
            sync["sigma_t_ms"] = [r2(p.sigma_t_ms) for p in self.phase]
            sync["sigma_m_ms"] = [r2(p.sigma_m_ms) for p in self.phase]
        return {
            "players": [p.to_dict() for p in self.players],
            "sync": sync,
            "summary": self.summary,
        }


def _merged(take_a: Take, take_b: Take, beatmap: BeatMap | None) -> Take:
    return Take(take_a.hits + take_b.hits, player="both", beatmap=beatmap)


def _span(outer: BeatMap, inner: BeatMap) -> bool:
    """True when ``inner``'s beats are a run of ``outer``'s (each within
    :data:`SAME_BEATS_S`), in bars of the same metre on the same downbeats."""
    if (outer.meter, outer.beat_unit) != (inner.meter, inner.beat_unit):
        return False
    beats = inner.beats_s
    first = int(np.searchsorted(outer.beats_s, beats[0] - SAME_BEATS_S))
    run = outer.beats_s[first:first + beats.size]
    if run.size < beats.size or np.max(np.abs(run - beats)) > SAME_BEATS_S:
        return False
    lo, hi = beats[0] - SAME_BEATS_S, beats[-1] + SAME_BEATS_S
    down_out = outer.downbeats_s[(outer.downbeats_s >= lo) & (outer.downbeats_s <= hi)]
    down_in = inner.downbeats_s[(inner.downbeats_s >= lo) & (inner.downbeats_s <= hi)]
    return down_out.size == down_in.size and bool(
        np.all(np.abs(down_out - down_in) <= SAME_BEATS_S))


def _described(bm: BeatMap) -> str:
    return f"{bm.beats_s.size} beats at {bm.tempo_bpm:.4g} BPM in {bm.meter}/{bm.beat_unit}"


def takes_beatmap(take_a: Take, take_b: Take, *,
                  fix: str = "give the chart or beat map (beatmap=) both played to") -> BeatMap | None:
    """The one beat map two takes were played along, from their own maps.

    Two maps are one grid when one's beats are a run of the other's, each within
    :data:`SAME_BEATS_S` (e.g. the same click loaded twice, or one take recorded longer), in
    bars of the same metre on the same downbeats; the map covering more beats is returned.
    A take without a map takes its partner's.

    Parameters
    ----------
    take_a, take_b : Take
        The two takes.
    fix : str
        What the message tells the caller to do when the maps differ (the command line names
        its option).

    Returns
    -------
    BeatMap or None
        None when neither take has a beat map.

    Raises
    ------
    InputError
        Naming both takes and how their maps differ (beats, tempo, metre, how far apart), if
        they are different grids: a duet is measured on one.
    """
    a, b = take_a.beatmap, take_b.beatmap
    if a is None or b is None or a is b:
        return a or b
    if b.beats_s.size > a.beats_s.size:
        if _span(b, a):
            return b
    elif _span(a, b):
        return a
    n = min(a.beats_s.size, b.beats_s.size)
    apart = np.abs(a.beats_s[:n] - b.beats_s[:n])
    if np.any(apart > SAME_BEATS_S):
        how = (f"{int(np.sum(apart > SAME_BEATS_S))} of their first {n} beats differ, by up "
               f"to {1000 * float(apart.max()):.0f} ms")
    else:
        how = "their beats agree but their bars do not"
    raise InputError(
        f"takes {take_a.player!r} and {take_b.player!r} were played along different beat maps "
        f"({_described(a)} against {_described(b)}; {how}); a duet is measured on one grid: "
        f"{fix}"
    )


def paired_onsets(
    score_a: TakeScore, score_b: TakeScore
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets hit by both players, with each player's hit time.

    Returns
    -------
    target_index, time_a_s, time_b_s : numpy.ndarray
    """
    a = score_a.matched_target_times()
    b = score_b.matched_target_times()
    common = np.array(sorted(set(a) & set(b)), dtype=np.int64)
    ta = np.array([a[i] for i in common], dtype=float)
    tb = np.array([b[i] for i in common], dtype=float)
    return common, ta, tb


def _beat_series(
    targets_s: np.ndarray, ta: np.ndarray, tb: np.ndarray, beatmap: BeatMap
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One onset per player per shared target time, on the beat where there are enough."""
    if targets_s.size == 0:
        return targets_s, ta, tb
    uniq, inverse = np.unique(targets_s, return_inverse=True)
    counts = np.bincount(inverse)
    mean_a = np.bincount(inverse, weights=ta) / counts
    mean_b = np.bincount(inverse, weights=tb) / counts
    beats = beatmap.to_beats(uniq)
    on_beat = np.abs(beats - np.round(beats)) < 0.02
    if on_beat.sum() >= 2 * MIN_EVENTS:
        return uniq[on_beat], mean_a[on_beat], mean_b[on_beat]
    return uniq, mean_a, mean_b


def _adjusts(p: PhaseCorrection) -> bool:
    """True when a player's correction towards the partner is clearly above zero."""
    return p.alpha >= max(0.05, SIGNIFICANCE_SE * p.alpha_se)


def _leader(a: PhaseCorrection, b: PhaseCorrection) -> str | None:
    """The player who corrects clearly less than the other, if either corrects at all."""
    if not (_adjusts(a) or _adjusts(b)):
        return None
    margin = max(LEADER_MARGIN, SIGNIFICANCE_SE * float(np.hypot(a.alpha_se, b.alpha_se)))
    if abs(a.alpha - b.alpha) < margin:
        return None
    return "A" if a.alpha < b.alpha else "B"


def _pct(gain: float) -> str:
    """A gain as a whole percentage, without a negative zero."""
    return f"{readable(100 * gain)}%"


def _summary(name_a: str, name_b: str, mean_ms: float | None, within: float,
             phase: tuple[PhaseCorrection, PhaseCorrection] | None, leader: str | None) -> str:
    if mean_ms is None:
        return f"{name_a} and {name_b} never played the same note, so their timing cannot be compared."
    if abs(mean_ms) < 2.0:
        lag = f"{name_a} and {name_b} sat right on top of each other (within 2 ms on average)"
    else:
        later, earlier = (name_a, name_b) if mean_ms > 0 else (name_b, name_a)
        lag = f"{later} played {abs(mean_ms):.0f} ms behind {earlier} on average"
    together = f"{100 * within:.0f}% of your shared notes landed within 20 ms of each other"
    if phase is None:
        follow = "play longer together, with the feel of real hands, to see who follows whom"
    else:
        a, b = phase[0].alpha, phase[1].alpha
        if not (_adjusts(phase[0]) or _adjusts(phase[1])):
            follow = "neither of you adjusted to the other: you both kept your own time"
        elif leader is None:
            follow = (f"you adjusted to each other about equally ({readable(a, 2)} and "
                      f"{readable(b, 2)} of each gap)")
        else:
            lead, follower = (name_a, name_b) if leader == "A" else (name_b, name_a)
            gain_l, gain_f = (a, b) if leader == "A" else (b, a)
            follow = (f"{lead} led and {follower} followed, correcting {_pct(gain_f)} of each gap "
                      f"against {lead}'s {_pct(gain_l)}")
    return f"{lag}; {together}; {follow}."


def analyse_duet(
    take_a: Take,
    take_b: Take,
    chart: Chart | None = None,
    *,
    grid: int | None = None,
    beatmap: BeatMap | None = None,
    config: ScoringConfig | None = None,
    played_along: bool = False,
) -> DuetResult:
    """Score two takes of one song and measure them against each other.

    Parameters
    ----------
    take_a, take_b : Take
        The two players' takes on one clock.
    chart : Chart, optional
        The notes both should play (on its own beat map); without it both are scored against
        the ``grid``.
    grid : int, optional
        Grid subdivision when there is no chart (default 16).
    beatmap : BeatMap, optional
        Beat map for the grid. By default the takes' own: they must be one grid (see
        :func:`takes_beatmap`; the longer of two copies is used). A chart's or a given beat
        map overrides the takes' own maps, which are then not compared (a live session passes
        its practice map).
    config : ScoringConfig, optional
        Windows and rules.
    played_along : bool
        The take was played along the chart on its own timeline (a live run): it is scored
        even where no hit comes near a note (all extra, every note missed) or the chart has
        no notes left (a run stopped before its first), instead of being refused as a take of
        another song.

    Returns
    -------
    DuetResult

    Raises
    ------
    InputError
        If either take is not a :class:`Take` or has no hits, or, with neither a chart nor a
        beat map given, the two takes carry different beat maps.
    """
    config = config or ScoringConfig()
    for take in (take_a, take_b):
        if not isinstance(take, Take):
            raise InputError(f"a duet is of two Takes, got {type(take).__name__}; wrap the "
                             "hits: Take(hits, player=..., beatmap=...)")
    if len(take_a) == 0 or len(take_b) == 0:
        empty = take_a.player if len(take_a) == 0 else take_b.player
        raise InputError(f"take {empty!r} has no hits; a duet needs two played takes")
    if len(take_a) + len(take_b) > MAX_EVENTS:  # both are matched on one set of targets
        raise InputError(f"the two takes hold {len(take_a)} and {len(take_b)} hits, more than "
                         f"the {MAX_EVENTS} a duet scores at once; measure a part of the duet "
                         "(the same stretch of both takes)")
    if chart is None and beatmap is None:
        beatmap = takes_beatmap(take_a, take_b)
    targets = build_targets(_merged(take_a, take_b, beatmap), chart, grid, beatmap, config,
                            played_along=played_along)
    score_a = assemble_score(take_a, targets, match_take(take_a, targets, config), config)
    score_b = assemble_score(take_b, targets, match_take(take_b, targets, config), config)
    idx, ta, tb = paired_onsets(score_a, score_b)
    async_ms = (ta - tb) * 1000.0
    bm = targets.beatmap
    target_times = targets.times_s[idx]
    bars = bm.bar_index(target_times)
    per_bar = []
    for bar in np.unique(bars):
        m = async_ms[bars == bar]
        per_bar.append(BarSync(int(bar), int(m.size), float(m.mean()),
                               float(m.std(ddof=1)) if m.size > 1 else None,
                               float(np.mean(np.abs(m) <= TOGETHER_MS))))
    beat_t, beat_a, beat_b = _beat_series(target_times, ta, tb, bm)
    phase = None
    leader = None
    if beat_t.size >= MIN_EVENTS:
        fit_a = phase_correction(beat_a, beat_b, beat_t)
        fit_b = phase_correction(beat_b, beat_a, beat_t)
        if fit_a is not None and fit_b is not None:
            phase = (fit_a, fit_b)
            leader = _leader(*phase)
    mean_ms = float(async_ms.mean()) if async_ms.size else None
    sd_ms = float(async_ms.std(ddof=1)) if async_ms.size > 1 else None
    within = float(np.mean(np.abs(async_ms) <= TOGETHER_MS)) if async_ms.size else 0.0
    return DuetResult(
        (score_a, score_b), idx, async_ms, mean_ms, sd_ms, within, per_bar, phase, leader,
        _summary(take_a.player, take_b.player, mean_ms, within, phase, leader),
    )
