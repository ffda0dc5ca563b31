"""Rooms for remote duets: two players in two places on one shared clock.

A room holds only what the duet needs: the song, the players' names and their hits. The
creator gets a join code (unguessable, from :mod:`secrets`) to hand to the partner; each
player gets a private token that proves who sends a hit. Hits arrive stamped with their time
from the song's start on the shared (server) clock, carry a per-player sequence number and are
kept once, so a client may resend everything it has not seen acknowledged after a
reconnection. The room plays on the timeline of a local session (a lead-in bar, then the
song), and each player's calibration (and the delay they chose for their own backing track)
is removed before scoring: the timeline, the rule for hits before the start and the scoring
are :class:`drumjam.session.live.LiveSession`'s, the same as for two players on one machine.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from drumjam.errors import InputError, NotFoundError
from drumjam.model import Hit, parse_voice
from drumjam.library import Song
from drumjam.limits import MAX_DURATION_S
from drumjam.scoring import HitResult, ScoringConfig
from drumjam.session.live import (
    MAX_HITS_PER_PLAYER,
    MAX_LATENCY_MS,
    LiveSession,
    Player,
    SessionResult,
    clean_name,
)
from drumjam.session.practice import Practice, plan_practice

SEATS = ("A", "B")
#: Count-in between the start command and the song's first beat, in seconds.
LEAD_IN_S = 3.0
#: Time after the song's end before the room ends (late hits, buffered hits of a rejoin).
TAIL_S = 2.0
#: How far a hit's time may lie outside the room's timeline (from the start command to the
#: song's end and tail) before it is refused as the work of a page whose clock is off: a
#: second before the start command; a minute after the tail (the room waits for a dropped
#: player at the end).
EARLY_SLACK_S = 1.0
LATE_SLACK_S = 60.0
#: How long the result of an ended room stays readable.
RESULT_TTL_S = 15 * 60.0
#: A room nobody starts is forgotten after this long with nobody connected to it.
IDLE_TTL_S = 10 * 60.0


class RoomError(InputError):
    """A room request that cannot be honoured."""


class RoomNotFoundError(RoomError, NotFoundError):
    """No room answers to this code or token (also said for ended, forgotten rooms)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Seat:
    """One player's place in a room.

    Attributes
    ----------
    letter : str
        ``"A"`` (the creator) or ``"B"``.
    name : str
        Shown as text.
    token : str
        Secret that authenticates the player's connection.
    calibration_ms : float
        The player's measured latency (input + output), removed from every hit.
    track_delay_ms : float
        How late the player chose to hear their own backing track, removed as well.
    """

    letter: str
    name: str
    token: str = field(repr=False)
    calibration_ms: float = 0.0
    track_delay_ms: float = 0.0
    connected: bool = False
    ever_connected: bool = False
    #: Server time at which the player's connection last dropped (None while connected).
    left_s: float | None = None
    hits: dict[int, Hit | None] = field(default_factory=dict, repr=False)
    #: Hits the player's microphone heard, in the order heard (None: seen, not kept).
    mic_hits: list[Hit | None] = field(default_factory=list, repr=False)
    #: What the player's last microphone stream learned of the speakers' bleed
    #: (:class:`~drumjam.analysis.bleed.LearnedPath`): a reconnected microphone starts from it.
    bleed_path: Any = field(default=None, repr=False)

    def public(self) -> dict[str, Any]:
        """What the partner may see of this seat."""
        return {"seat": self.letter, "name": self.name, "connected": self.connected,
                "hits": len(self.hits) + len(self.mic_hits)}


@dataclass(frozen=True)
class HitAck:
    """The server's answer to one hit.

    Attributes
    ----------
    seq : int
        The hit's sequence number.
    player : int
        The seat's index (0 for A, 1 for B).
    duplicate : bool
        True if this sequence number had been received before (nothing changed).
    result : HitResult or None
        The provisional verdict; None for duplicates, count-in taps and hits after the song.
    song_start_s : float
        Where the song starts on the room's timeline: the answer's times are the song's.
    """

    seq: int
    player: int
    duplicate: bool
    result: HitResult | None
    song_start_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the fields of a judgment message), times from the song's start."""
        out: dict[str, Any] = {"seq": self.seq, "player": self.player, "duplicate": self.duplicate}
        if self.result is not None:
            verdict = self.result.to_dict()
            out.update({k: verdict[k] for k in ("voice", "offset_ms", "judgment")})
            for key in ("time_s", "target_time_s"):
                out[key] = None if verdict[key] is None else round(verdict[key] - self.song_start_s, 6)
        return out


