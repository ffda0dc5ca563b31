"""Remote duet rooms over HTTP and one WebSocket per player.

HTTP: ``POST /api/rooms {song_id, name}`` opens a room for a song (the creator gets seat A, a
join code and a private token), ``POST /api/rooms/join {code, name}`` takes seat B,
``POST /api/rooms/lookup {code}`` shows the room to code holders and
``POST /api/rooms/result {code, token}`` gives an ended room's result to its players. Codes and
tokens travel in bodies and messages, never in URLs (which access logs keep).

WebSocket ``/api/rooms/ws`` carries :mod:`drumjam.web.protocol`'s messages. The first one
must be ``hello {code, token}``; without a valid pair the server closes the connection with
code 4403 and sends nothing. Then:

- ``ping {t0_ms}`` -> ``pong {t0_ms, t1_ms, t2_ms}`` (NTP-style clock sync, see
  :mod:`drumjam.session.clock`)
- ``settings {calibration_ms, track_delay_ms}`` before the start
- ``status {rtt_ms}`` -> the partner gets ``partner_status {rtt_ms}`` (to judge the delay
  between the two players before any hit)
- ``start`` -> everyone gets ``start {start_ms}``: the song's first beat on the server clock
- ``hit {seq, time_s, voice, velocity}`` (``time_s`` from the song's start on the shared clock)
  -> ``judgment {seq, duplicate, offset_ms, judgment, ...}``, and the partner gets
  ``partner_hit {voice, velocity, time_s}`` at once, to sound it and show the delay
- ``mic_start {sample_rate, timeline_zero_frame, click, count_in_bars}`` once the song is
  scheduled, then binary microphone frames, then ``mic_end``: a player with an acoustic kit
  (see :mod:`drumjam.web.room_mic`); their hits come back as ``judgment {mic: true}`` and go
  to the partner as ``partner_hit``, warnings as ``mic_status``
- the server sends ``partner {status}`` when the partner comes or goes and ``end {result}``
  when the room ends, then closes the connection.
- a second connection with the same token takes the seat over: the first is closed with code
  4409 (the page says the room is open in another window and does not connect again).
- a refused message gets ``error {seq, detail}``; the connection and the partner carry on.

Nothing of a room is sent to anyone without its code (HTTP) or a player's token (WebSocket).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from drumjam.analysis.kitprofile import KitProfile
from drumjam.errors import DrumjamError
from drumjam.library import Song
from drumjam.session.rooms import LEAD_IN_S, Room, RoomError, RoomNotFoundError, RoomRegistry, Seat
from drumjam.web.protocol import (
    ClientMessage,
    CreateRoomIn,
    EndMessage,
    HelloMessage,
    HitMessage,
    JoinRoomIn,
    JudgmentMessage,
    MicEndMessage,
    MicStartMessage,
    PartnerHitMessage,
    PartnerMessage,
    PartnerStatusMessage,
    PingMessage,
    PongMessage,
    RoomKeyIn,
    SettingsMessage,
    SettingsReply,
    StartMessage,
    StartReply,
    StatusMessage,
    WelcomeMessage,
    error_responses,
    parse_message,
)
from drumjam.web.mic_socket import MicSlot
from drumjam.web.room_mic import (
    Replies,
    end_room_mic,
    room_mic_frame,
    start_room_mic,
    stored_profile,
)
from drumjam.web.state import BleedMemory, History
from drumjam.web.ws_routes import error_reply, receive_text

log = logging.getLogger("drumjam.web")

router = APIRouter(prefix="/api/rooms", tags=["rooms"],
                   responses=error_responses(400, 403, 404, 409, 413, 429, 503))

#: How long a room waits at the song's end for a player whose connection dropped.
REJOIN_GRACE_S = 10.0
#: A started room with nobody connected for this long ends then, not at the song's end: each
#: player is scored up to where they left.
ABANDON_S = 60.0
#: How often a playing room looks whether everyone has gone.
ABANDON_CHECK_S = 1.0
#: While a song plays, objects older than this are moved out of the garbage collector's
#: sight, so that a full collection (hundreds of ms with 100 rooms of hits) never stalls hits.
GC_FREEZE_EVERY_S = 1.0
#: Close code for a WebSocket without a valid code and token (private-use range).
CLOSE_NOT_ALLOWED = 4403
#: Close code for a player's connection replaced by a newer one with the same token (the room
#: opened in a second window): the page must not connect again, or the two would take the
#: seat from each other for ever.
CLOSE_REPLACED = 4409
#: A new WebSocket must say hello with its code and token within this time.
HELLO_TIMEOUT_S = 10.0
#: Messages one connection may send a second, after a burst of MESSAGE_BURST (a player sends
#: about 100: 50 microphone frames, up to 40 hits, 5 pings; a reconnection resends its unacked
#: hits at once). Past it the connection is read more slowly, nothing dropped.
MESSAGES_PER_S = 250.0
MESSAGE_BURST = 1000


class Pacer:
    """Paces one connection's messages: a token bucket of ``burst`` refilled at ``per_s`` a
    second. :meth:`take` gives the event loop its turn at every message and, past the rate,
    waits: a flood of pings or hits (a page stuck in a loop, a hostile client) is read at the
    rate while every other room's messages are served (the flood used to hold the one event
    loop all rooms share: another room's ping waited 0.7-3.3 s), and its memory stays bounded
    (unread messages wait in the connection's buffers, then the network's)."""

    def __init__(self, per_s: float = MESSAGES_PER_S, burst: int = MESSAGE_BURST) -> None:
        self.per_s = per_s
        self.burst = burst
        self._level = float(burst)
        self._seen_s = time.monotonic()

    async def take(self) -> None:
        """Count one message; wait while the connection is over its rate."""
        now_s = time.monotonic()
        self._level = min(float(self.burst), self._level + (now_s - self._seen_s) * self.per_s)
        self._seen_s = now_s
        self._level -= 1.0
        await asyncio.sleep(max(0.0, -self._level / self.per_s))


class RoomService:
    """The rooms of one app, their open connections and their end timers.

    Parameters
    ----------
    clock_s : callable
        The server clock in seconds (default :func:`time.monotonic`).
    songs : callable, optional
        ``song_id -> Song``; default: the jam app's song library.
    lead_in_s : float
        Count-in between the start command and the song's first beat.
    rejoin_grace_s : float
        Wait at the song's end for a dropped player.
    abandon_s : float
        A started room with nobody connected for this long ends at once.
    messages_per_s, message_burst : float, int
        How fast one connection's messages are read (see :class:`Pacer`).
    max_rooms : int
        Rooms open at once.
    history : History, optional
        Where rooms are saved as they are played; default: the jam app's.
    """

    def __init__(self, clock_s: Callable[[], float] = time.monotonic,
                 songs: Callable[[str], Song] | None = None, lead_in_s: float = LEAD_IN_S,
                 rejoin_grace_s: float = REJOIN_GRACE_S, max_rooms: int = 1000,
                 history: History | None = None, abandon_s: float = ABANDON_S,
                 messages_per_s: float = MESSAGES_PER_S,
                 message_burst: int = MESSAGE_BURST) -> None:
        self.clock_s = clock_s
        self.history = history
        self._starting = asyncio.Lock()
        self.songs = songs
        self.lead_in_s = lead_in_s
        self.rejoin_grace_s = rejoin_grace_s
        self.abandon_s = abandon_s
        self.pace = partial(Pacer, messages_per_s, message_burst)
        self.registry = RoomRegistry(max_rooms=max_rooms)
        self.sockets: dict[int, dict[str, WebSocket]] = {}
        self.tasks: dict[int, asyncio.Task] = {}
        #: Open microphones by room and seat letter.
        self.mics: dict[int, dict[str, MicSlot]] = {}
        #: ``(player name, microphone label) -> KitProfile | None``: the kit checks stored
        #: (default: the jam app's; none without it).
        self.kits: Callable[[str, str], KitProfile | None] = lambda name, device: None
        #: The speakers' response each player's microphone last applied, for their next
        #: take (default: in memory; served with the jam app, its stored one).
        self.bleed = BleedMemory(stored=False)
        self._gc_pacer: asyncio.Task | None = None

    def now_ms(self) -> float:
        """The server clock in milliseconds."""
        return self.clock_s() * 1e3

    async def send(self, room: Room, letter: str, message: BaseModel | str) -> None:
        """Send a message (or its JSON text) to one seat if it is connected (a failing socket
        is dropped)."""
        ws = self.sockets.get(id(room), {}).get(letter)
        if ws is None:
            return
        try:
            await ws.send_text(message if isinstance(message, str) else message.model_dump_json())
        except (RuntimeError, WebSocketDisconnect, OSError):
            self.sockets.get(id(room), {}).pop(letter, None)

    async def broadcast(self, room: Room, message: BaseModel) -> None:
        """Send to every connected seat of the room."""
        for letter in list(self.sockets.get(id(room), {})):
            await self.send(room, letter, message)

    async def start(self, room: Room) -> float:
        """Start the room's song (idempotent) and arm its end; returns the start in ms.

        With a history, the room gets its history row first and every hit scored live is
        written through to it.
        """
        async with self._starting:
            on_hit = None
            if room.start_s is None and not room.closed and self.history is not None:
                room.history_id = await asyncio.to_thread(
                    self.history.open, song_id=room.song.id, title=room.song.title,
                    players=room.players(), beatmap=room.plan.beatmap, chart=room.plan.chart,
                    grid=room.song.grid,
                    practice={"speed": 1.0, "loop_bars": None, "repeats": None, "remote": True})
                on_hit = self.history.recorder(room.history_id)
            start_s = room.start(self.clock_s(), self.lead_in_s, on_hit=on_hit)
        if id(room) not in self.tasks:
            self.tasks[id(room)] = asyncio.create_task(self._end_when_over(room))
        if self._gc_pacer is None or self._gc_pacer.done():
            self._gc_pacer = asyncio.create_task(self._pace_gc())
        return start_s * 1e3

    async def _pace_gc(self) -> None:
        """Keep full garbage collections short while any song plays; back to normal after."""
        try:
            while self.tasks:
                gc.freeze()
                await asyncio.sleep(GC_FREEZE_EVERY_S)
        finally:
            gc.unfreeze()

    def _abandoned(self, room: Room) -> bool:
        """Whether every player of the room has been away for :attr:`abandon_s`."""
        if any(s.connected for s in room.seats):
            return False
        away_s = max((s.left_s for s in room.seats if s.left_s is not None), default=room.start_s)
        return self.clock_s() - away_s >= self.abandon_s

    async def _end_when_over(self, room: Room) -> None:
        """End the room at the song's end (after a grace for a dropped player to come back
        with their last hits), or once everyone has been away for :attr:`abandon_s`."""
        try:
            while self.clock_s() < room.end_s and not self._abandoned(room):
                await asyncio.sleep(min(room.end_s - self.clock_s(), ABANDON_CHECK_S))
            deadline = self.clock_s() + self.rejoin_grace_s
            while (any(s.ever_connected and not s.connected for s in room.seats)
                   and self.clock_s() < deadline):
                await asyncio.sleep(0.1)
            await self.end(room)
        except Exception:  # a task's error is otherwise lost without a word
            log.exception("a room playing %s could not be ended", room.song.title)
            raise
        finally:
            self.tasks.pop(id(room), None)

    async def end(self, room: Room) -> dict[str, Any]:
        """Finish the room: score it, send the result to whoever is there, close them.

        Scoring runs in a worker thread so that other rooms' hits are not held up. A room
        ended before its time has its end timer stopped.
        """
        timer = self.tasks.get(id(room))
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        for seat in room.seats:  # the microphones' last hits are scored first
            for reply in await self.end_mic(room, seat):
                await self.send(room, seat.letter, reply)
        room.close()
        self.mics.pop(id(room), None)
        result = await asyncio.to_thread(room.finish, self.clock_s())
        if room.history_id is not None and "session_id" not in result:
            await self._save(room, result)
        await self.broadcast(room, EndMessage(result=result))
        for ws in list(self.sockets.pop(id(room), {}).values()):
            try:
                await ws.close(code=1000)
            except RuntimeError:
                pass
        return result

    async def _save(self, room: Room, result: dict[str, Any]) -> None:
        """Store the room's result in the history; ``result`` gets its ``session_id`` (None if
        it could not be saved: the players still get their result, told so)."""
        try:
            await asyncio.to_thread(self.history.finish, room.history_id, room.final, result)
        except Exception:  # noqa: BLE001 (a database fault must not keep the players waiting)
            log.exception("the room playing %s (history id %s) could not be saved",
                          room.song.title, room.history_id)
            result["session_id"] = None
            result["summary"] += (" It could not be saved to the history: the database failed "
                                  "(the server's log says why); the hits written as they were "
                                  "played are kept as an interrupted session when the app "
                                  "next starts.")
            return
        result["session_id"] = room.history_id if room.final is not None else None

    async def mic_replies(self, room: Room, seat: Seat, job: Callable[..., Replies],
                          *args: Any) -> list[str]:
        """Run a microphone job in a worker thread (transcription takes CPU), send its
        partner messages; the player's replies."""
        own, partner = await asyncio.to_thread(job, room, seat, *args,
                                               self.mics.setdefault(id(room), {}))
        other = room.partner_of(seat)
        for message in partner if other is not None else ():
            await self.send(room, other.letter, message)
        return own

    async def end_mic(self, room: Room, seat: Seat) -> list[str]:
        """End a seat's microphone, if open (its hits kept); the player's replies."""
        if seat.letter not in self.mics.get(id(room), {}):
            return []
        return await self.mic_replies(room, seat, end_room_mic)


