"""What the app keeps while it runs: the song library, the database URL and live sessions.

A live session is never evicted while its player is connected, nor within
:data:`LIVE_IDLE_S` of its last activity (the player may reconnect); past that an idle session
is forgotten. When :data:`MAX_LIVE_SESSIONS` sessions are all in use, a new one is refused
(503) rather than dropping one being played.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from drumjam.errors import DrumjamError, NotFoundError
from drumjam.session.live import LiveSession
from drumjam.session.practice import Practice, PracticePlan
from drumjam.library import Song, SongLibrary
from drumjam.store.sessions import save_session

MAX_LIVE_SESSIONS = 500
#: A session nobody is connected to is forgotten this long after its last activity.
LIVE_IDLE_S = 10 * 60.0


class ServerBusyError(DrumjamError, RuntimeError):
    """Every slot is in use by someone playing; the app answers 503."""


@dataclass
class LiveEntry:
    """A session being played: the song, how it is practised, and the live scorers."""

    song: Song
    practice: Practice
    plan: PracticePlan
    session: LiveSession
    connections: int = 0
    last_active_s: float = field(default_factory=time.monotonic)
    saved: tuple[int, str] | None = None
    finish_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class JamState:
    """Per-app state (one per :func:`drumjam.web.app.create_app` call).

    Parameters
    ----------
    home : Path
        Folder for added songs and caches.
    db_url : str
        SQLAlchemy URL of the session history.
    max_upload_bytes : int
        Largest song file accepted.
    """

    def __init__(self, home: Path, db_url: str, max_upload_bytes: int) -> None:
        self.home = home
        self.db_url = db_url
        self.max_upload_bytes = max_upload_bytes
        self.library = SongLibrary(home)
        self._live: dict[str, LiveEntry] = {}
        self._lock = threading.Lock()

    def add_live(self, entry: LiveEntry) -> str:
        """Register a live session and return its unguessable id.

        Raises
        ------
        ServerBusyError
            If :data:`MAX_LIVE_SESSIONS` sessions are in use.
        """
        live_id = secrets.token_urlsafe(12)
        with self._lock:
            self._sweep(time.monotonic())
            if len(self._live) >= MAX_LIVE_SESSIONS:
                raise ServerBusyError(f"{MAX_LIVE_SESSIONS} sessions are being played; try again "
                                      f"in a few minutes")
            self._live[live_id] = entry
        return live_id

    def _sweep(self, now_s: float) -> None:
        for key, entry in list(self._live.items()):
            if entry.connections == 0 and now_s - entry.last_active_s > LIVE_IDLE_S:
                del self._live[key]

    def live(self, live_id: str) -> LiveEntry:
        """The live session with this id."""
        entry = self._live.get(live_id)
        if entry is None:
            raise NotFoundError(f"no live session {live_id!r}; start the song again")
        return entry

    def connected(self, entry: LiveEntry, opened: bool) -> None:
        """Count a player's connection opening or closing (and the session's activity)."""
        with self._lock:
            entry.connections += 1 if opened else -1
            entry.last_active_s = time.monotonic()

    def finish_live(self, live_id: str, entry: LiveEntry) -> tuple[int, str]:
        """Score and save a live session once; later calls return the same history id.

        Raises
        ------
        InputError
            If nobody played a hit.
        """
        with entry.finish_lock:
            if entry.saved is None:
                entry.saved = _save(self.db_url, entry)
        with self._lock:
            self._live.pop(live_id, None)
        return entry.saved


def _save(db_url: str, entry: LiveEntry) -> tuple[int, str]:
    result = entry.session.finish()
    plan = entry.plan
    session_id = save_session(
        song_id=entry.song.id,
        song_title=entry.song.title,
        players=[{"name": p.name, "latency_ms": p.latency_ms} for p in result.players],
        practice={"speed": entry.practice.speed, "loop_bars": entry.practice.loop_bars,
                  "repeats": entry.practice.repeats if entry.practice.loop_bars else None},
        beatmap=plan.beatmap.to_dict(),
        chart={"notes": plan.to_dict()["notes"] if plan.chart is not None else None,
               "grid": None if plan.chart is not None else entry.song.grid},
        takes=[[{"time_s": h.time_s, "voice": h.voice.value, "velocity": h.velocity,
                 "hihat_openness": h.hihat_openness} for h in take.hits] for take in result.takes],
        results=result.to_dict(),
        url=db_url,
    )
    return session_id, result.summary


def get_state(request: Request) -> JamState:
    """FastAPI dependency: the app's :class:`JamState`."""
    return request.app.state.jam


#: A route parameter annotated with this receives the app's :class:`JamState`.
JamStateDep = Annotated[JamState, Depends(get_state)]
