"""Songs: the library, backing audio at any practice speed, uploads, beat-map corrections, and
the kit maps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from drumjam.model import BUILTIN_KIT_MAPS, Voice, voice_group
from drumjam.library import validate_speed
from drumjam.web.protocol import BeatmapCorrectionIn, error_responses
from drumjam.web.state import JamStateDep

router = APIRouter(prefix="/api", tags=["songs"], responses=error_responses(400, 403, 404, 413))


@router.get("/songs")
def list_songs(state: JamStateDep) -> list[dict[str, Any]]:
    """Every song: built-in first, then added ones."""
    return [s.to_dict() for s in state.library.list()]


@router.get("/songs/{song_id}")
def get_song(state: JamStateDep, song_id: str) -> dict[str, Any]:
    """One song's summary."""
    return state.library.get(song_id).to_dict()


@router.get("/songs/{song_id}/audio", response_class=Response, responses={200: {
    "content": {t: {} for t in ("audio/ogg", "audio/wav", "audio/flac", "audio/mpeg", "application/octet-stream")},
    "description": "The backing track."}})
def song_audio(state: JamStateDep, song_id: str, speed: float = 1.0) -> FileResponse:
    """The backing track at ``speed`` (0.5-1.5) with its pitch kept."""
    song = state.library.get(song_id)
    path = state.library.audio_at_speed(song, validate_speed(speed))
    media = {".ogg": "audio/ogg", ".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg"}
    return FileResponse(path, media_type=media.get(path.suffix.lower(), "application/octet-stream"))


@router.post("/songs", status_code=201)
async def upload_song(
    state: JamStateDep,
    file: Annotated[UploadFile, File()],
    title: Annotated[str | None, Form(max_length=200)] = None,
) -> dict[str, Any]:
    """Add a song from an audio file (beat map by analysis), a MIDI file (drums = chart) or a
    zipped rhythm-game song folder (expert drums = chart, other stems = backing)."""
    data = await file.read()  # its size was bounded while it streamed (BodyLimit)
    song = await run_in_threadpool(state.library.add, file.filename or "upload", data, title)
    return song.to_dict()


@router.post("/songs/{song_id}/beatmap")
def correct_beatmap(state: JamStateDep, song_id: str, body: BeatmapCorrectionIn) -> dict[str, Any]:
    """Double or halve the tempo, change the metre, move "one" or every beat; or reset."""
    song = state.library.correct_beatmap(song_id, **body.model_dump())
    return song.to_dict()


@router.get("/kitmaps")
def kit_maps() -> dict[str, Any]:
    """The built-in kit maps (MIDI note -> voice) and each voice's group."""
    return {
        "kitmaps": {key: kit.to_dict() for key, kit in BUILTIN_KIT_MAPS.items()},
        "voice_groups": {v.value: voice_group(v).value for v in Voice},
    }
