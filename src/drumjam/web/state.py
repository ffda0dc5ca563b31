"""What the app keeps while it runs: the song library, the history and live sessions.

Every session and room being played has its history row from the start, and its hits are
written through to it as they arrive (:class:`History`); after a crash the next start of the
app keeps them as ``interrupted``.

A live session is never evicted while its player is connected, nor within
:data:`LIVE_IDLE_S` of its last activity (the player may reconnect); past that an idle session
is forgotten. When :data:`MAX_LIVE_SESSIONS` sessions are all in use, a new one is refused
(503) rather than dropping one being played.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, Request

from drumjam.analysis.bleed import LearnedPath, RoomResponse
from drumjam.errors import DrumjamError, NotFoundError
from drumjam.library import Song, SongLibrary
from drumjam.model import BeatMap, Chart, Hit
from drumjam.session.live import LiveSession, Player, SessionResult
from drumjam.session.practice import Practice, PracticePlan
from drumjam.session.recording import HitWriter
from drumjam.store.hitlog import HitLog
from drumjam.store.inputs import device_key, get_room_response, save_room_response
from drumjam.store.sessions import (
    finish_session,
    interrupt_session,
    open_session,
    recover_interrupted,
)

log = logging.getLogger("drumjam.web")

MAX_LIVE_SESSIONS = 500
#: A session nobody is connected to is forgotten this long after its last activity.
LIVE_IDLE_S = 10 * 60.0


class ServerBusyError(DrumjamError, RuntimeError):
    """Every slot is in use by someone playing; the app answers 503."""


class History:
    """The session history of one app, written through while sessions are played.

    Parameters
    ----------
    db_url : str
        SQLAlchemy URL of the history.
    """

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.recovered = recover_interrupted(url=db_url)
        self.log = HitLog(db_url)
        self.writer = HitWriter(self.log)

    def open(self, *, song_id: str, title: str, players: list[Player], beatmap: BeatMap,
             chart: Chart | None, practice: dict[str, Any], grid: int | None = None) -> int:
        """The history id of a run about to be played (hidden until it ends): the song (or
        lesson) it plays, its players, and the targets on its timeline (the chart, or the
        grid subdivision without one)."""
        return open_session(
            song_id=song_id, song_title=title,
            players=[{"name": p.name, "latency_ms": p.latency_ms} for p in players],
            practice=practice, beatmap=beatmap.to_dict(),
            chart={"notes": None if chart is None else [
                       {"time_s": round(n.time_s, 6), "voice": n.voice.value, "velocity": n.velocity}
                       for n in chart.notes],
                   "grid": None if chart is not None else grid},
            url=self.db_url)

    def recorder(self, session_id: int) -> Callable[[int, Hit], None]:
        """The ``on_hit`` of a live session: each hit queued for writing under ``session_id``
        (the writing process started now, while the run is only beginning)."""
        self.log.start()
        append = self.writer.append
        return lambda player, hit: append((session_id, player, hit.time_s, hit.voice.value,
                                           hit.velocity, hit.hihat_openness))

    def finish(self, session_id: int, result: SessionResult | None,
               extra: dict[str, Any] | None = None) -> None:
        """Store a session's final result; with none (nobody left to score it), keep what was
        played as ``interrupted``."""
        self.writer.flush()
        if result is None:
            interrupt_session(session_id, url=self.db_url)
            return
        finish_session(session_id, url=self.db_url, takes=[t.hits for t in result.takes],
                       players=[{"name": p.name, "latency_ms": p.latency_ms} for p in result.players],
                       results={**result.to_dict(), **(extra or {})})

    def close(self) -> None:
        """Write every hit queued and stop the writer (when the app stops)."""
        self.writer.close()
        self.log.close()

    def interrupt(self, session_id: int) -> None:
        """Keep an abandoned session's hits as ``interrupted`` (deleted if it has none)."""
        self.writer.flush()
        interrupt_session(session_id, url=self.db_url)


