"""Songs: the library, backing audio at any practice speed, uploads, beat-map corrections, and
the kit maps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from drumjam.errors import NotFoundError
from drumjam.model import BUILTIN_KIT_MAPS, Voice, voice_group
from drumjam.library import validate_speed
from drumjam.library.catalogue import DRUM_PART_FILE
from drumjam.library.media import StretchBusyError
from drumjam.web.protocol import BeatmapCorrectionIn, error_responses
from drumjam.web.results import attachment, title_part
from drumjam.web.state import JamStateDep

router = APIRouter(prefix="/api", tags=["songs"], responses=error_responses(400, 403, 404, 413))


@router.get("/songs")
def list_songs(state: JamStateDep) -> list[dict[str, Any]]:
    """Every song: built-in first, then added ones."""
    return [s.to_dict() for s in state.library.list()]


@router.get("/songs/{song_id}")
def get_song(state: JamStateDep, song_id: str) -> dict[str, Any]:
    """One song's summary (with the share of its drum part transcribed, while that runs)."""
    return {**state.library.get(song_id).to_dict(),
            "drum_part_progress": state.library.drum_part_progress(song_id)}


@router.get("/songs/{song_id}/drum-part")
def drum_part(state: JamStateDep, song_id: str) -> dict[str, Any]:
    """An added audio song's own drum part, as the play screen's lanes draw it: the notes
    (seconds in the song, voice, velocity) and the beat map."""
    song = state.library.with_drum_part(state.library.get(song_id))
    return {"song_id": song.id, "title": song.chart.title, "beatmap": song.beatmap.to_dict(),
            "notes": [{"time_s": round(n.time_s, 6), "voice": n.voice.value, "velocity": n.velocity}
                      for n in song.chart.notes]}


@router.get("/songs/{song_id}/drum-part.mid", response_class=Response, responses={200: {
    "content": {"audio/midi": {}}, "description": "The drum part as a General MIDI file."}})
def drum_part_midi(state: JamStateDep, song_id: str) -> FileResponse:
    """An added audio song's own drum part as a MIDI file (General MIDI drums, channel 10)."""
    song = state.library.with_drum_part(state.library.get(song_id))
    path = song.audio_path.parent / DRUM_PART_FILE
    if not path.is_file():
        raise NotFoundError(f"the drum part of {song.title!r} is missing; add the song again")
    return FileResponse(path, media_type="audio/midi",
                        headers=attachment(f"{title_part(song.title)} drum part.mid"))


@router.get("/songs/{song_id}/audio", response_class=Response, responses={
    **error_responses(503), 200: {
        "content": {t: {} for t in ("audio/ogg", "audio/wav", "audio/flac", "audio/mpeg",
                                    "application/octet-stream")},
        "description": "The backing track."}})
def song_audio(state: JamStateDep, song_id: str, speed: float = 1.0) -> FileResponse:
    """The backing track at ``speed`` (0.5-1.5) with its pitch kept.

    A speed not stretched yet waits for its stretch (the page shows the seconds waited: a
    wait, not an error, keeps the backing), or for the one already under way; past
    :data:`drumjam.library.media.STRETCH_REQUESTS_AT_ONCE` such requests, 503.
    """
    song = state.library.get(song_id)
    try:
        path = state.library.audio_at_speed(song, validate_speed(speed))
    except StretchBusyError as exc:  # a slot frees within one stretch, seconds for most songs
        raise HTTPException(503, str(exc), headers={"Retry-After": "10"}) from None
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
