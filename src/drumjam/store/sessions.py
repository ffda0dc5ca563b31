"""Saved jam sessions, their hits as they are played, and players' latency calibrations.

Sessions are only ever inserted, each under a new id that is never reused, so saving one can
never overwrite or lose an earlier one. A session being played has a row from its start
(status ``playing``, hidden from the history) and its hits are written to ``take_hits`` as
they arrive; :func:`finish_session` stores its results once (``finished``). A session whose
server stopped before that is scored from its hits by :func:`interrupt_session` and shown as
``interrupted``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from drumjam.errors import InputError, NotFoundError
from drumjam.model import BeatMap, Chart, Hit, Note
from drumjam.session.live import LiveSession, Player
from drumjam.store.db import Base, session_scope

log = logging.getLogger("drumjam.store")

PLAYING, FINISHED, INTERRUPTED = "playing", "finished", "interrupted"


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
    status: Mapped[str] = mapped_column(String(16), default=FINISHED, server_default=FINISHED)

    def to_dict(self, full: bool = True) -> dict[str, Any]:
        """JSON-ready form; ``full=False`` leaves out takes and results (for listings)."""
        out = _listed(self.id, self.song_id, self.song_title, self.players, self.practice,
                      self.created_at, self.results.get("summary", ""), self.status)
        if full:
            out.update(beatmap=self.beatmap, chart=self.chart, takes=self.takes,
                       results=self.results)
        return out


#: What a listing shows of each session: everything but its beat map, chart, takes and results
#: (megabytes each for a long session), whose summary is read from the results in SQL.
_LISTED = (SavedSession.id, SavedSession.song_id, SavedSession.song_title, SavedSession.players,
           SavedSession.practice, SavedSession.created_at,
           SavedSession.results["summary"].as_string(), SavedSession.status)


def _listed(session_id: int, song_id: str, song_title: str, players: list, practice: dict,
            created_at: datetime, summary: str | None, status: str) -> dict[str, Any]:
    """A session as the history lists it (the columns of :data:`_LISTED`)."""
    return {
        "id": session_id,
        "song_id": song_id,
        "song_title": song_title,
        "players": players,
        "practice": practice,
        "created_at": created_at.replace(tzinfo=created_at.tzinfo or UTC).isoformat(timespec="seconds"),
        "summary": summary or "",
        "status": status,
    }


class TakeHit(Base):
    """One hit of a session or room, written as it was played (latency removed)."""

    __tablename__ = "take_hits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("jam_sessions.id", ondelete="CASCADE"), index=True)
    player: Mapped[int] = mapped_column(Integer)
    time_s: Mapped[float] = mapped_column(Float)
    voice: Mapped[str] = mapped_column(String(16))
    velocity: Mapped[int] = mapped_column(Integer)
    hihat_openness: Mapped[float | None] = mapped_column(Float, nullable=True)


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
    status: str = FINISHED,
    url: str | None = None,
) -> int:
    """Store a finished session and return its new id."""
    with session_scope(url) as db:
        row = SavedSession(song_id=song_id, song_title=song_title, players=players,
                           practice=practice, beatmap=beatmap, chart=chart, takes=takes,
                           results=results, status=status)
        db.add(row)
        db.flush()
        return int(row.id)


def list_sessions(limit: int = 100, offset: int = 0, url: str | None = None) -> list[dict[str, Any]]:
    """The most recent sessions first (finished or interrupted), without takes and results.

    Only the listed columns are read (:data:`_LISTED`), so a page of long sessions costs what
    their names and summaries do, not their hits.
    """
    if not 1 <= limit <= 1000 or not 0 <= offset <= 2**53:
        raise InputError(f"history page limit {limit} / offset {offset}: use limit 1-1000, offset >= 0")
    with session_scope(url) as db:
        rows = db.execute(select(*_LISTED).where(SavedSession.status != PLAYING)
                          .order_by(SavedSession.id.desc()).limit(limit).offset(offset)).all()
        return [_listed(*row) for row in rows]


def get_session(session_id: int, url: str | None = None) -> dict[str, Any]:
    """A saved session with everything.

    Raises
    ------
    InputError
        If no session has the id.
    """
    with session_scope(url) as db:
        row = db.get(SavedSession, int(session_id)) if 1 <= session_id <= 2**53 else None
        if row is None or row.status == PLAYING:
            raise SessionNotFoundError(f"no saved session {session_id}; see the history for the ids")
        return row.to_dict()


def open_session(*, song_id: str, song_title: str, players: list[dict[str, Any]],
                 practice: dict[str, Any], beatmap: dict[str, Any], chart: dict[str, Any],
                 url: str | None = None) -> int:
    """Start the history row of a session being played (status ``playing``); its new id.

    Hits then go to :func:`drumjam.store.hitlog.insert_hits` under this id, and :func:`finish_session` (or, after a
    crash, :func:`interrupt_session`) stores the results.
    """
    return save_session(song_id=song_id, song_title=song_title, players=players, practice=practice,
                        beatmap=beatmap, chart=chart, takes=[], results={}, status=PLAYING, url=url)


def hit_json(hit: Hit) -> dict[str, Any]:
    """A hit as the history keeps it in ``takes``."""
    return {"time_s": hit.time_s, "voice": hit.voice.value, "velocity": hit.velocity,
            "hihat_openness": hit.hihat_openness}


def finish_session(session_id: int, *, players: list[dict[str, Any]], takes: list[list[Hit]],
                   results: dict[str, Any], url: str | None = None) -> bool:
    """Store a played session's results (once: False if it was finished already)."""
    with session_scope(url) as db:
        row = db.get(SavedSession, session_id, with_for_update=True)
        if row is None or row.status == FINISHED:
            return False
        row.players, row.results, row.status = players, results, FINISHED
        row.takes = [[hit_json(h) for h in take] for take in takes]
        return True


