"""Lessons, students, attempts and progress live in the same database as the jam sessions."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import inspect

from drumjam.lesson import TrainerConfig, extract_pattern
from drumjam.model import BeatMap, Hit, Take, Voice
from drumjam.store import lessons as store
from drumjam.store.db import get_engine
from drumjam.store.sessions import list_sessions


def groove(
    tempo_bpm: float = 90.0, bars: int = 4, offset_ms: float = 0.0, start_s: float = 0.0
) -> Take:
    beat_s = 60.0 / tempo_bpm
    hits = []
    for bar in range(bars):
        t0 = start_s + bar * 4 * beat_s + offset_ms / 1000
        hits += [Hit(t0 + k * beat_s / 2, Voice.HIHAT_CLOSED, 90) for k in range(8)]
        hits += [Hit(t0 + k * beat_s, Voice.KICK, 100) for k in (0, 2)]
        hits += [Hit(t0 + k * beat_s, Voice.SNARE, 110) for k in (1, 3)]
    return Take(tuple(hits), beatmap=BeatMap.constant(tempo_bpm, start_s + (bars + 1) * 4 * beat_s))


def test_same_database_as_the_sessions(db_url):
    url = db_url  # also $DRUMJAM_DB_URL
    store.create_lesson("rock", extract_pattern(groove()))
    assert list_sessions() == []  # the sessions' tables answer from the same file
    tables = set(inspect(get_engine(url)).get_table_names())
    assert {
        "lessons",
        "lesson_students",
        "lesson_attempts",
        "lesson_progress",
        "jam_sessions",
    } <= tables
    assert [row["name"] for row in store.list_lessons()] == ["rock"]


def test_attempts_and_progress_are_kept_per_student(db_url):
    url = db_url
    config = TrainerConfig(start_fraction=0.5, step_up_pct=10)
    store.create_lesson("rock", extract_pattern(groove()), trainer=config, url=url)
    fresh = store.progress("rock", "ann", url=url)
    assert (fresh["tempo_bpm"], fresh["attempts"], fresh["history"]) == (45.0, 0, [])
    tempos = []
    for _ in range(3):
        tempo = store.progress("rock", "ann", url=url)["tempo_bpm"]
        tempos.append(tempo)
        result = store.practise("rock", "ann", groove(tempo, bars=2), url=url)
        assert result["passed"]
    assert tempos == [45.0, 54.0, 63.0]
    late = store.practise("rock", "ben", groove(45.0, bars=2, offset_ms=40), url=url)
    assert not late["passed"] and any("dragging" in line for line in late["feedback"])
    ann, ben = store.progress("rock", "ann", url=url), store.progress("rock", "ben", url=url)
    assert ann["attempts"] == 3 and ann["tempo_bpm"] == 72.0 and ann["best_passed_bpm"] == 63.0
    assert [h["tempo_bpm"] for h in ann["history"]] == tempos
    assert ben["attempts"] == 1 and ben["tempo_bpm"] == 45.0 and ben["failures_in_row"] == 1
    assert np.isclose(ben["history"][0]["mean_offset_ms"], 40, atol=1)
    everyone = store.students("rock", url=url)
    assert [(s["student"], s["attempts"], s["tempo_bpm"]) for s in everyone] == [
        ("ann", 3, 72.0),
        ("ben", 1, 45.0),
    ]


def test_unknown_lesson_names_the_ones_there_are(db_url):
    url = db_url
    with pytest.raises(store.LessonNotFoundError, match="create one"):
        store.load_lesson("rock", url=url)
    store.create_lesson("rock", extract_pattern(groove()), url=url)
    with pytest.raises(store.LessonNotFoundError, match="lessons: rock"):
        store.progress("jazz", "ann", url=url)
    with pytest.raises(ValueError, match="student name"):
        store.practise("rock", "", groove(), url=url)


def test_rename_keeps_the_progress_and_delete_takes_it_along(db_url):
    url = db_url
    store.create_lesson("rock", extract_pattern(groove()), url=url)
    store.create_lesson("funk", extract_pattern(groove(100.0)), url=url)
    store.practise("rock", "ann", groove(54.0, bars=2), url=url)
    store.practise("rock", "ben", groove(54.0, bars=2), url=url)
    store.practise("funk", "ann", groove(60.0, bars=2), url=url)

    assert store.rename_lesson("rock", " rock basics ", url=url)["name"] == "rock basics"
    assert store.progress("rock basics", "ann", url=url)["attempts"] == 1
    with pytest.raises(store.LessonNotFoundError):
        store.load_lesson("rock", url=url)
    with pytest.raises(ValueError, match="exists already"):
        store.rename_lesson("rock basics", "funk", url=url)
    with pytest.raises(ValueError, match="not usable"):
        store.rename_lesson("rock basics", "a/b", url=url)
    assert store.rename_lesson("rock basics", "rock basics", url=url)["name"] == "rock basics"

    assert store.delete_lesson("rock basics", url=url) == {"name": "rock basics", "attempts": 2, "students": 2}
    assert [row["name"] for row in store.list_lessons(url=url)] == ["funk"]
    # the other lesson keeps its own attempts; a new lesson of the old name starts afresh
    assert store.progress("funk", "ann", url=url)["attempts"] == 1
    store.create_lesson("rock basics", extract_pattern(groove()), url=url)
    assert store.progress("rock basics", "ann", url=url)["attempts"] == 0
    with pytest.raises(store.LessonNotFoundError, match="no lesson named 'jazz'"):
        store.delete_lesson("jazz", url=url)
