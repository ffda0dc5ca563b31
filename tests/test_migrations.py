"""Schema migrations: a database made before them keeps every row; the models match the
revisions; song metadata moves from ``song.json`` files into the database. Each test runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from drumjam.library import SongLibrary
from drumjam.model import BeatMap
from drumjam.store import lessons
from drumjam.store.db import (
    SchemaError,
    current_revision,
    get_engine,
    head_revision,
    migrate,
    table_metadata,
)
from drumjam.store.sessions import get_calibration, get_session, list_sessions, save_session

FIXTURES = Path(__file__).parent / "fixtures" / "store"
OLD_TABLES = ("jam_sessions", "player_calibrations", "lesson_students", "lessons",
              "lesson_attempts", "lesson_progress")


def _statements(path: Path) -> list[str]:
    script = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("--"))
    return [x for x in script.split(";\n") if x.strip()]


def _run(url: str, statements: list[str]) -> None:
    """Run SQL statements through the driver itself, outside drumjam's own engine."""
    engine = create_engine(url)
    with engine.begin() as conn:
        cursor = conn.connection.cursor()  # no placeholders: the rows hold '%' signs
        for statement in statements:
            cursor.execute(statement)
    engine.dispose()


def _dump(url: str, tables=OLD_TABLES) -> dict[str, list[tuple]]:
    """Every row of ``tables`` as plain values, in key order."""
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {t: [tuple(map(str, r)) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2"))]
               for t in tables}
    engine.dispose()
    return out


def _old_database(url: str) -> None:
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    _run(url, _statements(FIXTURES / f"schema_before_migrations.{dialect}.sql")
         + _statements(FIXTURES / "rows_before_migrations.sql"))


def _old_song_folders(songs_dir: Path, groove_midi: Path) -> None:
    """Two songs as the library kept them before (``song.json`` beside the files), one damaged."""
    midi = songs_dir / "0a1b2c3d4e5f"
    midi.mkdir(parents=True)
    shutil.copy(groove_midi / "drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid", midi / "source.mid")
    (midi / "song.json").write_text(json.dumps({
        "id": midi.name, "title": "Funk from MIDI", "kind": "midi", "audio": "backing.ogg",
        "grid": 16, "chart": "source.mid", "source_name": "funk.mid"}))
    audio = songs_dir / "ffeeddccbbaa"
    audio.mkdir()
    analysed = BeatMap.constant(120.0, 30.0).to_dict()
    (audio / "song.json").write_text(json.dumps({
        "id": audio.name, "title": "My song", "kind": "audio", "audio": "source.mp3", "grid": 16,
        "beatmap": BeatMap.constant(60.0, 30.0).to_dict(), "analysed_beatmap": analysed,
        "source_name": "my song.mp3"}))
    os.utime(audio / "song.json", (1e9, 1e9))  # added first
    broken = songs_dir / "123456abcdef"
    broken.mkdir()
    (broken / "song.json").write_text("{not json")


def test_a_database_made_before_migrations_keeps_every_row(db_url, tmp_path, groove_midi):
    _old_database(db_url)
    _old_song_folders(tmp_path / "songs", groove_midi)
    before = _dump(db_url)
    assert [len(before[t]) for t in OLD_TABLES] == [2, 1, 2, 2, 3, 2]

    with pytest.warns(UserWarning, match="123456abcdef.*not imported"):
        assert migrate(db_url, songs_dir=tmp_path / "songs") == "none"
    after = _dump(db_url)
    assert {row[-1] for row in after["jam_sessions"]} == {"finished"}  # 0003 added a status
    after["jam_sessions"] = [row[:-1] for row in after["jam_sessions"]]
    assert after == before  # nothing lost, nothing changed
    with get_engine(db_url).connect() as conn:
        assert current_revision(conn) == head_revision()

    # the program reads and extends the upgraded data
    assert [s["players"][0]["name"] for s in list_sessions(url=db_url)] == ["Ben", "Ann"]
    assert get_calibration("Ann", url=db_url) == 23.5
    ann = lessons.progress("rock", "ann", url=db_url)
    assert (ann["attempts"], [h["passed"] for h in ann["history"]]) == (2, [True, False])
    new_id = save_session(song_id="s", song_title="t", players=[], practice={}, beatmap={},
                          chart={}, takes=[], results={}, url=db_url)
    assert new_id == 3 and get_session(1, url=db_url)["results"]["summary"] == "Ann was 3 ms late"
    assert lessons.delete_lesson("rock", url=db_url) == {"name": "rock", "attempts": 2, "students": 1}

    # song metadata moved into the database, in the order the songs were added
    added = [s for s in SongLibrary(tmp_path, url=db_url).list() if not s.builtin]
    assert [(s.id, s.title, s.chart is not None, s.corrected) for s in added] == [
        ("ffeeddccbbaa", "My song", False, True), ("0a1b2c3d4e5f", "Funk from MIDI", True, False)]
    assert added[0].beatmap.tempo_bpm == pytest.approx(60.0) and added[1].credit == "added from funk.mid"


def test_a_database_with_only_some_old_tables_gets_the_rest(db_url):
    # a database only the jam app used: the lesson tables were never created
    dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    ddl = _statements(FIXTURES / f"schema_before_migrations.{dialect}.sql")
    _run(db_url, [x for x in ddl if "jam_sessions" in x or "player_calibrations" in x]
         + ["INSERT INTO player_calibrations VALUES ('Bo', 5.0, 16, '2026-01-01 10:00:00')"])
    migrate(db_url)
    assert set(OLD_TABLES) | {"songs", "take_hits", "input_calibrations", "kit_profiles", "room_responses",
                            "alembic_version"} == set(inspect(get_engine(db_url)).get_table_names())
    assert get_calibration("Bo", url=db_url) == 5.0


def test_the_revisions_make_exactly_the_tables_the_code_defines(db_url):
    with get_engine(db_url).connect() as conn:  # a new database, brought to head on first use
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                table_metadata())
    assert diff == [], "a table class changed without a revision: see store/migrations/README.md"


def test_upgrading_is_a_no_op_when_current_and_refuses_an_unknown_revision(db_url):
    get_engine(db_url)
    assert migrate(db_url) == head_revision()
    with get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="revision '9999'.*newer drumjam"):
        migrate(db_url)