def get_rooms(request: Request) -> RoomService:
    """FastAPI dependency: the app's :class:`RoomService` (made on first use)."""
    return _service(request.app)


def _service(app: Any) -> RoomService:
    service = getattr(app.state, "rooms", None)
    if service is None:
        service = RoomService()
        app.state.rooms = service
    if service.history is None and hasattr(app.state, "jam"):
        service.history = app.state.jam.history
        service.kits = partial(stored_profile, app.state.jam)
        service.bleed = app.state.jam.bleed
    return service


Rooms = Annotated[RoomService, Depends(get_rooms)]


def _song(request: Request, service: RoomService, song_id: str) -> Song:
    if service.songs is not None:
        return service.songs(song_id)
    return request.app.state.jam.library.get(song_id)


def _room_or_404(service: RoomService, code: str) -> Room:
    try:
        return service.registry.get(code)
    except RoomNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None


def _seat_reply(room: Room, seat: Seat) -> dict[str, Any]:
    return {"code": room.code, "token": seat.token, "seat": seat.letter,
            "join_url": f"/room/#code={room.code}", "room": room.summary()}


@router.post("", status_code=201)
async def create_room(body: CreateRoomIn, request: Request,
                      service: Rooms) -> dict[str, Any]:
    """Open a room for a song; the creator takes seat A."""
    song = await run_in_threadpool(_song, request, service, body.song_id)
    try:
        room = service.registry.create(song, body.name, service.clock_s())
    except RoomError as exc:
        raise HTTPException(503, str(exc)) from None
    return _seat_reply(room, room.seats[0])


