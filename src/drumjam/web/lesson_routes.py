"""Lessons in the jam app: create from a recorded or uploaded take, notation, practice, progress.

The page lives in ``static/lessons/`` (served at ``/lessons/``); this router is its API.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from drumjam.analysis.takes import load_take
from drumjam.errors import FileFormatError, InputError
from drumjam.lesson import TrainerConfig, extract_pattern, parse_bars, pattern_musicxml, pattern_svg
from drumjam.library.catalogue import upload_error
from drumjam.library.importers import AUDIO_SUFFIXES, MIDI_SUFFIXES
from drumjam.model import BeatMap, Hit, Take
from drumjam.session.live import LiveSession, Player, clean_name, is_count_in, remove_latency
from drumjam.store import lessons as store
from drumjam.store.sessions import get_calibration, get_session
from drumjam.web.results import attachment, rebuild, title_part
from drumjam.web.protocol import (
    AttemptIn,
    FromSessionIn,
    LessonHitIn,
    RecordedTakeIn,
    RenameIn,
    error_responses,
)
from drumjam.web.state import JamState, get_state

router = APIRouter(prefix="/api/lessons", tags=["lessons"],
                   responses=error_responses(400, 403, 404, 409, 413))

#: What the temporary copy of an uploaded take may be named with: a MIDI file's or a
#: recording's suffix.
TAKE_SUFFIXES = MIDI_SUFFIXES + AUDIO_SUFFIXES
#: Where an attempt's first beat is put in its take, so that hits before it keep their times.
ATTEMPT_LEAD_S = 1.0
#: Engraving size of the notation shown in the page (verovio's scale, %).
SVG_SCALE_PCT = 70


def _take(hits: list[LessonHitIn], player: str, *, beatmap: BeatMap | None = None,
          start_s: float = 0.0, latency_ms: float = 0.0) -> Take:
    """The hits as a take whose first beat is at ``start_s``: the player's latency removed and
    count-in taps left out, by the rules of every play-along (:mod:`drumjam.session.live`)."""
    played = (remove_latency(Hit(h.time_s + start_s, h.voice, h.velocity), latency_ms) for h in hits)
    return Take(tuple(h for h in played if not is_count_in(h.time_s, start_s)),
                player=player, beatmap=beatmap)


@router.get("")
def lessons(state: JamState = Depends(get_state)) -> list[dict[str, Any]]:
    """Every lesson."""
    return store.list_lessons(url=state.db_url)


@router.post("")
def create_from_recording(
    take: RecordedTakeIn, state: JamState = Depends(get_state)
) -> dict[str, Any]:
    """Make a lesson from a take recorded in the app at ``tempo_bpm`` (first beat at 0 s)."""
    if not take.hits:
        raise InputError("the recording has no hits; play the groove along with the click")
    last_s = max(h.time_s for h in take.hits)
    beatmap = BeatMap.constant(take.tempo_bpm, last_s + 60.0 / take.tempo_bpm, meter=take.meter)
    pattern = extract_pattern(_take(take.hits, "teacher", beatmap=beatmap), bars=parse_bars(take.bars))
    info = store.create_lesson(
        take.name,
        pattern,
        trainer=TrainerConfig.from_dict(take.trainer),
        source="recorded in the app",
        url=state.db_url,
    )
    return {**info, "pattern": pattern.to_dict()}


def upload_name(file: UploadFile) -> str:
    """An uploaded file's own name as messages show it and a lesson keeps it as its source:
    its last path part, cleaned and cut short as a player's name is (:func:`clean_name`)."""
    return clean_name(PurePosixPath((file.filename or "").replace("\\", "/")).name, "upload")


async def _uploaded_take(file: UploadFile, *, player: str | None = None,
                         find_beats: bool = False) -> Take:
    """The take in an uploaded MIDI file or recording (transcribed off the event loop).

    It is read from a temporary copy of a fixed name: the client's name gives only its
    suffix (one of :data:`TAKE_SUFFIXES`, else none: the contents decide) and is shown in
    messages."""
    data = await file.read()  # its size was bounded while it streamed (BodyLimit)
    suffix = PurePosixPath(file.filename or "").suffix.lower()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"take{suffix if suffix in TAKE_SUFFIXES else ''}"
        path.write_bytes(data)
        try:
            return await run_in_threadpool(load_take, path, player=player, find_beats=find_beats)
        except FileFormatError as exc:
            raise upload_error(exc, upload_name(file), path) from exc


@router.post("/upload")
async def create_from_midi(
    file: UploadFile = File(...),
    name: str = Form(...),
    bars: str | None = Form(None),
    with_feel: bool = Form(False),
    state: JamState = Depends(get_state),
) -> dict[str, Any]:
    """Make a lesson from an uploaded take: a MIDI file, or a recording whose drums are
    transcribed and whose beats are found (``with_feel``: students aim at its feel)."""
    take = await _uploaded_take(file, find_beats=True)
    pattern = extract_pattern(take, bars=parse_bars(bars))
    info = store.create_lesson(
        name,
        pattern,
        trainer=TrainerConfig(with_feel=with_feel),
        source=upload_name(file),
        url=state.db_url,
    )
    return {**info, "pattern": pattern.to_dict()}


@router.post("/from-session")
def create_from_session(body: FromSessionIn, state: JamState = Depends(get_state)) -> dict[str, Any]:
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


