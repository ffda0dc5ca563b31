"""What a crashed process left in the making in drumjam's own folders is removed (an upload's
work folder, a drum part, a beat-map cache entry, a stretched copy): at the app's start and
where drumjam next writes such a thing. Nothing else is: not one another process is making
now, not a file or folder of the person's named alike, not a link, nothing outside the folder
drumjam makes them in. A drum part whose writing fails leaves nothing behind."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from drumjam.analysis import cache as beatmap_cache
from drumjam.library import SongLibrary, SongRow, catalogue, media
from drumjam.model import BeatMap, Hit, Take
from drumjam.paths import cache_dir
from drumjam.store.db import session_scope
from drumjam.web.app import create_app

HOUR_S = 3600.0
SONG_ID = "0123456789ab"


def _age(path: Path, age_s: float) -> Path:
    then = time.time() - age_s
    os.utime(path, (then, then), follow_symlinks=False)
    return path


def _plant(path: Path, age_s: float, data: bytes = b"partial") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return _age(path, age_s)


def _plant_folder(path: Path, age_s: float, inside_age_s: float | None = None) -> Path:
    """A work folder as an upload leaves it: a copy of the upload, and a folder unpacked."""
    _plant(path / "unpacked" / "song.ini", age_s if inside_age_s is None else inside_age_s)
    _plant(path / "source.zip", age_s)
    _age(path / "unpacked", age_s)
    return _age(path, age_s)


def _library(home: Path) -> tuple[SongLibrary, str]:
    url = f"sqlite:///{home / 'drumjam.sqlite3'}"
    home.mkdir(parents=True, exist_ok=True)
    return SongLibrary(home, url=url), url


def _add_audio_row(url: str, home: Path, song_id: str = SONG_ID) -> Path:
    folder = home / "songs" / song_id
    _plant(folder / "source.wav", 0, b"RIFF")
    with session_scope(url) as db:
        db.add(SongRow(id=song_id, title="groove", kind="audio", audio="source.wav", grid=16,
                       beatmap=BeatMap.constant(100.0, 10.0).to_dict(), source_name="groove.wav",
                       drum_part="pending"))
    return folder


def _heard(monkeypatch: pytest.MonkeyPatch) -> None:
    """The transcription of the song's mix: two hits (no model run)."""
    import drumjam.analysis.transcribe as transcribe

    take = Take((Hit(0.6, "kick", 100), Hit(1.2, "snare", 90)))
    monkeypatch.setattr(transcribe, "transcribe", lambda *a, **k: take)


def _status(url: str, song_id: str = SONG_ID) -> str | None:
    with session_scope(url) as db:
        return db.get(SongRow, song_id).drum_part


# ---------------------------------------------------------------- drum parts
def test_a_drum_part_that_fails_while_written_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import drumjam.io.midi as midi

    library, url = _library(tmp_path / "home")
    folder = _add_audio_row(url, tmp_path / "home")
    _heard(monkeypatch)
    written: list[Path] = []

    def failing(path, *args, **kwargs):  # half a file, then the disk is full
        written.append(Path(path))
        Path(path).write_bytes(b"MThd\x00\x00")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(midi, "write_midi", failing)
    library._make_drum_part(SONG_ID)

    assert [p.parent for p in written] == [folder]
    assert catalogue.DRUM_PART_TEMP.fullmatch(written[0].name)  # the name looked for after a crash
    assert sorted(p.name for p in folder.iterdir()) == ["source.wav"]
    assert _status(url) == "failed"


def test_a_drum_part_made_leaves_no_temporary_and_removes_a_crashed_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library, url = _library(tmp_path / "home")
    folder = _add_audio_row(url, tmp_path / "home")
    stale = _plant(folder / "drum_part.mid.0badc0de.tmp", 2 * HOUR_S)
    fresh = _plant(folder / "drum_part.mid.feedbeef.tmp", 60)  # another server writing it now
    _heard(monkeypatch)

    library._make_drum_part(SONG_ID)

    assert _status(url) == "ready"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["source.wav", "drum_part.mid", fresh.name])
    assert not stale.exists()
    assert [n.voice.value for n in library.get(SONG_ID).drum_part.notes] == ["kick", "snare"]