@router.post("/join")
async def join_room(body: JoinRoomIn, service: Rooms) -> dict[str, Any]:
    """Take seat B of the room with this join code."""
    room = _room_or_404(service, body.code)
    try:
        seat = room.join(body.name)
    except RoomError as exc:
        raise HTTPException(409, str(exc)) from None
    return _seat_reply(room, seat)


@router.post("/lookup")
async def show_room(body: RoomKeyIn, service: Rooms) -> dict[str, Any]:
    """Song, names and state of a room (for holders of its code)."""
    return _room_or_404(service, body.code).summary()


@router.post("/result")
async def room_result(body: RoomKeyIn, service: Rooms) -> dict[str, Any]:
    """The scores of an ended room (for its players)."""
    room = _room_or_404(service, body.code)
    if room.seat_for(body.token) is None:
        raise HTTPException(404, "no room has this join code and player token")
    if room.result is None:
        raise HTTPException(409, "the room has not ended yet")
    return room.result


def _welcome(service: RoomService, room: Room, seat: Seat) -> WelcomeMessage:
    song = room.song
    return WelcomeMessage(
        seat=seat.letter,
        room=room.summary(),
        server_ms=service.now_ms(),
        received_seqs=sorted(seat.hits),
        settings={"calibration_ms": seat.calibration_ms, "track_delay_ms": seat.track_delay_ms},
        song={"id": song.id, "title": song.title, "audio_url": f"/api/songs/{song.id}/audio",
              "lead_in_s": round(room.plan.lead_in_s, 6),
              "beats_s": [round(float(b), 6) for b in song.beatmap.beats_s],
              "beatmap": song.beatmap.to_dict(),
              "notes": [] if song.chart is None else [
                  {"time_s": round(n.time_s, 6), "voice": n.voice.value} for n in song.chart.notes]},
    )


