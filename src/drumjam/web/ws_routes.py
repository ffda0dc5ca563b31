"""The live WebSocket: hits in, judgments out, results saved at the end.

Messages from the browser (JSON)::

    {"type": "hit", "seq": 7, "player": 0, "time_s": 12.345, "voice": "snare",
     "velocity": 100, "openness": null}
    {"type": "finish"}

Answers::

    {"type": "judgment", "seq": 7, "player": 0, "offset_ms": -12.1, "judgment": "great", ...}
    {"type": "result", "session_id": 3, "summary": "..."}
    {"type": "error", "seq": 7, "message": "..."}      (the connection stays open)
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from drumjam.errors import DrumjamError
from drumjam.model import Hit
from drumjam.store.sessions import save_session
from drumjam.web.state import JamState, LiveEntry

router = APIRouter(tags=["live"])
MAX_MESSAGE_CHARS = 4096


def _judge(entry: LiveEntry, msg: dict[str, Any]) -> dict[str, Any]:
    player = msg.get("player")
    try:
        hit = Hit(float(msg["time_s"]), msg["voice"], int(msg.get("velocity", 100)),
                  None if msg.get("openness") is None else float(msg["openness"]))
    except KeyError as exc:
        raise DrumjamError(f"a hit needs {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise DrumjamError(f"malformed hit: {exc}") from None
    result = entry.session.add_hit(player, hit)
    out = {"type": "judgment", "seq": msg.get("seq"), "player": player}
    out.update(result.to_dict())
    out["running"] = entry.session.running(player)
    out["duet"] = entry.session.duet_running()
    return out


def _save(state: JamState, entry: LiveEntry) -> tuple[int, str]:
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
        url=state.db_url,
    )
    return session_id, result.summary


@router.websocket("/ws/sessions/{live_id}")
async def live_socket(websocket: WebSocket, live_id: str) -> None:
    """Score hits of a live session as they arrive."""
    state: JamState = websocket.app.state.jam
    await websocket.accept()
    try:
        entry = state.live(live_id)
    except DrumjamError as exc:
        await websocket.send_json({"type": "error", "message": str(exc)})
        await websocket.close(code=4404)
        return
    try:
        while True:
            text = await websocket.receive_text()
            seq = None
            try:
                if len(text) > MAX_MESSAGE_CHARS:
                    raise DrumjamError(f"message of {len(text)} characters is too long")
                try:
                    msg = json.loads(text)
                except json.JSONDecodeError:
                    raise DrumjamError("message is not JSON") from None
                if not isinstance(msg, dict):
                    raise DrumjamError("message must be a JSON object")
                seq = msg.get("seq")
                kind = msg.get("type")
                if kind == "hit":
                    await websocket.send_json(_judge(entry, msg))
                elif kind == "finish":
                    session_id, summary = await run_in_threadpool(_save, state, entry)
                    state.drop_live(live_id)
                    await websocket.send_json({"type": "result", "session_id": session_id,
                                               "summary": summary})
                    await websocket.close()
                    return
                else:
                    raise DrumjamError(f"unknown message type {kind!r}; send 'hit' or 'finish'")
            except DrumjamError as exc:
                await websocket.send_json({"type": "error", "seq": seq, "message": str(exc)})
    except WebSocketDisconnect:
        return
