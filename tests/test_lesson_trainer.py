"""The tempo trainer on simulated students of known accuracy, and feedback per position."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
from lesson_reference import GROOVES

from drumjam.errors import InputError
from drumjam.io.midi import read_take
from drumjam.lesson import (
    PassCriteria,
    Pattern,
    TrainerConfig,
    decide,
    evaluate_attempt,
    excerpt,
    extract_pattern,
    position_name,
    start,
)
from drumjam.lesson.grid import GridKind
from drumjam.model import Hit, Take, Voice

SOUL = "drummer1/eval_session/3_soul-groove3_86_beat_4-4.mid"


@pytest.fixture(scope="module")
def pattern() -> Pattern:
    return extract_pattern(excerpt(read_take(GROOVES / SOUL), 0, 8))


def student_take(
    pattern: Pattern,
    tempo_bpm: float,
    rng: np.random.Generator,
    sd_ms: float,
    miss_rate: float,
    loops: int = 2,
    bias_ms: float = 0.0,
) -> Take:
    """A student looping the pattern: timing errors ~ N(bias, sd), notes left out at random."""
    hits = []
    for row in pattern.note_times_s(tempo_bpm, loops):
        for note, t in zip(pattern.notes, row):
            if rng.random() < miss_rate:
                continue
            hits.append(
                Hit(max(0.0, t + rng.normal(bias_ms, sd_ms) / 1000.0), note.voice, note.velocity)
            )
    return Take(tuple(hits), player="student")


def run(
    pattern: Pattern,
    attempts: int,
    sd_ms,
    miss_rate,
    seed: int = 7,
    config: TrainerConfig = TrainerConfig(),
) -> list:
    """Tempo before each attempt and the decisions, for a student whose accuracy may change."""
    rng = np.random.default_rng(seed)
    state = start(pattern.tempo_bpm, config)
    decisions = []
    for i in range(attempts):
        sd = sd_ms(i) if callable(sd_ms) else sd_ms
        miss = miss_rate(i) if callable(miss_rate) else miss_rate
        take = student_take(pattern, state.tempo_bpm, rng, sd, miss)
        result = evaluate_attempt(pattern, take, state.tempo_bpm, config)
        decision = decide(state, result.passed, config)
        decisions.append(decision)
        state = decision.state
    return decisions


def test_tempo_goes_up_for_a_steady_student(pattern):
    decisions = run(pattern, 5, sd_ms=8.0, miss_rate=0.0)
    assert decisions[0].tempo_bpm == pytest.approx(0.6 * pattern.tempo_bpm, abs=0.1)
    assert all(d.passed and d.change == "up" for d in decisions)
    tempos = [d.tempo_bpm for d in decisions] + [decisions[-1].next_tempo_bpm]
    assert all(b > a for a, b in pairwise(tempos))


def test_tempo_goes_down_for_a_struggling_student(pattern):
    decisions = run(pattern, 6, sd_ms=60.0, miss_rate=0.3)
    assert not any(d.passed for d in decisions)
    # two failures in a row lower the tempo, never below 40 % of the target
    assert [d.change for d in decisions] == ["same", "down"] * 3
    assert decisions[-1].next_tempo_bpm < decisions[0].tempo_bpm
    assert decisions[-1].next_tempo_bpm >= 0.4 * pattern.tempo_bpm - 0.05


def test_an_improving_student_reaches_the_target(pattern):
    # timing spread falls from 60 ms to 6 ms over the attempts, misses from 30 % to none
    decisions = run(
        pattern,
        40,
        sd_ms=lambda i: max(6.0, 60.0 * 0.85**i),
        miss_rate=lambda i: max(0.0, 0.3 - 0.03 * i),
    )
    assert not decisions[0].passed
    final = decisions[-1].state
    assert final.mastered and final.tempo_bpm == pytest.approx(pattern.tempo_bpm)
    mastered_at = next(i for i, d in enumerate(decisions) if d.change == "mastered")
    assert decisions[mastered_at].tempo_bpm == pytest.approx(pattern.tempo_bpm)
    # it took passes at every step from 60 % up: at least 8 of 5 % each
    assert sum(d.change == "up" for d in decisions[:mastered_at]) >= 8


def test_decide_follows_its_settings():
    config = TrainerConfig(
        start_fraction=0.5,
        step_up_pct=10,
        step_down_pct=20,
        failures_before_down=3,
        min_fraction=0.3,
    )
    state = start(100.0, config)
    assert state.tempo_bpm == 50.0
    for expected in (50.0, 50.0, 30.0, 30.0, 30.0, 30.0):  # floor at 30 % of the target
        state = decide(state, False, config).state
        assert state.tempo_bpm == expected
    for expected in (40.0, 50.0, 60.0):
        state = decide(state, True, config).state
        assert state.tempo_bpm == expected
    at_target = decide(replace(state, tempo_bpm=100.0), True, config)
    assert at_target.change == "mastered" and at_target.state.mastered
    assert decide(replace(state, tempo_bpm=95.0), True, config).next_tempo_bpm == 100.0
    with pytest.raises(InputError):
        TrainerConfig(start_fraction=0.2, min_fraction=0.4)
    with pytest.raises(InputError):
        PassCriteria(min_played_pct=120)


def test_teacher_passes_their_own_groove(pattern):
    teacher = excerpt(read_take(GROOVES / SOUL), 1, 4)
    result = evaluate_attempt(pattern, teacher, pattern.tempo_bpm)
    # bars 1-4 of the take: loops 2 to 5 of a click starting at 0; loop 1 was a count-in
    assert result.loops == 4 and result.played_pct == 100
    with_feel = evaluate_attempt(
        pattern, teacher, pattern.tempo_bpm, TrainerConfig(with_feel=True), start_s=0.0
    )
    # the teacher sits about 20 ms ahead of the click: aiming at the feel removes that
    assert result.mean_offset_ms < -12
    assert abs(with_feel.mean_offset_ms) < abs(result.mean_offset_ms) / 2
    assert with_feel.on_time_pct > result.on_time_pct and with_feel.passed


def test_feedback_names_voice_and_position(pattern):
    times = pattern.note_times_s(80.0, loops=3)
    hits = []
    for row in times:
        for note, t in zip(pattern.notes, row):
            early = note.voice == Voice.HIHAT_CLOSED and note.beat % 4 == 1.5
            hits.append(Hit(t - (0.015 if early else 0.0), note.voice, note.velocity))
    result = evaluate_attempt(pattern, Take(tuple(hits)), 80.0)
    assert result.passed
    assert result.feedback()[0] == "hi-hat on the 'and' of 2 is 15 ms early"
    assert len(result.remarks) == 1
    kick = next(n for n in pattern.notes if n.voice == Voice.KICK)
    without_kick = Take(
        tuple(
            h
            for h in hits
            if not (
                h.voice == Voice.KICK
                and any(abs(h.time_s - row[pattern.notes.index(kick)]) < 1e-9 for row in times)
            )
        )
    )
    missed = evaluate_attempt(pattern, without_kick, 80.0)
    where = position_name(kick.beat % 4, pattern.grid)
    assert f"kick on {where} was missed 3 of 3 times" in missed.feedback()


def test_pass_criteria_are_the_teachers_to_change(pattern):
    rng = np.random.default_rng(3)
    take = student_take(pattern, 70.0, rng, sd_ms=25.0, miss_rate=0.0, loops=3)
    strict = evaluate_attempt(pattern, take, 70.0)
    lenient = evaluate_attempt(
        pattern,
        take,
        70.0,
        TrainerConfig(criteria=PassCriteria(on_time_ms=60.0, min_on_time_pct=80.0)),
    )
    assert not strict.passed and lenient.passed
    assert any("within 30 ms" in r for r in strict.reasons)
    rushing = student_take(pattern, 70.0, rng, sd_ms=5.0, miss_rate=0.0, bias_ms=-28.0)
    verdict = evaluate_attempt(pattern, rushing, 70.0)
    assert not verdict.passed and any(r.startswith("rushing") for r in verdict.reasons)


def test_position_names():
    from fractions import Fraction as F

    assert position_name(F(0), GridKind.SIXTEENTHS) == "1"
    assert position_name(F(5, 4), GridKind.SIXTEENTHS) == "the 'e' of 2"
    assert position_name(F(3, 2), GridKind.SIXTEENTHS) == "the 'and' of 2"
    assert position_name(F(15, 4), GridKind.SIXTEENTHS) == "the 'a' of 4"
    assert position_name(F(7, 3), GridKind.TRIPLETS) == "the 'trip' of 3"
    assert position_name(F(8, 3), GridKind.TRIPLETS) == "the 'let' of 3"


def test_feedback_on_ghost_notes_and_accents(pattern):
    ghost = next(n for n in pattern.notes if n.dynamic == "ghost")
    accent = next(
        n for n in pattern.notes if n.dynamic == "accent" and n.voice == Voice.HIHAT_CLOSED
    )
    times = pattern.note_times_s(70.0, loops=2)

    def take(ghost_velocity: int, accent_velocity: int) -> Take:
        hits = []
        for row in times:
            for note, t in zip(pattern.notes, row):
                v = {ghost: ghost_velocity, accent: accent_velocity}.get(note, note.velocity)
                hits.append(Hit(t, note.voice, v))
        return Take(tuple(hits))

    like_teacher = evaluate_attempt(pattern, take(ghost.velocity, accent.velocity), 70.0)
    assert not [r for r in like_teacher.remarks if r.kind == "dynamics"]
    flat = evaluate_attempt(pattern, take(127, 20), 70.0)
    messages = [r.message for r in flat.remarks if r.kind == "dynamics"]
    ghost_at = position_name(ghost.beat % 4, pattern.grid)
    accent_at = position_name(accent.beat % 4, pattern.grid)
    assert f"snare on {ghost_at} is a ghost note: play it softer" in messages
    assert f"hi-hat on {accent_at} is accented: play it louder" in messages
    # a keyboard sends one velocity for everything: no remarks on dynamics then
    keyboard = Take(
        tuple(Hit(t, n.voice, 100) for row in times for n, t in zip(pattern.notes, row))
    )
    assert not [
        r for r in evaluate_attempt(pattern, keyboard, 70.0).remarks if r.kind == "dynamics"
    ]


def test_a_count_in_is_not_a_missed_loop(pattern):
    rng = np.random.default_rng(5)
    played = student_take(pattern, 70.0, rng, sd_ms=5.0, miss_rate=0.0, loops=2)
    loop_s = pattern.length_beats * 60.0 / 70.0
    after_count_in = played.shifted(loop_s)  # one silent loop of clicks first
    result = evaluate_attempt(pattern, after_count_in, 70.0)
    assert result.loops == 2 and result.played_pct == 100 and result.passed
    # a loop left out in the middle is missed, though
    gap = Take(
        tuple(h for h in after_count_in.hits if not 2 * loop_s <= h.time_s < 3 * loop_s)
        + tuple(h for h in played.shifted(3 * loop_s).hits)
    )
    with_gap = evaluate_attempt(pattern, gap, 70.0)
    assert with_gap.loops == 4 and not with_gap.passed
    assert with_gap.played_pct == pytest.approx(75.0)