@dataclass
class LiveEntry:
    """A session being played: the song, how it is practised, and the live scorers."""

    song: Song
    practice: Practice
    plan: PracticePlan
    session: LiveSession
    history_id: int
    connections: int = 0
    last_active_s: float = field(default_factory=time.monotonic)
    saved: tuple[int, str] | None = None
    #: The ``seq`` of every hit recorded, by player: a hit sent again is not counted again.
    hit_seqs: dict[int, set[int]] = field(default_factory=dict)
    #: Open microphones by player (:class:`drumjam.web.mic_socket.MicSlot`).
    mics: dict[int, Any] = field(default_factory=dict)
    #: What each player's last microphone stream learned of the speakers' bleed
    #: (:class:`~drumjam.analysis.bleed.LearnedPath`), for their next stream.
    bleed_paths: dict[int, Any] = field(default_factory=dict)
    finish_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class BleedMemory:
    """The response from the speakers to each player's microphone (by its label) that their
    last take applied or their calibration by ear heard
    (:class:`~drumjam.analysis.bleed.RoomResponse`), for their next take: tried on its
    count-in, it cancels the song from the first note if the set-up still holds. Stored with
    the player's calibrations (``room_responses``), or with ``stored=False`` kept in memory
    for the :data:`MAX_SETUPS` set-ups used last.

    Parameters
    ----------
    db_url : str, optional
        The database (default: drumjam's).
    stored : bool
        Store in the database; else in memory only.
    """

    #: Set-ups remembered in memory.
    MAX_SETUPS = 16
    #: A take's response replaces the one kept once it heard this much of the song, in
    #: seconds (a take stopped at once learned too little to serve the next).
    MIN_SONG_S = 2.0

    def __init__(self, db_url: str | None = None, *, stored: bool = True) -> None:
        self.db_url = db_url
        self.stored = stored
        self._memory: OrderedDict[tuple[str, str], RoomResponse] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, device: str) -> RoomResponse | None:
        """The response kept for a player's name and microphone label (None: none, or a
        stored one that is not a response)."""
        if not self.stored:
            with self._lock:
                return self._memory.get((name, device_key(device)))
        row = get_room_response(name, device=device, url=self.db_url)
        if row is None or len(row["response"]) % 4 or not 8000 <= row["sample_rate"] <= 192000:
            return None
        taps = np.frombuffer(row["response"], "<f4").astype(np.float32)
        if not 0 < taps.size <= row["sample_rate"] or not np.all(np.isfinite(taps)):
            return None
        return RoomResponse(row["sample_rate"], row["round_trip_s"], taps)

    def keep(self, name: str, device: str, learned: LearnedPath | None) -> None:
        """Keep the response a take applied (or a calibration heard) for the set-up's next
        take, if it heard enough of the song (or of the calibration's bursts)."""
        if learned is None or learned.song_weights[1] < self.MIN_SONG_S:
            return
        response = learned.applied()
        if self.stored:
            save_room_response(name, device=device, sample_rate=response.sample_rate,
                               round_trip_s=response.round_trip_s,
                               response=response.response.astype("<f4").tobytes(), url=self.db_url)
            return
        key = (name, device_key(device))
        with self._lock:
            self._memory[key] = response
            self._memory.move_to_end(key)
            while len(self._memory) > self.MAX_SETUPS:
                self._memory.popitem(last=False)


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
        self.history = History(db_url)
        self._live: dict[str, LiveEntry] = {}
        self._lock = threading.Lock()
        #: What each microphone set-up learned of the bleed, for its next take.
        self.bleed = BleedMemory(db_url)

    def add_live(self, entry: LiveEntry) -> str:
        """Register a live session and return its unguessable id.

        Raises
        ------
        ServerBusyError
            If :data:`MAX_LIVE_SESSIONS` sessions are in use.
        """
        live_id = secrets.token_urlsafe(12)
        with self._lock:
            idle = self._sweep(time.monotonic())
            full = len(self._live) >= MAX_LIVE_SESSIONS
            if not full:
                self._live[live_id] = entry
        for gone in idle:
            try:
                self.history.interrupt(gone.history_id)
            except Exception:  # noqa: BLE001 - an abandoned run must not refuse a new one
                log.exception("abandoned session %d could not be kept as interrupted",
                              gone.history_id)
        if full:
            self.history.interrupt(entry.history_id)
            raise ServerBusyError(f"{MAX_LIVE_SESSIONS} sessions are being played; try again "
                                  f"in a few minutes")
        return live_id

    def _sweep(self, now_s: float) -> list[LiveEntry]:
        idle = [key for key, entry in self._live.items()
                if entry.connections == 0 and now_s - entry.last_active_s > LIVE_IDLE_S]
        return [self._live.pop(key) for key in idle]

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

    def finish_live(self, live_id: str, entry: LiveEntry, stop_s: float | None = None) -> tuple[int, str]:
        """Score and save a live session once (up to ``stop_s`` on its timeline, if given);
        later calls return the same history id.

        Raises
        ------
        InputError
            If nobody played a hit.
        """
        with entry.finish_lock:
            if entry.saved is None:
                result = entry.session.finish(stop_s)
                self.history.finish(entry.history_id, result)
                entry.saved = (entry.history_id, result.summary)
        with self._lock:
            self._live.pop(live_id, None)
        return entry.saved


def get_state(request: Request) -> JamState:
    """FastAPI dependency: the app's :class:`JamState`."""
    return request.app.state.jam


#: A route parameter annotated with this receives the app's :class:`JamState`.
JamStateDep = Annotated[JamState, Depends(get_state)]
