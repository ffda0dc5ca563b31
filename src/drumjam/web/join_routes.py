"""Joining a local session from another device: the link, and the devices' connection.

``POST /api/joins`` gives the host's page a link (``code``, the host's ``token``, the
``join_url`` to open on the other device, at the app's public address when it has one
(``drumjam serve --lan``), and a QR code of it, ``qr_data_uri``, an SVG). WebSocket
``/ws/joins`` carries :mod:`drumjam.web.protocol`'s messages; the first must be
``hello {code, token}`` (the host's token, or the joined device's from an earlier welcome, or
"" to join): an unknown or ended link, and a third device, get an ``error`` and the connection
closes (4404, 4409). Then:

- ``ping`` -> ``pong`` and ``clock {t0_ms, t1_ms, t2_ms, t3_ms}`` (the round trip with the
  device's audio clock) -> ``clock_status``: each device's audio clock against the server's
- ``seat {device, latency_ms, names, sample_rate}``: the device's set-up (the host names the
  players); the other device gets ``join_partner``
- ``room_check {player}`` (from either device): both get ``room_check``, record their
  microphone for its seconds and send it as one binary frame; both get ``room_checked``
- when the host starts a song with the link, the joined device gets ``run`` (timeline 0 on
  the server clock), sends ``mic_start`` and its microphone's binary frames (player 2) and
  gets player 2's ``judgment``s (the host's page gets them too); ``join_end`` when the run ends.

A joined device that leaves mid-song has its microphone ended (its hits kept) and the host's
player goes on being scored; the host's page leaving (a reload) keeps the link for
:data:`HOST_RETURN_S`, the joined device told, so the page can come back to it with its token;
after that the link closes.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import anyio
import segno
from fastapi import APIRouter, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from drumjam.analysis.kitprofile import MAX_CHECK_S
from drumjam.errors import DrumjamError, InputError
from drumjam.session.devices import (
    HOST,
    JOINED,
    MIN_SYNC_SAMPLES,
    Restamp,
    recording_on_host_clock,
)
from drumjam.session.mic import decode_frame
from drumjam.web.join_link import (
    ROOM_CHECK_S,
    JoinError,
    JoinLink,
    JoinService,
    RoomCheckRun,
    close_quietly,
    joins_of,
)
from drumjam.web.kitcheck_routes import learn_room, recorded_together
from drumjam.web.mic_socket import end_mic, end_started_mic, mic_frame, start_mic
from drumjam.web.protocol import (
    ClockMessage,
    ClockStatusMessage,
    ErrorMessage,
    HelloMessage,
    JoinEndMessage,
    JoinWelcomeMessage,
    MicEndMessage,
    MicStartMessage,
    PingMessage,
    PongMessage,
    RoomCheckedMessage,
    RoomCheckMessage,
    RoomCheckStartMessage,
    SeatMessage,
    error_responses,
    parse_message,
)
from drumjam.web.state import JamState
from drumjam.web.ws_routes import error_reply, receive_message, receive_text

router = APIRouter(tags=["joins"], responses=error_responses(400, 503))
#: Close codes: no such link (or it ended), and a third device.
CLOSE_NOT_FOUND, CLOSE_TAKEN = 4404, 4409
HELLO_TIMEOUT_S = 10.0
#: A room check whose two recordings have not come this long after it ended is given up.
ROOM_CHECK_GRACE_S = 20.0
#: The host's page that left (reloaded, or its connection lost) has this long to come back to
#: its link (with its token) before the jam ends for the joined device.
HOST_RETURN_S = 60.0
#: Room checks' give-up timers (kept referenced while they wait).
_TIMERS: set[asyncio.Task] = set()


@router.post("/api/joins", status_code=201)
def create_join(request: Request) -> dict[str, Any]:
    """A join link for player 2's device (the host keeps ``token`` to itself)."""
    try:
        link = joins_of(request.app).create()
    except JoinError as exc:
        raise HTTPException(503, str(exc)) from None
    base = request.app.state.public_url or str(request.base_url).rstrip("/")
    url = f"{base}/join.html#code={link.code}"
    return {"code": link.code, "token": link.seats[HOST].token, "join_url": url,
            "qr_data_uri": segno.make(url, error="m").svg_data_uri(scale=4, dark="#111", light="#fff")}