@router.patch("/{name}")
def rename(name: str, body: RenameIn, state: JamState = Depends(get_state)) -> dict[str, Any]:
    """Give a lesson another name; students keep their attempts and progress."""
    return store.rename_lesson(name, body.name, url=state.db_url)


@router.delete("/{name}")
def delete(name: str, state: JamState = Depends(get_state)) -> dict[str, Any]:
    """Delete a lesson with its students' attempts and progress on it."""
    return store.delete_lesson(name, url=state.db_url)


@router.get("/{name}/notation.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}, "description": "The notation."}})
def notation_svg(name: str, state: JamState = Depends(get_state)) -> Response:
    """The pattern engraved as SVG."""
    pattern, _, info = store.load_lesson(name, url=state.db_url)
    return Response(
        pattern_svg(pattern, info["name"], scale_pct=SVG_SCALE_PCT), media_type="image/svg+xml"
    )


@router.get("/{name}/notation.musicxml", response_class=Response,
            responses={200: {"content": {"application/vnd.recordare.musicxml+xml": {}},
                             "description": "The notation as MusicXML."}})
def notation_musicxml(name: str, state: JamState = Depends(get_state)) -> Response:
    """The pattern as a MusicXML download."""
    pattern, _, info = store.load_lesson(name, url=state.db_url)
    filename = "".join(c if c.isalnum() else "-" for c in title_part(info["name"])) + ".musicxml"
    return Response(
        pattern_musicxml(pattern, info["name"]),
        media_type="application/vnd.recordare.musicxml+xml",
        headers=attachment(filename),
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
def attempt(name: str, body: AttemptIn, state: JamState = Depends(get_state)) -> dict[str, Any]:
    """Score an attempt recorded in the app, the student's latency removed; the trainer's
    verdict and next tempo."""
    if not body.hits:
        raise InputError("the attempt has no hits; play the pattern along with the click")
    latency_ms = body.latency_ms
    if latency_ms is None:
        latency_ms = get_calibration(clean_name(body.student, ""), url=state.db_url) or 0.0
    # the first beat goes ATTEMPT_LEAD_S into the take: a hit just before it stays early
    take = _take(body.hits, body.student, start_s=ATTEMPT_LEAD_S, latency_ms=latency_ms)
    result = store.practise(name, body.student, take, tempo_bpm=body.tempo_bpm,
                            url=state.db_url, loops=body.loops, start_s=ATTEMPT_LEAD_S)
    player = Player(clean_name(body.student, "Student"), latency_ms)
    session_id = _save_attempt(state, name, body.hits, player, result["tempo_bpm"], result["loops"])
    return {**result, "latency_ms": latency_ms, "session_id": session_id}


@router.post("/{name}/attempts/upload")
async def attempt_from_file(
    name: str,
    file: UploadFile = File(...),
    student: str = Form(..., max_length=100),
    tempo_bpm: float | None = Form(None, gt=0, le=400),
    state: JamState = Depends(get_state),
) -> dict[str, Any]:
    """Score an attempt uploaded as a MIDI file or a recording, played to a click whose first
    beat is at 0 s (or the MIDI file's first downbeat); the trainer's verdict and next tempo."""
    take = await _uploaded_take(file, player=student)
    return await run_in_threadpool(store.practise, name, student, take, tempo_bpm=tempo_bpm,
                                   url=state.db_url)


def _save_attempt(state: JamState, name: str, hits: list[LessonHitIn], player: Player,
                  tempo_bpm: float, loops: int) -> int:
    """Keep an attempt in the session history like a jam: played through the play-along core
    against the loops of the pattern it was scored on, with its report, card and MIDI."""
    pattern, trainer, info = store.load_lesson(name, url=state.db_url)
    chart = pattern.to_chart(tempo_bpm, loops, ATTEMPT_LEAD_S, with_feel=trainer.with_feel)
    history = state.history
    session_id = history.open(
        song_id=f"lesson:{info['name']}"[:64], title=f"Lesson: {info['name']}", players=[player],
        beatmap=chart.beatmap, chart=chart,
        practice={"speed": round(tempo_bpm / pattern.tempo_bpm, 4), "loop_bars": None,
                  "repeats": loops, "lesson": info["name"], "tempo_bpm": tempo_bpm})
    session = LiveSession([player], chart.beatmap, chart, on_hit=history.recorder(session_id),
                          start_s=ATTEMPT_LEAD_S)
    for h in hits:
        session.add_hit(0, Hit(h.time_s + ATTEMPT_LEAD_S, h.voice, h.velocity))
    history.finish(session_id, session.finish())
    return session_id


@router.get("/{name}/chart")
def attempt_chart(name: str, tempo_bpm: Annotated[float, Query(gt=0, le=400)],
                  loops: Annotated[int, Query(ge=1, le=64)] = 1,
                  state: JamState = Depends(get_state)) -> dict[str, Any]:
    """The notes and beats of an attempt at ``tempo_bpm`` (first beat at 0 s) for the page's
    lanes: the targets the attempt is scored against."""
    pattern, trainer, _ = store.load_lesson(name, url=state.db_url)
    chart = pattern.to_chart(tempo_bpm, loops, 0.0, with_feel=trainer.with_feel)
    return {"notes": [{"time_s": round(n.time_s, 6), "voice": n.voice.value} for n in chart.notes],
            "beatmap": chart.beatmap.to_dict()}
