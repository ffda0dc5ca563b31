"""Lessons, students, attempts and progress, in the same database as the jam sessions.

A lesson is a teacher's pattern under a name with its trainer settings. Each attempt a student
makes is kept (tempo, verdict, figures, feedback); a student's progress on a lesson is the
tempo trainer's state, updated by every attempt.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from drumjam.errors import InputError, NotFoundError
from drumjam.lesson import (
    Pattern, TrainerConfig, TrainerState, check_tempo, decide, evaluate_attempt, start,
)
from drumjam.model import Take
from drumjam.scoring import ScoringConfig
from drumjam.store.db import Base, session_scope

_NAME = re.compile(r"^[\w][\w .'-]{0,63}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.replace(tzinfo=at.tzinfo or UTC).isoformat(timespec="seconds")


class LessonNotFoundError(NotFoundError):
    """No lesson has the name asked for."""


class LessonRow(Base):
    """A lesson: the pattern to learn and the trainer's settings."""

    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    pattern: Mapped[dict] = mapped_column(JSON)
    trainer: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class StudentRow(Base):
    """Someone who practises lessons."""

    __tablename__ = "lesson_students"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ProgressRow(Base):
    """A student's standing on a lesson: the tempo trainer's state."""

    __tablename__ = "lesson_progress"

    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[int] = mapped_column(
        ForeignKey("lesson_students.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AttemptRow(Base):
    """One scored attempt of a student at a lesson."""

    __tablename__ = "lesson_attempts"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("lesson_students.id", ondelete="CASCADE"))
    tempo_bpm: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    next_tempo_bpm: Mapped[float] = mapped_column(Float)
    change: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


def check_name(name: str, what: str = "lesson") -> str:
    """A lesson or student name, stripped; letters, digits, spaces, ``_ . ' -``, 1-64 long."""
    name = str(name).strip()
    if not _NAME.match(name):
        raise InputError(
            f"{what} name {name!r} is not usable; use 1-64 letters, digits, spaces, '_', '.', "
            "\"'\" or '-', starting with a letter or digit"
        )
    return name


def _lesson(db: Session, name: str) -> LessonRow:
    row = db.scalar(select(LessonRow).where(LessonRow.name == name))
    if row is None:
        names = db.scalars(select(LessonRow.name).order_by(LessonRow.name)).all()
        hint = (
            f"lessons: {', '.join(names)}" if names else "create one with `drumjam lesson create`"
        )
        raise LessonNotFoundError(f"no lesson named {name!r} ({hint})")
    return row


def _student(db: Session, name: str, create: bool) -> StudentRow | None:
    row = db.scalar(select(StudentRow).where(StudentRow.name == name))
    if row is None and create:
        row = StudentRow(name=name)
        db.add(row)
        db.flush()
    return row


def lesson_info(row: LessonRow) -> dict[str, Any]:
    """The summary of a lesson shown in listings."""
    p = row.pattern
    return {
        "name": row.name,
        "bars": p["bars"],
        "grid": p["grid"],
        "swing_ratio": p["swing_ratio"],
        "tempo_bpm": p["tempo_bpm"],
        "notes": len(p["notes"]),
        "notes_per_voice": p.get("notes_per_voice", {}),
        "source": row.source,
        "created_at": _iso(row.created_at),
        "trainer": row.trainer,
    }


def create_lesson(
    name: str,
    pattern: Pattern,
    trainer: TrainerConfig = TrainerConfig(),
    source: str = "",
    url: str | None = None,
) -> dict[str, Any]:
    """Store a new lesson; the name must be free.

    Returns
    -------
    dict
        :func:`lesson_info` of the new lesson.
    """
    name = check_name(name)
    if not pattern.notes:
        raise InputError("the pattern has no notes; record or choose bars that have some")
    with session_scope(url) as db:
        if db.scalar(select(LessonRow.id).where(LessonRow.name == name)) is not None:
            raise InputError(f"a lesson named {name!r} exists already; choose another name")
        row = LessonRow(
            name=name,
            pattern=pattern.to_dict(),
            trainer=trainer.to_dict(),
            source=str(source)[:300],
        )
        db.add(row)
        db.flush()
        return lesson_info(row)


def load_lesson(name: str, url: str | None = None) -> tuple[Pattern, TrainerConfig, dict[str, Any]]:
    """The pattern, trainer settings and summary of a lesson."""
    with session_scope(url) as db:
        row = _lesson(db, name)
        return (
            Pattern.from_dict(row.pattern),
            TrainerConfig.from_dict(row.trainer),
            lesson_info(row),
        )


def rename_lesson(name: str, new_name: str, url: str | None = None) -> dict[str, Any]:
    """Give a lesson another name; its students' attempts and progress go with it.

    Returns
    -------
    dict
        :func:`lesson_info` under the new name.
    """
    new_name = check_name(new_name)
    with session_scope(url) as db:
        row = _lesson(db, name)
        taken = db.scalar(select(LessonRow.id).where(LessonRow.name == new_name))
        if taken is not None and taken != row.id:
            raise InputError(f"a lesson named {new_name!r} exists already; choose another name")
        row.name = new_name
        db.flush()
        return lesson_info(row)


def delete_lesson(name: str, url: str | None = None) -> dict[str, Any]:
    """Remove a lesson with every attempt at it and every student's progress on it.

    Returns
    -------
    dict
        ``name``, and the ``attempts`` and ``students`` removed with it.
    """
    with session_scope(url) as db:
        row = _lesson(db, name)
        gone = {
            "name": row.name,
            "attempts": db.scalar(select(func.count()).where(AttemptRow.lesson_id == row.id)),
            "students": db.scalar(select(func.count()).where(ProgressRow.lesson_id == row.id)),
        }
        db.delete(row)  # attempts and progress go by the foreign keys' ON DELETE CASCADE
        return gone


def list_lessons(url: str | None = None) -> list[dict[str, Any]]:
    """Every lesson, by name."""
    with session_scope(url) as db:
        return [lesson_info(r) for r in db.scalars(select(LessonRow).order_by(LessonRow.name))]


def _state(
    db: Session, lesson: LessonRow, student: StudentRow | None, trainer: TrainerConfig
) -> TrainerState:
    row = None if student is None else db.get(ProgressRow, (lesson.id, student.id))
    if row is None:
        return start(float(lesson.pattern["tempo_bpm"]), trainer)
    return TrainerState(**row.state)


def practise(
    name: str,
    student: str,
    take: Take,
    tempo_bpm: float | None = None,
    scoring: ScoringConfig = ScoringConfig(),
    url: str | None = None,
    loops: int | None = None,
    start_s: float | None = None,
) -> dict[str, Any]:
    """Score a student's attempt at a lesson, let the trainer decide and store both.

    Parameters
    ----------
    name : str
        The lesson.
    student : str
        Who played (created on first use).
    take : Take
        The attempt, played to a click whose first beat is the take's first downbeat (or 0).
    tempo_bpm : float, optional
        Tempo the attempt was played at (default: the tempo the trainer set).
    scoring : ScoringConfig
        Matching windows.
    url : str, optional
        Database (default: :func:`drumjam.paths.db_url`).
    loops : int, optional
        Loops the student was asked to play from the first beat (default: from the hits).
    start_s : float, optional
        Time of the first beat in the take (default: its first downbeat, else 0).

    Returns
    -------
    dict
        ``passed``, ``tempo_bpm``, ``next_tempo_bpm``, ``change``, ``feedback`` (sentences),
        the attempt's figures and the student's ``progress``.

    Raises
    ------
    InputError
        If ``tempo_bpm`` is not 20-400 BPM (0, NaN or infinite included) or the take has no
        hits (nothing is stored then).
    NotFoundError
        If there is no such lesson.
    """
    student = check_name(student, "student")
    if tempo_bpm is not None:
        tempo_bpm = check_tempo(tempo_bpm)
    with session_scope(url) as db:
        lesson = _lesson(db, name)
        pattern = Pattern.from_dict(lesson.pattern)
        trainer = TrainerConfig.from_dict(lesson.trainer)
        who = _student(db, student, True)
        state = _state(db, lesson, who, trainer)
        tempo = state.tempo_bpm if tempo_bpm is None else tempo_bpm
        result = evaluate_attempt(pattern, take, tempo, trainer, scoring, start_s=start_s, loops=loops)
        decision = decide(state, result.passed, trainer, tempo)
        progress = db.get(ProgressRow, (lesson.id, who.id))
        if progress is None:
            progress = ProgressRow(lesson_id=lesson.id, student_id=who.id, state={})
            db.add(progress)
        progress.state = decision.state.to_dict()
        progress.updated_at = _now()
        summary = result.to_dict()
        db.add(
            AttemptRow(
                lesson_id=lesson.id,
                student_id=who.id,
                tempo_bpm=tempo,
                passed=result.passed,
                next_tempo_bpm=decision.next_tempo_bpm,
                change=decision.change,
                result=summary,
            )
        )
        summary.update(
            lesson=lesson.name,
            student=student,
            next_tempo_bpm=decision.next_tempo_bpm,
            change=decision.change,
            progress=decision.state.to_dict(),
        )
        return summary


def progress(name: str, student: str, url: str | None = None) -> dict[str, Any]:
    """A student's standing on a lesson and the history of their attempts."""
    student = check_name(student, "student")
    with session_scope(url) as db:
        lesson = _lesson(db, name)
        trainer = TrainerConfig.from_dict(lesson.trainer)
        who = _student(db, student, False)
        state = _state(db, lesson, who, trainer)
        attempts = (
            []
            if who is None
            else db.scalars(
                select(AttemptRow)
                .where(AttemptRow.lesson_id == lesson.id, AttemptRow.student_id == who.id)
                .order_by(AttemptRow.id)
            ).all()
        )
        history = [
            {
                "attempt": i + 1,
                "at": _iso(a.created_at),
                "tempo_bpm": a.tempo_bpm,
                "passed": a.passed,
                "next_tempo_bpm": a.next_tempo_bpm,
                "change": a.change,
                "played_pct": a.result.get("played_pct"),
                "on_time_pct": a.result.get("on_time_pct"),
                "mean_offset_ms": a.result.get("mean_offset_ms"),
            }
            for i, a in enumerate(attempts)
        ]
        return {
            "lesson": lesson.name,
            "student": student,
            **state.to_dict(),
            "tempo_pct_of_target": round(100.0 * state.tempo_bpm / state.target_bpm, 1),
            "history": history,
        }


def students(name: str, url: str | None = None) -> list[dict[str, Any]]:
    """Every student who practised a lesson, by name: their trainer state and last attempt."""
    with session_scope(url) as db:
        lesson = _lesson(db, name)
        rows = db.execute(
            select(StudentRow.name, ProgressRow.state, ProgressRow.updated_at)
            .join(ProgressRow, ProgressRow.student_id == StudentRow.id)
            .where(ProgressRow.lesson_id == lesson.id)
            .order_by(StudentRow.name)
        ).all()
        return [
            {
                "student": student,
                **state,
                "tempo_pct_of_target": round(100.0 * state["tempo_bpm"] / state["target_bpm"], 1),
                "last_attempt_at": _iso(at),
            }
            for student, state, at in rows
        ]
