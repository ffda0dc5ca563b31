"""Lessons in the jam app: create from a recorded or uploaded take, notation, practice, progress.

The page lives in ``static/lessons/`` (served at ``/lessons/``); this router is its API.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from drumjam.errors import InputError
from drumjam.io.midi import read_take
from drumjam.lesson import TrainerConfig, extract_pattern, parse_bars, pattern_musicxml, pattern_svg
from drumjam.model import BeatMap, Hit, Take
from drumjam.session.live import MAX_LATENCY_MS, clean_name
from drumjam.store import lessons as store
from drumjam.store.sessions import get_calibration, get_session
from drumjam.web.results import rebuild
from drumjam.web.state import JamState, get_state

router = APIRouter(prefix="/api/lessons", tags=["lessons"])

MAX_HITS = 20000
#: Hits up to this long before the first beat aim at it; earlier ones belong to the count-in.
COUNT_IN_GRACE_S = 0.25
#: Where an attempt's first beat is put in its take, so that hits before it keep their times.
ATTEMPT_LEAD_S = 1.0
#: Engraving size of the notation shown in the page (verovio's scale, %).
SVG_SCALE_PCT = 70


class HitIn(BaseModel):
    """A hit as the browser records it: seconds from the first beat of the click (negative
    before it)."""

    time_s: float
    voice: str
    velocity: int = 100


class RecordedTake(BaseModel):
    """A teacher's take recorded in the app against a click."""

    name: str
    tempo_bpm: float = Field(gt=0)
    meter: int = 4
    bars: str | None = None
    hits: list[HitIn]
    trainer: dict[str, Any] = Field(default_factory=dict)


class FromSession(BaseModel):
    """A take of a saved jam session (by player number, from 0) to teach."""

    name: str
    session_id: int
    player: int = 0
    bars: str | None = None
    trainer: dict[str, Any] = Field(default_factory=dict)


class Attempt(BaseModel):
    """A student's attempt recorded in the app against the trainer's click (``loops``: how
    many loops the recorder asked for, from the first beat)."""

    student: str
    tempo_bpm: float | None = None
    loops: int | None = None
    hits: list[HitIn]
    #: The student's input + output latency, removed from every hit; by default the latency
    #: stored when they calibrated in the jam app (none: 0).
    latency_ms: float | None = Field(default=None, ge=-MAX_LATENCY_MS, le=MAX_LATENCY_MS)


def _take(hits: list[HitIn], player: str, beatmap: BeatMap | None = None, shift_s: float = 0.0) -> Take:
    """The hits as a take, each moved by ``shift_s``; count-in hits left out and the few that
    would still fall before 0 s held there."""
    if len(hits) > MAX_HITS:
        raise InputError(f"{len(hits)} hits are too many for one take (at most {MAX_HITS})")
    return Take(
        tuple(Hit(max(0.0, h.time_s + shift_s), h.voice, h.velocity)
              for h in hits if h.time_s >= -COUNT_IN_GRACE_S),
        player=player,
        beatmap=beatmap,
    )


@router.get("")
def lessons(state: JamState = Depends(get_state)) -> list[dict[str, Any]]:
    """Every lesson."""
    return store.list_lessons(url=state.db_url)


@router.post("")
def create_from_recording(
    take: RecordedTake, state: JamState = Depends(get_state)
) -> dict[str, Any]:
    """Make a lesson from a take recorded in the app at ``tempo_bpm`` (first beat at 0 s)."""
    if not take.hits:
        raise InputError("the recording has no hits; play the groove along with the click")
    last_s = max(h.time_s for h in take.hits)
    beatmap = BeatMap.constant(take.tempo_bpm, last_s + 60.0 / take.tempo_bpm, meter=take.meter)
    pattern = extract_pattern(_take(take.hits, "teacher", beatmap), bars=parse_bars(take.bars))
    info = store.create_lesson(
        take.name,
        pattern,
        trainer=TrainerConfig.from_dict(take.trainer),
        source="recorded in the app",
        url=state.db_url,
    )
    return {**info, "pattern": pattern.to_dict()}


