"""History of saved sessions, their results and downloads (MIDI, JSON, HTML report, card)."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from drumjam.io.midi import write_midi
from drumjam.store.sessions import get_session, list_sessions
from drumjam.report.card import write_card
from drumjam.web.protocol import error_responses
from drumjam.web.results import attachment, rebuild, title_part, write_report
from drumjam.web.state import JamStateDep

router = APIRouter(prefix="/api/history", tags=["history"], responses=error_responses(400, 404))
#: Largest id or offset taken (ids are 64-bit integers in the database).
MAX_ID = 2**53
SessionId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="A saved session's id.")]


def _filename(saved: dict[str, Any], suffix: str) -> str:
    """``drumjam-<id>-<title><suffix>``, the title cut by :func:`~drumjam.web.results.title_part`."""
    stem = re.sub(r"\W+", "-", saved["song_title"]).strip("-").lower()
    stem = title_part(stem).strip("-") or "session"
    return f"drumjam-{saved['id']}-{stem}{suffix}"


@router.get("")
def history(state: JamStateDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> list[dict[str, Any]]:
    """Saved sessions, newest first."""
    return list_sessions(limit, offset, url=state.db_url)


@router.get("/{session_id}")
def saved_session(state: JamStateDep, session_id: SessionId) -> dict[str, Any]:
    """Everything about one saved session."""
    return get_session(session_id, url=state.db_url)


@router.get("/{session_id}/results.json")
def results_json(state: JamStateDep, session_id: SessionId) -> JSONResponse:
    """The session as a JSON download."""
    saved = get_session(session_id, url=state.db_url)
    return JSONResponse(saved, headers=attachment(_filename(saved, ".json")))


@router.get("/{session_id}/take/{player}.mid", response_class=Response,
            responses={200: {"content": {"audio/midi": {}}, "description": "The take."}})
def take_midi(state: JamStateDep, session_id: SessionId, player: Annotated[int, PathParam(ge=0, le=1000)]) -> Response:
    """One player's take as a General MIDI drum file on the session's beat map."""
    saved = get_session(session_id, url=state.db_url)
    rebuilt = rebuild(saved)
    if not 0 <= player < len(rebuilt.takes):
        kept = len(rebuilt.takes)
        raise HTTPException(404, f"session {session_id} has no take {player}: it kept "
                            + ("1 take (player 0)" if kept == 1 else f"{kept} takes (players 0-{kept - 1})")
                            + "; a player who played no hits has none (the summary names them)")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_midi(Path(tmp) / "take.mid", rebuilt.takes[player], rebuilt.beatmap)
        data = path.read_bytes()
    return Response(data, media_type="audio/midi",
                    headers=attachment(_filename(saved, f"-player{player + 1}.mid")))


@router.get("/{session_id}/report.html", response_class=Response,
            responses={200: {"content": {"text/html": {}}, "description": "The report."}})
def report(state: JamStateDep, session_id: SessionId, download: bool = False) -> HTMLResponse:
    """The core HTML report (plots, per-voice table, summary)."""
    saved = get_session(session_id, url=state.db_url)
    with tempfile.TemporaryDirectory() as tmp:
        html = write_report(saved, Path(tmp) / "report.html").read_text(encoding="utf-8")
    headers = attachment(_filename(saved, ".html")) if download else None
    return HTMLResponse(html, headers=headers)


@router.get("/{session_id}/card.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "The card."}})
def card(state: JamStateDep, session_id: SessionId, download: bool = False) -> Response:
    """The keepsake card (PNG, 1200 x 630)."""
    saved = get_session(session_id, url=state.db_url)
    buf = io.BytesIO()
    write_card(saved, buf)
    headers = attachment(_filename(saved, ".png")) if download else None
    return Response(buf.getvalue(), media_type="image/png", headers=headers)