def _check_ms(value: Any, what: str) -> float:
    try:
        ms = float(value)
    except (TypeError, ValueError):
        raise RoomError(f"{what} {value!r} is not a number of milliseconds") from None
    if not math.isfinite(ms) or not -MAX_LATENCY_MS <= ms <= MAX_LATENCY_MS:
        raise RoomError(f"{what} {value} ms is out of range; use -{MAX_LATENCY_MS:.0f}..{MAX_LATENCY_MS:.0f} ms")
    return ms


class Room:
    """A duet room: a song, up to two seats, their hits, and the shared timeline.

    Parameters
    ----------
    song : Song
        What is played.
    host_name : str
        Name of the creator (seat A).
    created_s : float
        Server time of creation.
    config : ScoringConfig
        Timing windows for scoring.
    """

    def __init__(self, song: Song, host_name: str, created_s: float,
                 config: ScoringConfig | None = None) -> None:
        self.song = song
        #: The room's timeline: the song after a lead-in bar, as a local session plays it.
        self.plan = plan_practice(song.chart, song.beatmap, Practice())
        self.config = config or ScoringConfig()
        self.code = secrets.token_urlsafe(12)
        self.created_s = created_s
        self.seats: list[Seat] = [Seat("A", clean_name(host_name, "Player A"), secrets.token_urlsafe(24))]
        self.start_s: float | None = None
        #: Server time of the start command (None before it).
        self.started_s: float | None = None
        self.closed = False
        self.result: dict[str, Any] | None = None
        self.ended_s: float | None = None
        #: The scored session once the room ended with someone to score (None otherwise).
        self.final: SessionResult | None = None
        #: The room's id in the session history, once it started (None without a history).
        self.history_id: int | None = None
        self._live: LiveSession | None = None

    # ------------------------------------------------------------------ seats
    def join(self, name: str) -> Seat:
        """Take seat B.

        Raises
        ------
        RoomError
            If the room has ended, both seats are taken or the room has started.
        """
        if self.closed:
            raise RoomError("this room has ended; ask for a new room")
        if len(self.seats) >= len(SEATS):
            raise RoomError("this room already has two players; ask for a new room")
        if self.start_s is not None:
            raise RoomError("this room's song has already started; ask for a new room")
        seat = Seat("B", clean_name(name, "Player B"), secrets.token_urlsafe(24))
        self.seats.append(seat)
        return seat

    def seat_for(self, token: str) -> Seat | None:
        """The seat whose token this is, compared in constant time."""
        found = None
        for seat in self.seats:
            if secrets.compare_digest(_digest(seat.token), _digest(str(token))):
                found = seat
        return found

    def partner_of(self, seat: Seat) -> Seat | None:
        """The other seat, if taken."""
        return next((s for s in self.seats if s is not seat), None)

    def configure(self, seat: Seat, calibration_ms: Any = None, track_delay_ms: Any = None) -> None:
        """Set a player's calibration and own-track delay (only before the song starts)."""
        if self.start_s is not None:
            raise RoomError("calibration is fixed once the song has started")
        if calibration_ms is not None:
            seat.calibration_ms = _check_ms(calibration_ms, "calibration")
        if track_delay_ms is not None:
            seat.track_delay_ms = _check_ms(track_delay_ms, "backing-track delay")

    def set_connected(self, seat: Seat, connected: bool, now_s: float | None = None) -> None:
        """Record that a player's connection opened or closed (at server time ``now_s``: a
        player who never comes back is scored up to where they left)."""
        seat.connected = connected
        seat.ever_connected = seat.ever_connected or connected
        seat.left_s = None if connected else now_s

    # ------------------------------------------------------------------ timeline
    @property
    def state(self) -> str:
        """``"waiting"``, ``"started"`` or ``"ended"``."""
        if self.result is not None:
            return "ended"
        return "waiting" if self.start_s is None else "started"

    @property
    def song_length_s(self) -> float:
        """From the song's start to its last note or beat."""
        chart_end = self.song.chart.duration_s if self.song.chart is not None else 0.0
        return max(chart_end, self.song.beatmap.end_s)

    @property
    def end_s(self) -> float | None:
        """Server time at which the room ends (song end plus a short tail), once started."""
        return None if self.start_s is None else self.start_s + self.song_length_s + TAIL_S

    def players(self) -> list[Player]:
        """The seats as players: name, and calibration plus backing-track delay as latency."""
        return [Player(s.name, s.calibration_ms + s.track_delay_ms) for s in self.seats]

    def start(self, now_s: float, lead_in_s: float = LEAD_IN_S,
              on_hit: Callable[[int, Hit], None] | None = None) -> float:
        """Fix the song's start on the shared clock, ``lead_in_s`` from now; returns it.

        Starting twice returns the first start. ``on_hit`` is given every hit scored live
        (seat index, hit with latency removed), e.g. to write it through to the history.
        """
        if self.closed:
            raise RoomError("this room has ended; ask for a new room")
        if self.start_s is None:
            self.start_s = now_s + lead_in_s
            self.started_s = now_s
            self._live = self._session(self.players(), on_hit)
        return self.start_s

    def _session(self, players: list[Player], on_hit: Callable[[int, Hit], None] | None = None) -> LiveSession:
        return LiveSession(players, self.plan.beatmap, chart=self.plan.chart, grid=self.song.grid,
                           config=self.config, on_hit=on_hit, start_s=self.plan.lead_in_s)

    # ------------------------------------------------------------------ hits
    def add_hit(self, seat: Seat, seq: int, song_time_s: float, voice: Any, velocity: int = 100,
                openness: float | None = None) -> HitAck:
        """Record one hit once.

        Parameters
        ----------
        seat : Seat
            Who played it.
        seq : int
            The player's sequence number of the hit (0, 1, 2, ...).
        song_time_s : float
            When it was played, in seconds from the song's start on the shared clock (negative
            before it), before calibration.
        voice : str
            What was struck.
        velocity : int
            How hard (1-127).
        openness : float, optional
            Hi-hat openness (0-1).

        Returns
        -------
        HitAck
        """
        self._check_taking()
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < MAX_HITS_PER_PLAYER:
            raise RoomError(f"hit sequence number {seq!r} must be an integer 0-{MAX_HITS_PER_PLAYER - 1}")
        index = self.seats.index(seat)
        if seq in seat.hits:
            return HitAck(seq, index, True, None, self.plan.lead_in_s)
        self._check_on_timeline(song_time_s)
        seat.hits[seq], result = self._score(seat, song_time_s, voice, velocity, openness)
        return HitAck(seq, index, False, result, self.plan.lead_in_s)

    def add_mic_hit(self, seat: Seat, hit: Hit) -> HitResult | None:
        """Record one hit the seat's microphone heard.

        Parameters
        ----------
        seat : Seat
            Whose microphone.
        hit : Hit
            On the room's timeline as the player hears it (their backing-track delay included,
            latency not removed): the audio-clock time at which the microphone heard it, less
            the time at which the player's page plays the timeline's 0 s.

        Returns
        -------
        HitResult or None
            The provisional verdict, as :meth:`add_hit` gives it.
        """
        self._check_taking()
        song_time_s = hit.time_s - self.plan.lead_in_s + seat.track_delay_ms / 1000
        kept, result = self._score(seat, song_time_s, hit.voice, hit.velocity, hit.hihat_openness)
        seat.mic_hits.append(kept)
        return result

    def _check_on_timeline(self, song_time_s: float) -> None:
        """Refuse a hit time no player of this room could have played: before the start
        command or long after the song's end, on the shared clock (a page whose clock is off,
        e.g. by hours after a computer slept, would otherwise have every hit silently left
        out as a count-in tap or a hit after the song)."""
        if not isinstance(song_time_s, Real) or isinstance(song_time_s, bool) \
                or not math.isfinite(song_time_s):
            raise RoomError(f"hit time {song_time_s!r} is not finite; give seconds from the "
                            "song's start")
        first_s = (self.started_s if self.started_s is not None else self.start_s) - self.start_s
        first_s -= EARLY_SLACK_S
        last_s = self.song_length_s + TAIL_S + LATE_SLACK_S
        if not first_s <= song_time_s <= last_s:
            raise RoomError(
                f"hit time {song_time_s:.3f} s is outside this room's song ({first_s:.1f} to "
                f"{last_s:.1f} s from its start on the shared clock): the page's clock is off; "
                "reload the page to synchronise it again")

    def _check_taking(self) -> None:
        if self.closed:
            raise RoomError("this room has ended; the hit came too late")
        if self.start_s is None or self._live is None:
            raise RoomError("the song has not started; hits are taken once it starts")

    def _score(self, seat: Seat, song_time_s: float, voice: Any, velocity: int,
               openness: float | None) -> tuple[Hit | None, HitResult | None]:
        """Score a hit played at ``song_time_s`` on the shared clock; the hit kept for the
        final scores (None: a count-in tap or a hit after the song, seen but not kept)."""
        if not math.isfinite(song_time_s):
            raise RoomError(f"hit time {song_time_s!r} is not finite")
        if song_time_s > self.song_length_s + TAIL_S:
            return None, None
        hit = Hit(song_time_s + self.plan.lead_in_s, parse_voice(voice), velocity, openness)
        try:
            result = self._live.add_hit(self.seats.index(seat), hit)
        except InputError:
            result = None  # past the limit of hits: not scored
        return (None if result is None else hit), result

    def takes_hits(self, seat: Seat) -> list[Hit]:
        """The hits of a seat's take on the room's timeline, in time order."""
        played = [*seat.hits.values(), *seat.mic_hits]
        return sorted((h for h in played if h is not None), key=lambda h: h.time_s)

    def _left_at(self, seat: Seat) -> float:
        """Where on the timeline a player who left stopped playing: when their connection
        dropped, or past their last hit (latency removed) by the matching window if that is
        later (a hit sent ahead of its time), so that every hit they played can still match."""
        latency_s = (seat.calibration_ms + seat.track_delay_ms) / 1000
        last_s = max(h.time_s for h in self.takes_hits(seat)) - latency_s
        last_s += self.config.good_ms / 1000
        gone_s = -math.inf
        if seat.left_s is not None:
            gone_s = seat.left_s - self.start_s + self.plan.lead_in_s
        return min(max(last_s, gone_s, 0.0), MAX_DURATION_S)

    # ------------------------------------------------------------------ ending
    def close(self) -> None:
        """Take no more hits (the room is about to be scored)."""
        self.closed = True

    def finish(self, now_s: float) -> dict[str, Any]:
        """End the room and score it.

        Every seat that played is scored. A seat that is not connected at the end (it left
        and never came back) is scored up to where it left (its later notes are not counted
        as missed) and named in ``absent``; a seat that played nothing is left out (the other
        player gets a single-player result).

        Returns
        -------
        dict
            ``{"mode": "duet" | "single" | "empty", "song", "players", "duet", "summary",
            "absent"}``; a player who left has ``left_at_s`` (on the room's timeline).
        """
        if self.result is not None:
            return self.result
        self.closed = True
        present = [s for s in self.seats if self.takes_hits(s)]
        absent = [s.name for s in self.seats if not s.connected]
        if self.start_s is None or not present:
            self.result = {"mode": "empty", "song": self.song.title, "players": [], "duet": None,
                           "summary": "nobody played a hit", "absent": absent}
        else:
            players = [Player(s.name, s.calibration_ms + s.track_delay_ms) for s in present]
            session = self._session(players)
            for index, seat in enumerate(present):
                for hit in self.takes_hits(seat):
                    try:
                        session.add_hit(index, hit)
                    except InputError:
                        pass  # past the limit of hits, refused live for the same reason
            self.final = session.finish(left_s={i: self._left_at(s) for i, s in enumerate(present)
                                                if not s.connected})
            outcome = self.final.to_dict()
            for seat, player in zip(present, outcome["players"]):
                player["seat"] = seat.letter
            self.result = {"mode": "duet" if len(present) == 2 else "single",
                           "song": self.song.title, "absent": absent, **outcome}
        self.ended_s = now_s
        self._live = None
        return self.result

    def summary(self) -> dict[str, Any]:
        """What a code holder may see: song, names, state, start time. No hits."""
        return {
            "song": {"id": self.song.id, "title": self.song.title,
                     "length_s": round(self.song_length_s, 3)},
            "players": [s.public() for s in self.seats],
            "state": self.state,
            "start_ms": None if self.start_s is None else self.start_s * 1e3,
        }


