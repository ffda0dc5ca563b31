"""The live WebSocket of a local session: hits in, judgments out, results saved at the end.

The messages are :mod:`drumjam.web.protocol`'s (``hit`` and ``finish`` in; ``judgment``,
``result`` and ``error`` out). A refused message gets an ``error`` reply and the connection
carries on; a hit whose ``seq`` was recorded before is answered as a duplicate and not counted
again; ``finish`` may be sent again and answers with the same saved session.
"""

from __future__ import annotations

import logging

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from drumjam.errors import DrumjamError
from drumjam.model import Hit
from drumjam.web.join_link import joins_of
from drumjam.web.mic_socket import (
    end_all,
    end_mic,
    end_started_mic,
    judgment_message,
    mic_frame,
    start_mic,
)
from drumjam.web.protocol import (
    ErrorMessage,
    FinishMessage,
    HitMessage,
    JudgmentMessage,
    MicEndMessage,
    MicStartMessage,
    ResultMessage,
    parse_message,
    seq_of,
)
from drumjam.web.state import JamState, LiveEntry

router = APIRouter(tags=["live"])
log = logging.getLogger("drumjam.web")


class BinaryFrameError(DrumjamError, ValueError):
    """A binary WebSocket frame where JSON text was expected."""


async def receive_text(websocket: WebSocket) -> str:
    """The next text message; a binary frame raises :class:`BinaryFrameError`.

    Raises
    ------
    WebSocketDisconnect
        When the browser closed the connection.
    """
    message = await receive_message(websocket)
    if message.get("text") is None:
        raise BinaryFrameError("binary frames are not part of the protocol; send JSON text")
    return message["text"]


async def receive_message(websocket: WebSocket) -> dict:
    """The next message (``text`` or ``bytes``).

    Raises
    ------
    WebSocketDisconnect
        When the browser closed the connection.
    """
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return message


def error_reply(text: str | None, exc: Exception) -> str:
    """The ``error`` message for a refused message (with its ``seq`` when it had one); an
    unexpected error is logged with its trace and answered in one line."""
    detail = str(exc)
    if not isinstance(exc, DrumjamError):
        log.error("unexpected error on a WebSocket message", exc_info=exc)
        detail = "internal error; it was logged on the server"
    return ErrorMessage(seq=None if text is None else seq_of(text), detail=detail).model_dump_json()


def _judge(entry: LiveEntry, msg: HitMessage) -> str:
    """The ``judgment`` of a hit; a ``seq`` the player sent before is answered as a
    duplicate (``judgment`` null) and not counted again, as in rooms."""
    if msg.seq in entry.hit_seqs.get(msg.player, ()):
        return JudgmentMessage(seq=msg.seq, player=msg.player, duplicate=True).model_dump_json()
    hit = Hit(msg.time_s, msg.voice, msg.velocity, msg.openness)
    result = entry.session.add_hit(msg.player, hit)
    entry.hit_seqs.setdefault(msg.player, set()).add(msg.seq)
    return judgment_message(entry, seq=msg.seq, player=msg.player, voice=msg.voice, result=result)


@router.websocket("/ws/sessions/{live_id}")
async def live_socket(websocket: WebSocket, live_id: str) -> None:
    """Score hits of a live session as they arrive."""
    state: JamState = websocket.app.state.jam
    await websocket.accept()
    try:
        entry = state.live(live_id)
    except DrumjamError as exc:
        await websocket.send_text(ErrorMessage(detail=str(exc)).model_dump_json())
        await websocket.close(code=4404)
        return
    state.connected(entry, True)
    streamed: set[int] = set()  # the players whose microphone this connection started
    joins = joins_of(websocket.app)
    link = joins.of_entry(entry)  # player 2 on a joined device: their judgments come here too
    if link is not None:
        link.host_live = websocket
    finished = False
    try:
        while True:
            text = None
            try:
                message = await receive_message(websocket)
                if message.get("bytes") is not None:  # a microphone's audio
                    for reply in await run_in_threadpool(mic_frame, entry, message["bytes"],
                                                         streamed):
                        await websocket.send_text(reply)
                    continue
                text = message["text"]
                msg = parse_message(text)
                if isinstance(msg, MicStartMessage):
                    streamed.add(msg.player)
                    for reply in await run_in_threadpool(start_mic, state, entry, msg):
                        await websocket.send_text(reply)
                    if link is not None and msg.player == 0:  # the joined device follows
                        await joins.run_started(entry, zero_frame=msg.timeline_zero_frame,
                                                sample_rate=msg.sample_rate, click=msg.click,
                                                count_in_bars=msg.count_in_bars)
                elif isinstance(msg, MicEndMessage):
                    for reply in await run_in_threadpool(end_started_mic, entry, msg.player):
                        await websocket.send_text(reply)
                elif isinstance(msg, HitMessage):
                    await websocket.send_text(_judge(entry, msg))
                elif isinstance(msg, FinishMessage):
                    if link is not None:  # the joined device's last hits are scored first
                        await joins.to_host_live(link, await run_in_threadpool(end_mic, entry, 1))
                    session_id, summary = await run_in_threadpool(state.finish_live, live_id, entry,
                                                                  msg.stop_s)
                    finished = True
                    await joins.run_over(entry, session_id, f"saved: {summary}")
                    await websocket.send_text(ResultMessage(session_id=session_id,
                                                            summary=summary).model_dump_json())
                    await websocket.close()
                    return
                else:
                    raise DrumjamError("a local session takes 'hit', 'finish', 'mic_start' and "
                                       f"'mic_end', not {msg.type!r}")
            except WebSocketDisconnect:
                raise
            except Exception as exc:  # noqa: BLE001 (one bad message never ends the session)
                await websocket.send_text(error_reply(text, exc))
    except WebSocketDisconnect:
        return
    finally:
        # the microphones' last hits are kept even if this task is being cancelled (a server
        # stopping, or a test client closing the connection)
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(end_all, entry, streamed)
            state.connected(entry, False)
            if link is not None and not finished:  # the joined microphone's hits are kept too
                await run_in_threadpool(end_mic, entry, 1)
                await joins.run_over(entry, None, "the host stopped the song")