# ---------------------------------------------------------------- the library's folders
def test_only_the_library_s_stale_leftovers_are_removed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    library, url = _library(home)
    song = home / "songs" / SONG_ID
    outside = _plant_folder(tmp_path / "mine", 2 * HOUR_S)
    gone = [
        _plant_folder(home / "upload-k3x9_q0a", 2 * HOUR_S),  # as tempfile.mkdtemp names it
        _plant_folder(home / "upload-00000000", 30 * 24 * HOUR_S),
        _plant(song / "drum_part.mid.0badc0de.tmp", 2 * HOUR_S),
        _plant(home / "songs" / "ba9876543210" / "drum_part.mid.12345678.tmp", 5 * HOUR_S),
        _plant(home / "cache" / "stretched" / f"{SONG_ID}-80.abcdef01.tmp.ogg", 2 * HOUR_S),
    ]
    kept = [
        _plant_folder(home / "upload-fresh123", 60),  # another server unpacking it now
        _plant_folder(home / "upload-writing1", 2 * HOUR_S, inside_age_s=60),  # written in now
        _plant(home / "upload-plain001", 2 * HOUR_S),  # a file: drumjam makes folders
        _plant_folder(home / "upload-ABCD1234", 2 * HOUR_S),  # not a name drumjam makes
        _plant_folder(home / "upload-abc1234", 2 * HOUR_S),
        _plant_folder(home / "upload-abcd12345", 2 * HOUR_S),
        _plant_folder(home / "my upload-abcd1234", 2 * HOUR_S),
        _plant_folder(home / "songs" / "upload-abcd1234", 2 * HOUR_S),  # not where it is made
        _plant_folder(home / "cache" / "upload-abcd1234", 2 * HOUR_S),
        _plant(song / "drum_part.mid.feedbeef.tmp", 60),
        _plant(song / "drum_part.mid", 2 * HOUR_S),
        _plant(song / "drum_part.mid.DEADBEEF.tmp", 2 * HOUR_S),
        _plant(song / "drum_part.mid.deadbeef.tmp.bak", 2 * HOUR_S),
        _plant(song / "drum_part.mid.deadbeef", 2 * HOUR_S),
        _plant(song / "take.mid.deadbeef.tmp", 2 * HOUR_S),
        _plant(song / "old" / "drum_part.mid.deadbeef.tmp", 2 * HOUR_S),  # not the song's folder
        _plant(home / "songs" / "my-songs" / "drum_part.mid.deadbeef.tmp", 2 * HOUR_S),
        _plant(home / "songs" / "drum_part.mid.deadbeef.tmp", 2 * HOUR_S),
        _plant(home / "drum_part.mid.deadbeef.tmp", 2 * HOUR_S),
        _plant(home / "notes.txt", 2 * HOUR_S),
    ]
    link = home / "upload-link0001"  # a link with a work folder's name, to the person's folder
    link.symlink_to(outside, target_is_directory=True)
    _age(link, 2 * HOUR_S)
    linked_song = home / "songs" / "fedcba987654"  # a song folder that is a link
    linked_song.symlink_to(outside, target_is_directory=True)
    kept_in_linked = _plant(outside / "drum_part.mid.abcdabcd.tmp", 2 * HOUR_S)

    removed = library.remove_stale_temporaries()

    assert sorted(removed) == sorted(gone)
    assert not any(p.exists() for p in gone)
    assert all(p.exists() for p in kept)
    assert link.is_symlink() and (outside / "unpacked" / "song.ini").is_file()
    assert kept_in_linked.exists()