class RoomRegistry:
    """All open rooms, found by join code; forgets rooms that ended or idled.

    Parameters
    ----------
    max_rooms : int
        Open rooms allowed at once.
    """

    def __init__(self, max_rooms: int = 1000) -> None:
        self.max_rooms = max_rooms
        self._rooms: dict[str, Room] = {}

    def create(self, song: Song, host_name: str, now_s: float) -> Room:
        """Open a room for ``song`` with its creator in seat A."""
        self.sweep(now_s)
        if len(self._rooms) >= self.max_rooms:
            raise RoomError(f"{self.max_rooms} rooms are open; try again in a few minutes")
        room = Room(song, host_name, now_s)
        self._rooms[_digest(room.code)] = room
        return room

    def get(self, code: str) -> Room:
        """The room with this join code.

        Raises
        ------
        RoomNotFoundError
            For a wrong code and for a forgotten room alike.
        """
        room = self._rooms.get(_digest(str(code)))
        if room is None:
            raise RoomNotFoundError("no room has this join code; check the code or ask for a new one")
        return room

    def sweep(self, now_s: float) -> None:
        """Forget rooms whose result has been kept long enough, and rooms left idle: never
        started, and nobody connected since :data:`IDLE_TTL_S` (a host waiting for their
        partner keeps the room)."""
        for key, room in list(self._rooms.items()):
            ended = room.ended_s is not None and now_s - room.ended_s > RESULT_TTL_S
            last_s = max([room.created_s, *(s.left_s for s in room.seats if s.left_s is not None)])
            idle = (room.start_s is None and not any(s.connected for s in room.seats)
                    and now_s - last_s > IDLE_TTL_S)
            if ended or idle:
                del self._rooms[key]

    def __len__(self) -> int:
        return len(self._rooms)

    def rooms(self) -> list[Room]:
        """Every open room."""
        return list(self._rooms.values())
