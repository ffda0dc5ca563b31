"""Starting a live session: song, players with their latencies, speed and loop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from drumjam.session.live import LiveSession, Player, clean_name
from drumjam.session.practice import Practice, plan_practice
from drumjam.library import validate_speed
from drumjam.store.inputs import stored_latency_ms
from drumjam.web.join_link import JoinError, JoinLink, joins_of
from drumjam.web.protocol import JoinKeyIn, SessionIn, error_responses
from drumjam.web.state import JamStateDep, LiveEntry

router = APIRouter(prefix="/api", tags=["sessions"],
                   responses=error_responses(400, 403, 404, 409, 413, 429, 503))


@router.post("/sessions", status_code=201)
def start_session(state: JamStateDep, body: SessionIn, request: Request) -> dict[str, Any]:
    """Create a live session; hits then go over ``/ws/sessions/{live_id}``. With ``join``,
    player 2 plays on the device joined by that link (it must be there, its clock synced)."""
    link = None if body.join is None else _joined(request, body.join, len(body.players))
    song = state.library.get(body.song_id)
    if body.drum_part:
        song = state.library.with_drum_part(song)
    practice = Practice(
        speed=validate_speed(body.speed),
        loop_bars=None if body.loop is None else (body.loop.first_bar, body.loop.last_bar),
        repeats=4 if body.loop is None else body.loop.repeats,
    )
    plan = plan_practice(song.chart, song.beatmap, practice)
    players = []
    for i, p in enumerate(body.players):
        name = clean_name(p.name, f"Player {i + 1}")
        latency = p.latency_ms
        if latency is None:
            latency = stored_latency_ms(name, input_kind=p.input, device=p.device,
                                        url=state.db_url) or 0.0
        players.append(Player(name, latency))
    history_id = state.history.open(
        song_id=song.id, title=song.title, players=players, beatmap=plan.beatmap,
        chart=plan.chart, grid=song.grid,
        practice={"speed": practice.speed, "loop_bars": practice.loop_bars,
                  "repeats": practice.repeats if practice.loop_bars else None})
    session = LiveSession(players, plan.beatmap, plan.chart, grid=song.grid,
                          on_hit=state.history.recorder(history_id), start_s=plan.lead_in_s)
    entry = LiveEntry(song, practice, plan, session, history_id)
    live_id = state.add_live(entry)
    if link is not None:
        link.entry, link.run = entry, None
    return {
        "live_id": live_id,
        "song": song.to_dict(),
        "players": [{"name": p.name, "latency_ms": p.latency_ms} for p in players],
        "speed": practice.speed,
        "plan": plan.to_dict(),
        "audio_url": f"/api/songs/{song.id}/audio?speed={practice.speed}",
        "websocket": f"/ws/sessions/{live_id}",
    }


def _joined(request: Request, key: JoinKeyIn, players: int) -> JoinLink:
    """The join link of player 2's device, ready to play (else 409 saying what is missing)."""
    link = joins_of(request.app).host_link(key.code, key.token)
    if players != 2:
        raise HTTPException(409, "a joined device plays player 2: choose two players")
    try:
        link.require_partner()
    except (JoinError, ValueError) as exc:
        raise HTTPException(409, str(exc)) from None
    return link