@router.post("/upload")
async def create_from_midi(
    file: UploadFile = File(...),
    name: str = Form(...),
    bars: str | None = Form(None),
    with_feel: bool = Form(False),
    state: JamState = Depends(get_state),
) -> dict[str, Any]:
    """Make a lesson from an uploaded MIDI take (``with_feel``: students aim at its feel)."""
    data = await file.read(state.max_upload_bytes + 1)
    if len(data) > state.max_upload_bytes:
        raise InputError(f"{file.filename}: larger than {state.max_upload_bytes // 2**20} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (Path(file.filename or "take.mid").name or "take.mid")
        path.write_bytes(data)
        pattern = extract_pattern(read_take(path), bars=parse_bars(bars))
    info = store.create_lesson(
        name,
        pattern,
        trainer=TrainerConfig(with_feel=with_feel),
        source=file.filename or "upload",
        url=state.db_url,
    )
    return {**info, "pattern": pattern.to_dict()}


@router.post("/from-session")
def create_from_session(body: FromSession, state: JamState = Depends(get_state)) -> dict[str, Any]:
    """Make a lesson from a player's take in a saved jam session (played to its song)."""
    saved = get_session(body.session_id, url=state.db_url)
    takes = rebuild(saved).takes
    if not 0 <= body.player < len(takes):
        raise InputError(
            f"session {body.session_id} has player(s) 0-{len(takes) - 1}, not {body.player}"
        )
    take = takes[body.player]
    pattern = extract_pattern(take, bars=parse_bars(body.bars))
    source = f"session {body.session_id}: {take.player} on {saved['song_title']}"
    trainer = TrainerConfig.from_dict(body.trainer)
    info = store.create_lesson(body.name, pattern, trainer=trainer, source=source, url=state.db_url)
    return {**info, "pattern": pattern.to_dict()}


@router.get("/{name}")
def lesson(name: str, state: JamState = Depends(get_state)) -> dict[str, Any]:
    """A lesson's summary, pattern and trainer settings."""
    pattern, trainer, info = store.load_lesson(name, url=state.db_url)
    return {**info, "pattern": pattern.to_dict(), "trainer": trainer.to_dict()}


class Rename(BaseModel):
    """A lesson's new name."""

    name: str


@router.patch("/{name}")
def rename(name: str, body: Rename, state: JamState = Depends(get_state)) -> dict[str, Any]:
    """Give a lesson another name; students keep their attempts and progress."""
    return store.rename_lesson(name, body.name, url=state.db_url)


@router.delete("/{name}")
def delete(name: str, state: JamState = Depends(get_state)) -> dict[str, Any]:
    """Delete a lesson with its students' attempts and progress on it."""
    return store.delete_lesson(name, url=state.db_url)


@router.get("/{name}/notation.svg")
def notation_svg(name: str, state: JamState = Depends(get_state)) -> Response:
    """The pattern engraved as SVG."""
    pattern, _, info = store.load_lesson(name, url=state.db_url)
    return Response(
        pattern_svg(pattern, info["name"], scale_pct=SVG_SCALE_PCT), media_type="image/svg+xml"
    )


@router.get("/{name}/notation.musicxml")
def notation_musicxml(name: str, state: JamState = Depends(get_state)) -> Response:
    """The pattern as a MusicXML download."""
    pattern, _, info = store.load_lesson(name, url=state.db_url)
    filename = "".join(c if c.isalnum() else "-" for c in info["name"]) + ".musicxml"
    return Response(
        pattern_musicxml(pattern, info["name"]),
        media_type="application/vnd.recordare.musicxml+xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{name}/progress")
def progress(name: str, student: str, state: JamState = Depends(get_state)) -> dict[str, Any]:
    """A student's tempo, passes and attempt history on the lesson."""
    return store.progress(name, student, url=state.db_url)


@router.get("/{name}/students")
def students(name: str, state: JamState = Depends(get_state)) -> list[dict[str, Any]]:
    """Where every student of the lesson stands."""
    return store.students(name, url=state.db_url)


@router.post("/{name}/attempts")
def attempt(name: str, body: Attempt, state: JamState = Depends(get_state)) -> dict[str, Any]:
    """Score an attempt recorded in the app, the student's latency removed; the trainer's
    verdict and next tempo."""
    if not body.hits:
        raise InputError("the attempt has no hits; play the pattern along with the click")
    latency_ms = body.latency_ms
    if latency_ms is None:
        latency_ms = get_calibration(clean_name(body.student, ""), url=state.db_url) or 0.0
    # the first beat goes ATTEMPT_LEAD_S into the take: a hit just before it stays early
    take = _take(body.hits, body.student, shift_s=ATTEMPT_LEAD_S - latency_ms / 1000.0)
    result = store.practise(name, body.student, take, tempo_bpm=body.tempo_bpm,
                            url=state.db_url, loops=body.loops, start_s=ATTEMPT_LEAD_S)
    return {**result, "latency_ms": latency_ms}