async def _handle(service: RoomService, room: Room, seat: Seat, msg: ClientMessage,
                  received_ms: float) -> BaseModel | None:
    if isinstance(msg, PingMessage):
        return PongMessage(t0_ms=msg.t0_ms, t1_ms=received_ms, t2_ms=service.now_ms())
    if isinstance(msg, HitMessage):
        ack = room.add_hit(seat, msg.seq, msg.time_s, msg.voice, msg.velocity, msg.openness)
        partner = room.partner_of(seat)
        if not ack.duplicate and partner is not None:
            await service.send(room, partner.letter, PartnerHitMessage(
                voice=msg.voice, velocity=msg.velocity, time_s=msg.time_s))
        return JudgmentMessage(**ack.to_dict())
    if isinstance(msg, SettingsMessage):
        room.configure(seat, msg.calibration_ms, msg.track_delay_ms)
        return SettingsReply(calibration_ms=seat.calibration_ms, track_delay_ms=seat.track_delay_ms)
    if isinstance(msg, StatusMessage):
        partner = room.partner_of(seat)
        if partner is not None:
            await service.send(room, partner.letter, PartnerStatusMessage(rtt_ms=msg.rtt_ms))
        return None
    if isinstance(msg, StartMessage):
        start_ms = await service.start(room)
        await service.broadcast(room, StartReply(start_ms=start_ms, room=room.summary()))
        return None
    raise RoomError("a room takes ping, hit, settings, status, start, mic_start and mic_end, "
                    f"not {msg.type!r}")


