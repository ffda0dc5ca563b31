"""The tempo trainer: loop the pattern, speed up after a passing loop, slow down after failures.

Like Roland's AUTO UP/DOWN and Yousician's auto-speed: the student starts at
``start_fraction`` of the target tempo (60 % by default); every passing attempt raises the
tempo by ``step_up_pct`` of the target; ``failures_before_down`` failures in a row lower it
by ``step_down_pct``; the tempo stays within ``[min_fraction, 1] x target``. A pass at the
target tempo masters the lesson.

An attempt passes when all of :class:`~drumjam.lesson.config.PassCriteria` hold (defaults in
brackets, each one the teacher may change): at least ``min_played_pct`` of the pattern's
notes are played [90 %], at least ``min_on_time_pct`` of them within ``on_time_ms`` of their
target [80 % within 30 ms], extra hits are at most ``max_extra_pct`` of the notes [10 %], and
the mean offset is within ``max_mean_offset_ms`` [25 ms], so a student who rushes or drags
throughout does not pass.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from drumjam.errors import InputError
from drumjam.lesson.config import TrainerConfig, check_tempo
from drumjam.lesson.feedback import DEFAULT_REMARK_MS, Remark, remarks, voice_summary
from drumjam.lesson.pattern import Pattern
from drumjam.model import Chart, Take
from drumjam.model.beatmap import MIN_TEMPO_BPM
from drumjam.scoring import Judgment, ScoringConfig, TakeScore, score_take

#: Most loops one attempt may ask for.
MAX_LOOPS = 256


@dataclass(frozen=True)
class TrainerState:
    """Where a student stands on one lesson.

    Attributes
    ----------
    target_bpm : float
        The teacher's tempo.
    tempo_bpm : float
        The tempo of the next attempt.
    failures_in_row : int
        Failed attempts since the last pass or tempo drop.
    attempts, passes : int
        Attempts made and passed.
    best_passed_bpm : float or None
        Fastest tempo passed so far.
    mastered : bool
        Passed at the target tempo.
    """

    target_bpm: float
    tempo_bpm: float
    failures_in_row: int = 0
    attempts: int = 0
    passes: int = 0
    best_passed_bpm: float | None = None
    mastered: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """What the trainer does after an attempt.

    Attributes
    ----------
    passed : bool
        The attempt's verdict.
    tempo_bpm, next_tempo_bpm : float
        Tempo of this attempt and of the next.
    change : str
        ``"up"``, ``"down"``, ``"same"`` or ``"mastered"``.
    state : TrainerState
        The student's state after the attempt.
    """

    passed: bool
    tempo_bpm: float
    next_tempo_bpm: float
    change: str
    state: TrainerState


def start(target_bpm: float, config: TrainerConfig = TrainerConfig()) -> TrainerState:
    """The first state of a student: ``start_fraction`` of the target tempo."""
    target_bpm = check_tempo(target_bpm, "target tempo")
    return TrainerState(
        target_bpm, _round_bpm(max(MIN_TEMPO_BPM, target_bpm * config.start_fraction))
    )


def _round_bpm(bpm: float) -> float:
    return round(float(bpm), 1)


def decide(
    state: TrainerState,
    passed: bool,
    config: TrainerConfig = TrainerConfig(),
    tempo_bpm: float | None = None,
) -> Decision:
    """Apply one attempt's verdict to a student's state.

    Parameters
    ----------
    state : TrainerState
        Before the attempt.
    passed : bool
        Whether the attempt passed.
    config : TrainerConfig
        Steps and limits.
    tempo_bpm : float, optional
        Tempo the attempt was played at (default: the state's tempo).

    Returns
    -------
    Decision
        The verdict, the next tempo and the new state.

    Raises
    ------
    InputError
        If ``tempo_bpm`` is given but not 20-400 BPM (0, NaN or infinite included).
    """
    tempo = state.tempo_bpm if tempo_bpm is None else check_tempo(tempo_bpm)
    target = state.target_bpm
    lowest = max(MIN_TEMPO_BPM, target * config.min_fraction)
    failures = state.failures_in_row
    best = state.best_passed_bpm
    mastered = state.mastered
    if passed:
        failures = 0
        best = max(best or 0.0, tempo)
        if tempo >= target - 0.05:
            mastered = True
            next_bpm, change = target, "mastered"
        else:
            next_bpm = min(target, tempo + target * config.step_up_pct / 100.0)
            change = "up"
    else:
        failures += 1
        if failures >= config.failures_before_down:
            next_bpm = max(lowest, tempo - target * config.step_down_pct / 100.0)
            failures = 0
            change = "down" if next_bpm < tempo else "same"
        else:
            next_bpm, change = tempo, "same"
    new_state = replace(
        state,
        tempo_bpm=_round_bpm(next_bpm),
        failures_in_row=failures,
        attempts=state.attempts + 1,
        passes=state.passes + int(passed),
        best_passed_bpm=best,
        mastered=mastered,
    )
    return Decision(passed, tempo, _round_bpm(next_bpm), change, new_state)


@dataclass(frozen=True)
class AttemptResult:
    """A scored attempt at a pattern.

    Attributes
    ----------
    passed : bool
        All pass criteria hold.
    tempo_bpm : float
        Tempo the attempt was scored at.
    loops : int
        Loops of the pattern the attempt covered (from its first hit to its last).
    played_pct, on_time_pct, extra_pct : float
        Notes played, notes played within ``on_time_ms``, extra hits; percentages of the notes.
    mean_offset_ms : float or None
        Mean offset of the played notes (positive = late).
    reasons : list of str
        The criteria that failed, in words.
    remarks : list of Remark
        Feedback per voice and position, worst first.
    summary : list of str
        Feedback per voice.
    score : TakeScore
        The full score from :func:`drumjam.scoring.score_take`.
    """

    passed: bool
    tempo_bpm: float
    loops: int
    played_pct: float
    on_time_pct: float
    extra_pct: float
    mean_offset_ms: float | None
    reasons: list[str]
    remarks: list[Remark]
    summary: list[str]
    score: TakeScore

    def feedback(self, limit: int = 8) -> list[str]:
        """The feedback sentences: what failed, then per position, then per voice."""
        lines = list(self.reasons)
        lines += [r.message for r in self.remarks[:limit]]
        lines += self.summary
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the per-hit score)."""
        return {
            "passed": self.passed,
            "tempo_bpm": self.tempo_bpm,
            "loops": self.loops,
            "played_pct": round(self.played_pct, 1),
            "on_time_pct": round(self.on_time_pct, 1),
            "extra_pct": round(self.extra_pct, 1),
            "mean_offset_ms": None
            if self.mean_offset_ms is None
            else round(self.mean_offset_ms, 1),
            "feedback": self.feedback(),
            "remarks": [r.to_dict() for r in self.remarks],
        }


def loops_in(
    take: Take, pattern: Pattern, tempo_bpm: float, start_s: float = 0.0
) -> tuple[int, int]:
    """The loops of the pattern a take plays: (first, count), counted from ``start_s``.

    A loop counts once it has begun: a hit up to half a sixteenth note before a loop's first
    beat starts that loop. Loops before the first hit (a count-in) are not counted.
    """
    if len(take) == 0:
        return 0, 1

    def loop_of(time_s: float) -> int:
        beat = (time_s - start_s) * tempo_bpm / 60.0
        return math.floor((beat + 0.125) / pattern.length_beats)

    first = max(0, loop_of(take.hits[0].time_s))
    return first, max(1, loop_of(take.hits[-1].time_s) + 1 - first)


def evaluate_attempt(
    pattern: Pattern,
    take: Take,
    tempo_bpm: float,
    config: TrainerConfig = TrainerConfig(),
    scoring: ScoringConfig = ScoringConfig(),
    start_s: float | None = None,
    remark_ms: float = DEFAULT_REMARK_MS,
    loops: int | None = None,
) -> AttemptResult:
    """Score an attempt at a pattern and check the pass criteria.

    Parameters
    ----------
    pattern : Pattern
        The lesson's pattern.
    take : Take
        What the student played, looping the pattern to a click at ``tempo_bpm`` whose first
        beat is at ``start_s``.
    tempo_bpm : float
        Tempo of the click.
    config : TrainerConfig
        Pass criteria and whether the targets carry the teacher's feel.
    scoring : ScoringConfig
        Matching windows for :func:`drumjam.scoring.score_take`.
    start_s : float, optional
        Time of the first click (default: the take's first downbeat, else 0). Whole loops
        before the first hit are a count-in, not misses.
    remark_ms : float
        Smallest offset worth a remark.
    loops : int, optional
        Loops the student was asked to play from ``start_s`` (the app's recorder knows);
        by default the loops from the first hit to the last.

    Returns
    -------
    AttemptResult

    Raises
    ------
    InputError
        If the tempo is not 20-400 BPM (0, NaN, infinite), the attempt has no hits or
        ``loops`` is out of range.
    """
    tempo_bpm = check_tempo(tempo_bpm)
    if start_s is None:
        bm = take.beatmap
        start_s = float(bm.downbeats_s[0]) if bm is not None and bm.downbeats_s.size else 0.0
    if len(take) == 0:
        raise InputError("the attempt has no hits; play the pattern along with the click")
    if loops is None:
        first_loop, loops = loops_in(take, pattern, tempo_bpm, start_s)
        start_s += first_loop * pattern.length_beats * 60.0 / tempo_bpm
    elif not 1 <= loops <= MAX_LOOPS:
        raise InputError(f"an attempt has 1-{MAX_LOOPS} loops, not {loops}")
    chart = pattern.to_chart(tempo_bpm, loops, start_s, with_feel=config.with_feel)
    score = score_take(take, chart, config=scoring)
    index_of = _pattern_index(pattern, chart, loops, tempo_bpm, start_s, config.with_feel)
    offsets: list[list[float | None]] = [[None] * loops for _ in pattern.notes]
    velocities: list[list[int | None]] = [[None] * loops for _ in pattern.notes]
    for h in score.hits:
        if h.target_index is not None and h.judgment is not Judgment.EXTRA:
            note_i, loop = index_of[h.target_index]
            offsets[note_i][loop] = h.offset_ms
            velocities[note_i][loop] = h.velocity
    crit = config.criteria
    n_notes = len(chart)
    played = [o for row in offsets for o in row if o is not None]
    extra = sum(1 for h in score.hits if h.judgment is Judgment.EXTRA)
    played_pct = 100.0 * len(played) / n_notes
    on_time_pct = 100.0 * sum(abs(o) <= crit.on_time_ms for o in played) / n_notes
    extra_pct = 100.0 * extra / n_notes
    mean = float(np.mean(played)) if played else None
    reasons = []
    if played_pct < crit.min_played_pct:
        reasons.append(f"played {played_pct:.0f} % of the notes (need {crit.min_played_pct:.0f} %)")
    if on_time_pct < crit.min_on_time_pct:
        reasons.append(
            f"{on_time_pct:.0f} % of the notes within {crit.on_time_ms:.0f} ms "
            f"(need {crit.min_on_time_pct:.0f} %)"
        )
    if extra_pct > crit.max_extra_pct:
        reasons.append(
            f"{extra} extra hits, {extra_pct:.0f} % of the notes "
            f"(at most {crit.max_extra_pct:.0f} %)"
        )
    if mean is not None and abs(mean) > crit.max_mean_offset_ms:
        reasons.append(
            f"{'dragging' if mean > 0 else 'rushing'}: {abs(mean):.0f} ms "
            f"{'late' if mean > 0 else 'early'} on average "
            f"(at most {crit.max_mean_offset_ms:.0f} ms)"
        )
    return AttemptResult(
        passed=not reasons,
        tempo_bpm=float(tempo_bpm),
        loops=loops,
        played_pct=played_pct,
        on_time_pct=on_time_pct,
        extra_pct=extra_pct,
        mean_offset_ms=mean,
        reasons=reasons,
        remarks=remarks(pattern, offsets, remark_ms, velocities),
        summary=voice_summary(pattern, offsets, remark_ms),
        score=score,
    )


def _pattern_index(
    pattern: Pattern, chart: Chart, loops: int, tempo_bpm: float, start_s: float, with_feel: bool
) -> list[tuple[int, int]]:
    """For each chart note, the (pattern note, loop) it came from."""
    lookup: dict[tuple[float, str], list[tuple[int, int]]] = {}
    times = pattern.note_times_s(tempo_bpm, loops, start_s, with_feel)
    for loop, row in enumerate(times):
        for i, (n, t) in enumerate(zip(pattern.notes, row)):
            lookup.setdefault((round(float(t), 6), n.voice.value), []).append((i, loop))
    return [lookup[(round(note.time_s, 6), note.voice.value)].pop(0) for note in chart.notes]