def test_an_unreadable_folder_is_logged_and_passed_over(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "home"
    library, _ = _library(home)
    _plant(home / "songs", 2 * HOUR_S, b"not a folder")  # where the song folders should be
    stale = _plant_folder(home / "upload-abcd1234", 2 * HOUR_S)
    with caplog.at_level(logging.WARNING, logger="drumjam.leftovers"):
        removed = library.remove_stale_temporaries()
    assert removed == [stale] and not stale.exists()
    assert any(str(home / "songs") in r.getMessage() for r in caplog.records), caplog.text
    assert SongLibrary(tmp_path / "never-made").remove_stale_temporaries() == []


def test_adding_a_song_removes_a_crashed_upload_s_work_folder(
        tmp_path: Path, groove_midi: Path) -> None:
    home = tmp_path / "home"
    library, _ = _library(home)
    stale = _plant_folder(home / "upload-a1b2c3d4", 2 * HOUR_S)
    fresh = _plant_folder(home / "upload-e5f6g7h8", 60)
    take = next(groove_midi.glob("drummer1/eval_session/*.mid")).read_bytes()

    song = library.add("groove.mid", take)

    assert not stale.exists() and fresh.is_dir()
    assert sorted(p.name for p in home.iterdir() if p.name.startswith("upload-")) == [fresh.name]
    assert (home / "songs" / song.id / "backing.ogg").is_file()


# ---------------------------------------------------------------- the beat-map cache
def test_only_the_beat_map_cache_s_stale_temporaries_are_removed(tmp_path: Path) -> None:
    folder = cache_dir("beatmaps")
    gone = [_plant(folder / ".tmp-k3x9_q0a.json", 2 * HOUR_S),
            _plant(folder / ".tmp-00000000.json", 30 * 24 * HOUR_S)]
    kept = [
        _plant(folder / ".tmp-abcd1234.json", 60),  # being written by another process
        _plant(folder / f"{'a' * 64}.json", 2 * HOUR_S),  # an entry
        _plant(folder / ".tmp-ABCD1234.json", 2 * HOUR_S),
        _plant(folder / ".tmp-abcd12345.json", 2 * HOUR_S),
        _plant(folder / "tmp-abcd1234.json", 2 * HOUR_S),
        _plant(folder / ".tmp-abcd1234.json.bak", 2 * HOUR_S),
        _plant(folder / "old" / ".tmp-abcd1234.json", 2 * HOUR_S),
        _plant(folder.parent / ".tmp-abcd1234.json", 2 * HOUR_S),
    ]
    (folder / ".tmp-dir_1234.json").mkdir()
    _age(folder / ".tmp-dir_1234.json", 2 * HOUR_S)

    assert sorted(beatmap_cache.remove_stale_temporaries()) == sorted(gone)
    assert all(p.exists() for p in kept) and (folder / ".tmp-dir_1234.json").is_dir()


def test_storing_a_beat_map_removes_a_crashed_store_s_temporary(tmp_path: Path) -> None:
    folder = cache_dir("beatmaps")
    stale = _plant(folder / ".tmp-abcd1234.json", 2 * HOUR_S)
    fresh = _plant(folder / ".tmp-efgh5678.json", 60)
    beatmap = BeatMap.constant(120.0, 4.0)
    path = beatmap_cache.store("k" * 64, beatmap)
    assert not stale.exists() and fresh.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted([path.name, fresh.name])
    assert beatmap_cache.load("k" * 64) is not None


# ---------------------------------------------------------------- real crashes
CRASHES = {
    "drum part": """
        import drumjam.analysis.transcribe as transcribe, drumjam.io.midi as midi
        from drumjam.model import Hit, Take
        from drumjam.store.db import session_scope
        from drumjam.library import SongLibrary, SongRow
        from drumjam.model import BeatMap
        home.mkdir()
        (home / "songs" / "0123456789ab").mkdir(parents=True)
        library = SongLibrary(home, url=f"sqlite:///{home / 'db.sqlite3'}")
        with session_scope(library.url) as db:
            db.add(SongRow(id="0123456789ab", title="t", kind="audio", audio="a.wav", grid=16,
                           beatmap=BeatMap.constant(100.0, 10.0).to_dict(), drum_part="pending"))
        transcribe.transcribe = lambda *a, **k: Take((Hit(0.5, "kick", 100),))
        real = midi.write_midi
        def dying(path, *args, **kwargs):
            real(path, *args, **kwargs)
            os._exit(3)
        midi.write_midi = dying
        library._make_drum_part("0123456789ab")
    """,
    "upload": """
        from drumjam.library import SongLibrary, catalogue
        def dying(name, data, title, work):
            (work / "source.mid").write_bytes(data)
            os._exit(3)
        catalogue.prepare_song = dying
        SongLibrary(home, url=f"sqlite:///{home / 'db.sqlite3'}").add("song.mid", b"MThd")
    """,
    "beat map": """
        import json
        from drumjam.analysis import cache
        from drumjam.model import BeatMap
        def dying(obj, fh):
            fh.write('{"beats": [')
            fh.flush()
            os._exit(3)
        json.dump = dying
        cache.store("k" * 64, BeatMap.constant(120.0, 4.0))
    """,
}


@pytest.mark.parametrize("what", sorted(CRASHES))
def test_what_a_killed_process_leaves_is_removed_when_the_app_next_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str) -> None:
    """A real crash (os._exit: no finally, no clean-up, as a killed server) leaves a
    temporary; the name it has is the one looked for, and an hour later the app removes it."""
    home = tmp_path / "home"
    monkeypatch.setenv("DRUMJAM_HOME", str(home))
    script = "import os\nfrom pathlib import Path\n" \
        f"home = Path({str(home)!r})\n" + textwrap.dedent(CRASHES[what])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "DRUMJAM_HOME": str(home)})
    assert done.returncode == 3, done.stderr
    left = [p for p in home.rglob("*") if p.name.startswith((".tmp-", "upload-", "drum_part.mid."))]
    assert len(left) == 1, sorted(home.rglob("*"))
    [temporary] = left
    assert temporary.exists()
    with TestClient(create_app(home=home)):
        assert temporary.exists()  # written a moment ago: maybe another server's, in the making
    for p in [temporary, *temporary.rglob("*")]:
        _age(p, 2 * HOUR_S)  # an hour later
    with TestClient(create_app(home=home)) as client:
        assert client.get("/api/songs").status_code == 200
    assert not temporary.exists()