async def _seat(ws: WebSocket, service: JoinService) -> tuple[JoinLink, int] | None:
    """The link and seat of a new connection from its ``hello``; None after telling why not."""
    try:
        msg = parse_message(await asyncio.wait_for(receive_text(ws), HELLO_TIMEOUT_S))
        if not isinstance(msg, HelloMessage):
            raise JoinError("the first message must be 'hello' with the join link's code")
        link = service.get(msg.code)
    except (TimeoutError, DrumjamError) as exc:
        detail = "no 'hello' came" if isinstance(exc, TimeoutError) else str(exc)
        await ws.send_text(ErrorMessage(detail=detail).model_dump_json())
        await ws.close(code=CLOSE_NOT_FOUND)
        return None
    if msg.token and msg.token == link.seats[HOST].token:
        return link, HOST
    joined = link.seats[JOINED]
    if joined.socket is not None and not (msg.token and msg.token == joined.token):
        await ws.send_text(ErrorMessage(detail=(
            "player 2's device has already joined this jam; a third device cannot join (two "
            "microphones, one per kit)")).model_dump_json())
        await ws.close(code=CLOSE_TAKEN)
        return None
    if not (msg.token and msg.token == joined.token):
        joined.token = secrets.token_urlsafe(18)
    return link, JOINED


@router.websocket("/ws/joins")
async def join_socket(websocket: WebSocket) -> None:
    """One device's connection to a join link; the first message is ``hello {code, token}``."""
    service = joins_of(websocket.app)
    state: JamState = websocket.app.state.jam
    await websocket.accept()
    try:
        found = await _seat(websocket, service)
    except WebSocketDisconnect:
        return
    if found is None:
        return
    link, seat = found
    link.touched_s = time.monotonic()
    old, link.seats[seat].socket = link.seats[seat].socket, websocket
    await close_quietly(old)  # the same device again (a reloaded page)
    await service.send(link, seat, JoinWelcomeMessage(
        seat=seat, token=link.seats[seat].token, names=link.names, sample_rate=link.sample_rate,
        partner=link.connected(1 - seat)))
    await service.send(link, 1 - seat, link.partner_message(seat, "connected"))
    if link.connected(1 - seat):  # a page back from a reload: who is there already
        await service.send(link, seat, link.partner_message(1 - seat, "connected"))
    if seat == JOINED and link.run is not None:  # back mid-song: follow it again
        await service.send(link, seat, link.run_message(link.run))
    try:
        while True:
            text = None
            try:
                message = await receive_message(websocket)
                received_ms = service.now_ms()
                if message.get("bytes") is not None:
                    replies = await _binary(service, state, link, seat, message["bytes"])
                else:
                    text = message["text"]
                    replies = await _text(service, state, link, seat, parse_message(text),
                                          received_ms)
            except WebSocketDisconnect:
                raise
            except Exception as exc:  # noqa: BLE001 (one bad message never ends the link)
                replies = [error_reply(text, exc)]
            for reply in replies:
                await service.send(link, seat, reply)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if link.seats[seat].socket is websocket:
            with anyio.CancelScope(shield=True):  # the joined microphone's hits are kept
                await _left(service, link, seat)


