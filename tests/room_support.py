"""Shared pieces of the remote-duet tests: data paths and a short real song."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from drumjam.io.midi import read_chart
from drumjam.model import BeatMap, Chart
from drumjam.library import Song
from drumjam.web import room_routes

GROOVE = "groove-midi/drummer1/eval_session/2_funk-groove2_105_beat_4-4.mid"


def shared_data() -> Path:
    """The shared data folder beside the repository."""
    return Path(__file__).parents[2] / "shared" / "data"


def groove_song(bars: int = 4) -> Song:
    """The first bars of a real groove, without flams (notes of one voice group under 60 ms
    apart), so that a player 12 ms late still matches every note unambiguously."""
    full = read_chart(shared_data() / GROOVE)
    chart = full.section(0, bars - 1)
    last_s: dict = {}
    notes = []
    for note in chart.notes:
        if note.time_s - last_s.get(note.group, -1.0) > 0.060:
            notes.append(note)
            last_s[note.group] = note.time_s
    bm = chart.beatmap
    beatmap = BeatMap.from_beats(bm.beats_s[: bars * bm.meter + 1], meter=bm.meter)
    chart = Chart(tuple(notes), beatmap, title="funk groove 2")
    return Song(id="funk2", title="Funk groove 2", beatmap=beatmap, chart=chart, grid=16,
                audio_path=Path("unused.ogg"))


def room_app(song: Song, **service: Any) -> FastAPI:
    """A bare app serving the room routes for ``song``; ``service`` are
    :class:`~drumjam.web.room_routes.RoomService` options (e.g. ``lead_in_s``)."""
    app = FastAPI()
    app.include_router(room_routes.router)
    app.state.rooms = room_routes.RoomService(songs={song.id: song}.__getitem__, **service)
    return app