def saved_targets(saved: dict[str, Any]) -> tuple[Chart | None, BeatMap, int | None]:
    """The chart (or None and the grid) and the beat map a saved session was scored against."""
    beatmap = BeatMap.from_dict(saved["beatmap"])
    notes = saved["chart"].get("notes")
    chart = None
    if notes is not None:
        chart = Chart(tuple(Note(n["time_s"], n["voice"], n["velocity"]) for n in notes), beatmap,
                      title=saved["song_title"])
    return chart, beatmap, saved["chart"].get("grid")


def interrupt_session(session_id: int, url: str | None = None) -> bool:
    """Score a session that stopped while it was played from the hits written so far and keep
    it as ``interrupted``; one without a hit is deleted. True if it was kept."""
    with session_scope(url) as db:
        row = db.get(SavedSession, session_id, with_for_update=True)
        if row is None or row.status != PLAYING:
            return row is not None
        hits = db.scalars(select(TakeHit).where(TakeHit.session_id == session_id)
                          .order_by(TakeHit.id)).all()
        if not hits:
            db.delete(row)
            return False
        chart, beatmap, grid = saved_targets(row.to_dict())
        names = [p["name"] for p in row.players]
        live = LiveSession([Player(n) for n in names], beatmap, chart,
                           grid=16 if grid is None else grid)
        for h in hits:  # in the order they were played
            live.add_hit(h.player, Hit(h.time_s, h.voice, h.velocity, h.hihat_openness))
        result = live.finish()
        played = [row.players[i] for i in sorted({h.player for h in hits})]
        results = result.to_dict()
        for player, kept in zip(results["players"], played):
            player["latency_ms"] = kept.get("latency_ms", 0.0)
        results["summary"] = "Interrupted (the server stopped): " + results["summary"]
        row.players, row.results, row.status = played, results, INTERRUPTED
        row.takes = [[hit_json(h) for h in take.hits] for take in result.takes]
        return True


def recover_interrupted(url: str | None = None) -> list[int]:
    """Keep every session left ``playing`` by a server that stopped as ``interrupted``
    (those without hits are deleted); the ids kept. A session that cannot be scored is
    logged and left as it is, its hits kept: it must not stop the app from starting."""
    with session_scope(url) as db:
        ids = db.scalars(select(SavedSession.id).where(SavedSession.status == PLAYING)).all()
    kept = []
    for i in ids:
        try:
            if interrupt_session(i, url=url):
                kept.append(i)
        except Exception:  # noqa: BLE001 - one session's trouble is logged, the others kept
            log.exception("session %d could not be scored on recovery; its hits are kept", i)
    return kept


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