async def _text(service: JoinService, state: JamState, link: JoinLink, seat: int,
                msg: BaseModel, received_ms: float) -> list[str]:
    if isinstance(msg, PingMessage):
        return [PongMessage(t0_ms=msg.t0_ms, t1_ms=received_ms, t2_ms=service.now_ms()).model_dump_json()]
    if isinstance(msg, ClockMessage):
        return await _clock(service, link, seat, msg)
    if isinstance(msg, SeatMessage):
        s = link.seats[seat]
        s.device, s.latency_ms = msg.device, msg.latency_ms
        if seat == HOST:
            link.names = list(msg.names or link.names)
            link.sample_rate = msg.sample_rate or link.sample_rate
        await service.send(link, 1 - seat, link.partner_message(seat, "updated"))
        return []
    if isinstance(msg, RoomCheckMessage):
        await _start_room_check(service, link, msg.player)
        return []
    if isinstance(msg, (MicStartMessage, MicEndMessage)) and seat == JOINED:
        return await _joined_mic(service, state, link, msg)
    raise JoinError("a join link takes ping, clock, seat and room_check (and, from player 2's "
                    f"device, mic_start and mic_end), not {getattr(msg, 'type', '?')!r}")


async def _clock(service: JoinService, link: JoinLink, seat: int, msg: ClockMessage) -> list[str]:
    estimate = link.clocks.add(seat, msg.t0_ms, msg.t1_ms, msg.t2_ms, msg.t3_ms)
    synced = link.clocks.synced(seat)
    if synced and not link.seats[seat].synced:
        link.seats[seat].synced = True
        await service.send(link, 1 - seat, link.partner_message(seat, "updated"))
    status = ClockStatusMessage(seat=seat, synced=synced, samples=link.clocks.samples(seat),
                                needed=MIN_SYNC_SAMPLES, spread_ms=estimate.spread_s * 1e3,
                                rtt_ms=estimate.rtt_s * 1e3)
    return [status.model_dump_json()]


async def _start_room_check(service: JoinService, link: JoinLink, player: int) -> None:
    """Both devices record their microphone while ``player`` plays alone."""
    link.require_partner()
    if link.entry is not None:
        raise JoinError("the room check is made before the song, not while it plays")
    if link.sample_rate is None:
        raise JoinError("the host's page has not said its sample rate yet; reload it")
    check = link.check = RoomCheckRun(player)
    for s in (HOST, JOINED):
        await service.send(link, s, RoomCheckStartMessage(player=player, name=link.names[player],
                                                          seconds=ROOM_CHECK_S))
    timer = asyncio.create_task(_give_up(service, link, check))
    _TIMERS.add(timer)
    timer.add_done_callback(_TIMERS.discard)


async def _give_up(service: JoinService, link: JoinLink, check: RoomCheckRun) -> None:
    """Tell both devices when a recording of the room check never came."""
    await asyncio.sleep(ROOM_CHECK_S + ROOM_CHECK_GRACE_S)
    if link.check is not check:
        return
    link.check = None
    missing = " and ".join(("the host's page", "player 2's device")[s]
                           for s, r in enumerate(check.recordings) if r is None)
    reply = RoomCheckedMessage(player=check.player, detail=(
        f"no recording came from {missing} (was its microphone refused or busy?); check again"))
    for s in (HOST, JOINED):
        await service.send(link, s, reply)


async def _binary(service: JoinService, state: JamState, link: JoinLink, seat: int,
                  data: bytes) -> list[str]:
    check = link.check
    if check is not None and check.recordings[seat] is None:
        rate = link.sample_rate or 48000
        frame = decode_frame(data, max_samples=int(MAX_CHECK_S * rate))
        if seat == JOINED:  # on the host's audio clock, as the host's own recording
            frame = recording_on_host_clock(link.clocks, frame, sample_rate=rate)
        check.recordings[seat] = frame
        if all(r is not None for r in check.recordings):
            link.check = None
            await _finish_room_check(service, state, link, check, rate)
        return []
    entry = link.entry
    if seat == JOINED and link.streamed and (entry is None or JOINED not in entry.mics):
        return []  # frames still on their way when the stream ended are dropped
    if seat != JOINED or entry is None:
        raise JoinError("binary frames on a join link are room check recordings (after "
                        "'room_check') or player 2's microphone (after 'mic_start')")
    try:
        replies = await run_in_threadpool(mic_frame, entry, data, {JOINED})
    except InputError:
        if JOINED not in entry.mics:  # the run ended while this frame was fed
            return []
        raise
    await service.to_host_live(link, [r for r in replies if '"judgment"' in r])
    return replies


