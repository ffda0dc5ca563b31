"""What the app keeps while it runs: the song library, the database URL and live sessions."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from drumjam.errors import InputError
from drumjam.session.live import LiveSession
from drumjam.session.practice import Practice, PracticePlan
from drumjam.songs import Song, SongLibrary

MAX_LIVE_SESSIONS = 500


@dataclass
class LiveEntry:
    """A session being played: the song, how it is practised, and the live scorers."""

    song: Song
    practice: Practice
    plan: PracticePlan
    session: LiveSession


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
        self._live: OrderedDict[str, LiveEntry] = OrderedDict()
        self._lock = threading.Lock()

    def add_live(self, entry: LiveEntry) -> str:
        """Register a live session and return its unguessable id (oldest dropped past 500)."""
        live_id = secrets.token_urlsafe(12)
        with self._lock:
            self._live[live_id] = entry
            while len(self._live) > MAX_LIVE_SESSIONS:
                self._live.popitem(last=False)
        return live_id

    def live(self, live_id: str) -> LiveEntry:
        """The live session with this id."""
        entry = self._live.get(live_id)
        if entry is None:
            raise InputError(f"no live session {live_id!r}; start the song again")
        return entry

    def drop_live(self, live_id: str) -> None:
        """Forget a live session (after it was saved)."""
        with self._lock:
            self._live.pop(live_id, None)


def get_state(request: Request) -> JamState:
    """FastAPI dependency: the app's :class:`JamState`."""
    return request.app.state.jam


#: A route parameter annotated with this receives the app's :class:`JamState`.
JamStateDep = Annotated[JamState, Depends(get_state)]
