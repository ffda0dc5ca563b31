"""Saved jam sessions and players' latency calibrations.

Sessions are only ever inserted, each under a new id that is never reused, so saving one can
never overwrite or lose an earlier one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Float, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from drumjam.errors import InputError, NotFoundError
from drumjam.store.db import Base, session_scope


def _now() -> datetime:
    return datetime.now(UTC)


class SessionNotFoundError(NotFoundError):
    """No saved session has the id asked for."""


class SavedSession(Base):
    """One finished jam session: song, players, takes and results."""

    __tablename__ = "jam_sessions"
    __table_args__: ClassVar[dict[str, bool]] = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    song_id: Mapped[str] = mapped_column(String(64))
    song_title: Mapped[str] = mapped_column(String(200))
    players: Mapped[list] = mapped_column(JSON)
    practice: Mapped[dict] = mapped_column(JSON)
    beatmap: Mapped[dict] = mapped_column(JSON)
    chart: Mapped[dict] = mapped_column(JSON)
    takes: Mapped[list] = mapped_column(JSON)
    results: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    def to_dict(self, full: bool = True) -> dict[str, Any]:
        """JSON-ready form; ``full=False`` leaves out takes and results (for listings)."""
        out = {
            "id": self.id,
            "song_id": self.song_id,
            "song_title": self.song_title,
            "players": self.players,
            "practice": self.practice,
            "created_at": self.created_at.replace(tzinfo=self.created_at.tzinfo or UTC)
            .isoformat(timespec="seconds"),
            "summary": self.results.get("summary", ""),
        }
        if full:
            out.update(beatmap=self.beatmap, chart=self.chart, takes=self.takes,
                       results=self.results)
        return out


class PlayerCalibration(Base):
    """The latency measured for a player's setup (latest measurement wins)."""

    __tablename__ = "player_calibrations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    taps: Mapped[int] = mapped_column(Integer)
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


def save_session(
    *,
    song_id: str,
    song_title: str,
    players: list[dict[str, Any]],
    practice: dict[str, Any],
    beatmap: dict[str, Any],
    chart: dict[str, Any],
    takes: list[list[dict[str, Any]]],
    results: dict[str, Any],
    url: str | None = None,
) -> int:
    """Store a finished session and return its new id."""
    with session_scope(url) as db:
        row = SavedSession(song_id=song_id, song_title=song_title, players=players,
                           practice=practice, beatmap=beatmap, chart=chart, takes=takes, results=results)
        db.add(row)
        db.flush()
        return int(row.id)


def list_sessions(limit: int = 100, offset: int = 0, url: str | None = None) -> list[dict[str, Any]]:
    """The most recent sessions first, without takes and results."""
    if not 1 <= limit <= 1000 or offset < 0:
        raise InputError(f"history page limit {limit} / offset {offset}: use limit 1-1000, offset >= 0")
    with session_scope(url) as db:
        rows = db.scalars(select(SavedSession).order_by(SavedSession.id.desc())
                          .limit(limit).offset(offset)).all()
        return [r.to_dict(full=False) for r in rows]


def get_session(session_id: int, url: str | None = None) -> dict[str, Any]:
    """A saved session with everything.

    Raises
    ------
    InputError
        If no session has the id.
    """
    with session_scope(url) as db:
        row = db.get(SavedSession, int(session_id))
        if row is None:
            raise SessionNotFoundError(f"no saved session {session_id}; see the history for the ids")
        return row.to_dict()


def save_calibration(name: str, latency_ms: float, taps: int, url: str | None = None) -> None:
    """Store (or replace) a player's measured latency."""
    with session_scope(url) as db:
        row = db.get(PlayerCalibration, name)
        if row is None:
            db.add(PlayerCalibration(name=name, latency_ms=float(latency_ms), taps=int(taps)))
        else:
            row.latency_ms, row.taps, row.measured_at = float(latency_ms), int(taps), _now()


def get_calibration(name: str, url: str | None = None) -> float | None:
    """A player's stored latency in ms, or None if they never calibrated."""
    with session_scope(url) as db:
        row = db.get(PlayerCalibration, name)
        return None if row is None else float(row.latency_ms)
