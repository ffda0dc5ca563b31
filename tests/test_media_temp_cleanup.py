"""Stretched copies in the making that a crashed process left beside the stretch cache are
removed the next time the cache is used; nothing else is: not a copy another process is
making now, not a finished copy, not a file or folder of the person's, not a link, nothing
outside the cache folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from drumjam.library import media
from drumjam.web.app import create_app

HOUR_S = 3600.0


def _plant(path: Path, age_s: float, data: bytes = b"OggS partial") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def _song(tmp_path: Path, seconds: float = 3.0, sample_rate: int = 22050) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "song.wav"
    sf.write(path, (0.1 * rng.standard_normal((int(seconds * sample_rate), 2))).astype(np.float32),
             sample_rate)
    return path


def _passing(blocks: Iterable[np.ndarray], sample_rate: int, speed: float) -> Iterator[np.ndarray]:
    return iter(blocks)


def test_only_stale_temporaries_of_the_cache_are_removed(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "stretched"
    stale = _plant(cache / "slow-funk-70.3fa9c2d1.tmp.ogg", 2 * HOUR_S)
    stale_added = _plant(cache / "a1b2c3d4e5f6-125.00ff00ff.tmp.ogg", 30 * 24 * HOUR_S)
    fresh = _plant(cache / "slow-funk-80.0badf00d.tmp.ogg", 60)  # another process making it
    kept = [
        _plant(cache / "slow-funk-70.ogg", 2 * HOUR_S),  # a finished copy
        _plant(cache / "my-take.tmp.ogg", 2 * HOUR_S),  # the person's, named alike
        _plant(cache / "slow-funk-70.3FA9C2D1.tmp.ogg", 2 * HOUR_S),  # not a name drumjam makes
        _plant(cache / "slow-funk-70.3fa9c2d1.tmp.ogg.bak", 2 * HOUR_S),
        _plant(cache / "slow-funk.3fa9c2d1.tmp.ogg", 2 * HOUR_S),  # no speed
        _plant(cache / "notes.txt", 2 * HOUR_S),
        _plant(cache / "sub" / "slow-funk-70.3fa9c2d1.tmp.ogg", 2 * HOUR_S),  # not the folder
        _plant(tmp_path / "cache" / "slow-funk-70.3fa9c2d1.tmp.ogg", 2 * HOUR_S),
        _plant(tmp_path / "outside.ogg", 2 * HOUR_S),
    ]
    folder = cache / "slow-funk-90.12345678.tmp.ogg"  # a folder with a temporary's name
    folder.mkdir()
    os.utime(folder, (time.time() - 2 * HOUR_S,) * 2)
    link = cache / "slow-funk-60.87654321.tmp.ogg"
    link.symlink_to(tmp_path / "outside.ogg")
    os.utime(link, (time.time() - 2 * HOUR_S,) * 2, follow_symlinks=False)

    removed = media.remove_stale_temporaries(cache)

    assert sorted(removed) == sorted([stale, stale_added])
    assert not stale.exists() and not stale_added.exists()
    assert fresh.exists() and folder.is_dir() and link.is_symlink()
    assert all(p.exists() for p in kept)
    assert (tmp_path / "outside.ogg").read_bytes() == b"OggS partial"


def test_the_age_is_a_parameter_and_a_missing_cache_is_nothing_to_do(tmp_path: Path) -> None:
    fresh = _plant(tmp_path / "k-70.aaaaaaaa.tmp.ogg", 60)
    assert media.remove_stale_temporaries(tmp_path) == []
    assert media.remove_stale_temporaries(tmp_path, older_than_s=30) == [fresh]
    assert media.remove_stale_temporaries(tmp_path / "never-made") == []


def test_a_temporary_left_by_a_crashed_stretch_is_removed_at_the_next_use(tmp_path: Path) -> None:
    """A real crash: a process dies (os._exit) in the middle of writing a stretched copy."""
    audio = _song(tmp_path)
    cache = tmp_path / "cache"
    crash = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from drumjam.library import media

        def dying(blocks, sample_rate, speed):
            for i, block in enumerate(blocks):
                if i == 1:
                    os._exit(3)  # no finally, no clean-up: as a killed server
                yield block

        media.STRETCH_BLOCK_S = 1.0
        media.stretch_blocks = dying
        media.stretched_audio(Path({str(audio)!r}), 0.8, cache_dir=Path({str(cache)!r}), key="song")
    """)
    done = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    left = [p.name for p in cache.iterdir()]
    assert len(left) == 1 and media.TEMP_NAME.fullmatch(left[0]), left  # the name it is looked for by
    os.utime(cache / left[0], (time.time() - 2 * HOUR_S,) * 2)  # an hour later
    user_file = _plant(cache / "keep me.ogg", 2 * HOUR_S)

    made = media.stretched_audio(audio, 0.8, cache_dir=cache, key="song")

    assert sorted(p.name for p in cache.iterdir()) == sorted([made.name, user_file.name])


def test_a_copy_being_made_is_not_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a stretch writes its copy, a sweep (here: another process's, as at its start)
    finds the temporary, knows it for one, and leaves it: it was written to just now."""
    audio = _song(tmp_path)
    cache = tmp_path / "cache"
    seen: list[tuple[list[str], list[Path]]] = []

    def watched(blocks: Iterable[np.ndarray], sample_rate: int,
                speed: float) -> Iterator[np.ndarray]:
        for i, block in enumerate(blocks):
            if i == 1:  # the first block is written
                seen.append(([p.name for p in cache.iterdir()], media.remove_stale_temporaries(cache)))
            yield block

    monkeypatch.setattr(media, "STRETCH_BLOCK_S", 1.0)
    monkeypatch.setattr(media, "stretch_blocks", watched)
    made = media.stretched_audio(audio, 0.9, cache_dir=cache, key="song")
    [(names, removed)] = seen
    assert len(names) == 1 and media.TEMP_NAME.fullmatch(names[0])
    assert removed == []
    assert [p.name for p in cache.iterdir()] == [made.name]
    assert sf.info(made).frames > 0


def test_the_app_removes_them_when_the_backing_track_is_asked_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the server: a copy already made is served, and the stale temporary beside it
    is gone; a fresh one stays."""
    home = tmp_path / "home"
    cache = home / "cache" / "stretched"
    monkeypatch.setattr(media, "stretch_blocks", _passing)
    with TestClient(create_app(home=home, max_upload_bytes=2_000_000)) as client:
        stale = _plant(cache / "slow-funk-90.5eed5eed.tmp.ogg", 2 * HOUR_S)
        fresh = _plant(cache / "slow-funk-90.f00df00d.tmp.ogg", 10)
        answer = client.get("/api/songs/slow-funk/audio", params={"speed": 0.9})
        assert answer.status_code == 200 and answer.content[:4] == b"OggS"
    assert not stale.exists()
    assert fresh.exists()
    assert (cache / "slow-funk-90.ogg").is_file()


def test_a_process_looks_again_only_after_a_while(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = _song(tmp_path, seconds=0.5)
    cache = tmp_path / "cache"
    monkeypatch.setattr(media, "stretch_blocks", _passing)
    media.stretched_audio(audio, 0.9, cache_dir=cache, key="song")  # the first use looks
    later = _plant(cache / "song-70.abcdef01.tmp.ogg", 2 * HOUR_S)
    media.stretched_audio(audio, 0.9, cache_dir=cache, key="song")
    assert later.exists()  # looked a moment ago: not again on every request
    monkeypatch.setattr(media, "SWEEP_EVERY_S", 0.0)
    media.stretched_audio(audio, 0.9, cache_dir=cache, key="song")
    assert not later.exists()