async def _replies(service: RoomService, room: Room, seat: Seat, msg: ClientMessage,
                   received_ms: float) -> list[str]:
    if isinstance(msg, MicStartMessage):
        kit = await asyncio.to_thread(service.kits, seat.name, msg.device)
        return await service.mic_replies(room, seat, start_room_mic, msg, kit, service.bleed)
    if isinstance(msg, MicEndMessage):
        if seat.letter not in service.mics.get(id(room), {}):
            raise RoomError("your microphone is not streaming (it was never started, or has "
                            "ended); send 'mic_start' first")
        return await service.end_mic(room, seat)
    reply = await _handle(service, room, seat, msg, received_ms)
    return [] if reply is None else [reply.model_dump_json()]


async def _hello(websocket: WebSocket, service: RoomService) -> tuple[Room, Seat] | None:
    """Read the first message, ``hello {code, token}``; the room and seat, or None."""
    try:
        msg = parse_message(await asyncio.wait_for(receive_text(websocket), HELLO_TIMEOUT_S))
        if not isinstance(msg, HelloMessage):
            return None
        room = service.registry.get(msg.code)
    except (TimeoutError, DrumjamError):
        return None
    seat = room.seat_for(msg.token) if room.result is None else None
    return None if seat is None else (room, seat)


@router.websocket("/ws")
async def room_socket(websocket: WebSocket) -> None:
    """One player's connection to their room; the first message must be ``hello {code, token}``
    (secrets travel in the message, never in the URL that logs keep)."""
    service = _service(websocket.app)
    await websocket.accept()
    try:
        found = await _hello(websocket, service)
    except WebSocketDisconnect:
        return
    if found is None:
        await websocket.close(code=CLOSE_NOT_ALLOWED, reason="no room for this code and token")
        return
    room, seat = found
    seats = service.sockets.setdefault(id(room), {})
    old = seats.get(seat.letter)
    seats[seat.letter] = websocket
    if old is not None:
        try:
            await old.close(code=CLOSE_REPLACED, reason="this seat is now played in another window")
        except RuntimeError:
            pass
    room.set_connected(seat, True)
    await service.send(room, seat.letter, _welcome(service, room, seat))
    await _tell_partner(service, room, seat, "connected")
    pacer = service.pace()
    try:
        while True:
            text = None
            try:
                message = await websocket.receive()
                received_ms = service.now_ms()
                if message["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(message.get("code", 1000))
                await pacer.take()
                if message.get("bytes") is not None:  # the player's microphone
                    replies = await service.mic_replies(room, seat, room_mic_frame, message["bytes"])
                else:
                    text = message["text"]
                    replies = await _replies(service, room, seat, parse_message(text), received_ms)
            except WebSocketDisconnect:
                raise
            except Exception as exc:  # noqa: BLE001 (one bad message never ends the room)
                await websocket.send_text(error_reply(text, exc))
                continue
            for reply in replies:
                await websocket.send_text(reply)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the player left, or the room ended and closed the connection
    finally:
        if service.sockets.get(id(room), {}).get(seat.letter) is websocket:
            del service.sockets[id(room)][seat.letter]
            if not service.sockets[id(room)]:  # a room nobody is in keeps no entry
                del service.sockets[id(room)]
            room.set_connected(seat, False, service.clock_s())
            # the page went away: the partner is told and its microphone's last hits are
            # scored, even if this connection's task is being cancelled (a server stopping)
            with anyio.CancelScope(shield=True):
                if room.result is None:
                    await _tell_partner(service, room, seat, "disconnected")
                await service.end_mic(room, seat)


async def _tell_partner(service: RoomService, room: Room, seat: Seat, status: str) -> None:
    partner = room.partner_of(seat)
    if partner is not None:
        await service.send(room, partner.letter, PartnerMessage(status=status, room=room.summary()))