# ---------------------------------------------------------------- the app's start
def test_the_app_removes_stale_leftovers_as_it_starts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    beatmaps = cache_dir("beatmaps")  # $DRUMJAM_HOME's, where the analysis caches
    gone = [
        _plant_folder(home / "upload-abcd1234", 2 * HOUR_S),
        _plant(home / "songs" / SONG_ID / "drum_part.mid.0badc0de.tmp", 2 * HOUR_S),
        _plant(home / "cache" / "stretched" / "slow-funk-80.abcdef01.tmp.ogg", 2 * HOUR_S),
        _plant(beatmaps / ".tmp-abcd1234.json", 2 * HOUR_S),
    ]
    kept = [
        _plant_folder(home / "upload-efgh5678", 60),
        _plant(home / "songs" / SONG_ID / "drum_part.mid.feedbeef.tmp", 60),
        _plant(home / "cache" / "stretched" / "slow-funk-80.feedbeef.tmp.ogg", 60),
        _plant(beatmaps / ".tmp-efgh5678.json", 60),
        _plant(home / "upload-notes.txt", 2 * HOUR_S),
    ]
    with TestClient(create_app(home=home)) as client:
        assert not any(p.exists() for p in gone)
        assert all(p.exists() for p in kept)
        assert client.get("/api/songs").status_code == 200


def test_the_app_starts_whatever_the_clean_up_meets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "home"
    _plant(home / "songs", 2 * HOUR_S, b"not a folder")

    def broken(self: SongLibrary) -> list[Path]:
        raise RuntimeError("a bug in the clean-up")

    with caplog.at_level(logging.WARNING):
        with TestClient(create_app(home=home)) as client:  # the songs folder cannot be read
            assert client.get("/api/songs/slow-funk").status_code == 200
        assert str(home / "songs") in caplog.text
        monkeypatch.setattr(SongLibrary, "remove_stale_temporaries", broken)
        stale = _plant(cache_dir("beatmaps") / ".tmp-abcd1234.json", 2 * HOUR_S)
        with TestClient(create_app(home=home)) as client:
            assert client.get("/api/songs/slow-funk").status_code == 200
    assert "a bug in the clean-up" in caplog.text
    assert not stale.exists()  # the beat-map cache is still looked at


def test_the_stretch_cache_keeps_its_own_helper_s_answers(tmp_path: Path) -> None:
    """media.remove_stale_temporaries is the shared helper with the stretch cache's name."""
    stale = _plant(tmp_path / "song-70.abcdef01.tmp.ogg", 2 * HOUR_S)
    other = _plant(tmp_path / "upload-abcd1234" / "x", 2 * HOUR_S)
    _age(other.parent, 2 * HOUR_S)
    assert media.remove_stale_temporaries(tmp_path) == [stale]
    assert other.exists()
