"""The song catalogue in the database, on SQLite and PostgreSQL: added songs listed in order,
beat-map corrections kept and undone, unknown ids named."""

from __future__ import annotations

import pytest

from drumjam.library import SongLibrary, SongNotFoundError, SongRow, builtin_specs
from drumjam.model import BeatMap
from drumjam.store.db import session_scope


def _add_audio_song(url: str, song_id: str, tempo_bpm: float) -> None:
    with session_scope(url) as db:
        db.add(SongRow(id=song_id, title=f"song {song_id}", kind="audio", audio="source.wav",
                       grid=16, beatmap=BeatMap.constant(tempo_bpm, 20.0).to_dict(),
                       source_name=f"{song_id}.wav"))


def test_corrections_are_kept_in_the_database_and_can_be_undone(db_url, tmp_path):
    _add_audio_song(db_url, "aaaa", 60.0)
    _add_audio_song(db_url, "bbbb", 100.0)
    library = SongLibrary(tmp_path, url=db_url)
    listed = library.list()
    assert [s.id for s in listed[len(builtin_specs()):]] == ["aaaa", "bbbb"]

    doubled = library.correct_beatmap("aaaa", tempo="double", meter=3)
    assert doubled.beatmap.tempo_bpm == pytest.approx(120.0) and doubled.beatmap.meter == 3
    assert doubled.corrected and doubled.to_dict()["beatmap_corrected"]
    again = SongLibrary(tmp_path, url=db_url).get("aaaa")  # a new library reads the database
    assert again.beatmap.tempo_bpm == pytest.approx(120.0) and again.corrected
    shifted = library.correct_beatmap("aaaa", offset_ms=20.0)
    assert shifted.beatmap.beats_s[0] == pytest.approx(doubled.beatmap.beats_s[0] + 0.02)
    reset = library.correct_beatmap("aaaa", reset=True)
    assert reset.beatmap.tempo_bpm == pytest.approx(60.0) and not reset.corrected

    with pytest.raises(SongNotFoundError, match="no song with id 'cccc'"):
        library.get("cccc")
    with pytest.raises(ValueError, match="only songs added as audio"):
        library.correct_beatmap(builtin_specs()[0]["id"], tempo="double")


def test_a_song_s_title_and_file_name_are_kept_without_control_characters(db_url, tmp_path,
                                                                          groove_midi):
    """PostgreSQL refuses NUL in text: an upload named with one must still be added."""
    take = next(groove_midi.glob("drummer1/eval_session/*.mid")).read_bytes()
    library = SongLibrary(tmp_path, url=db_url)
    song = library.add("my\x00 groove\n.mid", take, title="Sunday\x00 jam\r")
    assert song.title == "Sunday jam"
    with session_scope(db_url) as db:
        assert db.get(SongRow, song.id).source_name == "my groove.mid"
    assert library.add("\x00\x01.mid", take).title  # nothing printable: a title all the same