async def _finish_room_check(service: JoinService, state: JamState, link: JoinLink,
                             check: RoomCheckRun, rate: int) -> None:
    p = check.player
    own, other = check.recordings[p], check.recordings[1 - p]
    try:
        a, b = recorded_together(own, other, rate)
        room = await run_in_threadpool(
            learn_room, state, a, b, sample_rate=rate, name=link.names[p],
            device=link.seats[p].device, partner_device=link.seats[1 - p].device)
        reply = RoomCheckedMessage(player=p, room=room)
    except DrumjamError as exc:
        reply = RoomCheckedMessage(player=p, detail=str(exc))
    for s in (HOST, JOINED):
        await service.send(link, s, reply)


async def _joined_mic(service: JoinService, state: JamState, link: JoinLink,
                      msg: MicStartMessage | MicEndMessage) -> list[str]:
    """Player 2's microphone on the joined device starts or ends."""
    entry, run = link.entry, link.run
    if entry is None or run is None:
        raise JoinError("the song has not started on the host's device yet; the microphone "
                        "starts with it")
    if isinstance(msg, MicEndMessage):
        if link.streamed and JOINED not in entry.mics:
            return []  # the host's finish ended the stream first: nothing left to end
        replies = await run_in_threadpool(end_started_mic, entry, JOINED)
    else:
        link.require_partner()
        start = MicStartMessage(
            type="mic_start", player=JOINED, sample_rate=msg.sample_rate,
            timeline_zero_frame=run.zero_frame, cancel_bleed=msg.cancel_bleed, click=run.click,
            count_in_bars=run.count_in_bars, device=msg.device, room_pair=True)
        restamp = Restamp(link.clocks, sample_rate=msg.sample_rate)
        replies = await run_in_threadpool(start_mic, state, entry, start, restamp=restamp)
        link.streamed = True
    await service.to_host_live(link, [r for r in replies if '"judgment"' in r])
    return replies


async def _left(service: JoinService, link: JoinLink, seat: int) -> None:
    """A device left: the joined one's microphone ends (hits kept); the host's page is waited
    for (:data:`HOST_RETURN_S`), the joined device told meanwhile."""
    link.seats[seat].socket = None
    link.seats[seat].synced = False
    link.clocks.forget(seat)
    check, link.check = link.check, None
    if check is not None:
        await service.send(link, 1 - seat, RoomCheckedMessage(
            player=check.player, detail="the other device left during the room check; check again"))
    if seat == JOINED:
        if link.entry is not None and JOINED in link.entry.mics:
            replies = await run_in_threadpool(end_mic, link.entry, JOINED)
            await service.to_host_live(link, replies)
        await service.send(link, HOST, link.partner_message(JOINED, "disconnected"))
        return
    link.touched_s = time.monotonic()
    await service.send(link, JOINED, link.partner_message(HOST, "disconnected"))
    timer = asyncio.create_task(_end_unless_host_returns(service, link))
    _TIMERS.add(timer)
    timer.add_done_callback(_TIMERS.discard)


async def _end_unless_host_returns(service: JoinService, link: JoinLink) -> None:
    """End the jam :data:`HOST_RETURN_S` after the host's page left, unless it came back (a
    later leave has its own timer)."""
    await asyncio.sleep(HOST_RETURN_S)
    if (link.connected(HOST) or service.links.get(link.code) is not link
            or time.monotonic() - link.touched_s < HOST_RETURN_S - 1e-3):
        return
    service.close(link, "the host's page left it")
    await service.send(link, JOINED, JoinEndMessage(detail="the host left the jam", closed=True))
    await close_quietly(link.seats[JOINED].socket)
