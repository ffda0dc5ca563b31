"""What the command line writes: checked before the work, never over its own input, whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drumjam.errors import InputError
from drumjam.io.outputs import checked_output, replacing


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DRUMJAM_HOME": str(cwd / "home")}
    return subprocess.run([sys.executable, "-m", "drumjam", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env=env)


def _error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drumjam: error: "), result.stderr
    return lines[0]


@pytest.fixture
def song(tmp_path: Path) -> Path:
    """Four seconds of a kick on every beat at 120 BPM."""
    sr = 22050
    y = np.zeros(4 * sr, np.float32)
    t = np.arange(int(0.08 * sr)) / sr
    kick = (np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.02)).astype(np.float32)
    for at in range(0, y.size - kick.size, sr // 2):
        y[at:at + kick.size] += 0.8 * kick
    path = tmp_path / "song.wav"
    sf.write(path, y, sr)
    return path


def test_an_output_over_the_input_is_refused_and_the_input_kept(tmp_path: Path, song: Path,
                                                                 groove_midi: Path) -> None:
    before = song.read_bytes()
    line = _error(_run("click", "song.wav", "--out", "song.wav", cwd=tmp_path))
    assert "--out song.wav is the input song.wav" in line and "another name" in line
    os.link(song, tmp_path / "same.wav")  # the same file under another name
    assert "is the input" in _error(_run("click", "song.wav", "--out", "same.wav", cwd=tmp_path))
    assert "ending in .mid" in _error(_run("transcribe", "song.wav", "--out", "song.wav",
                                           cwd=tmp_path))
    assert song.read_bytes() == before
    take = groove_midi / "drummer1/eval_session/7_pop-groove7_138_beat_4-4.mid"
    line = _error(_run("score", str(take), "--report", str(take), cwd=tmp_path))
    assert "--report" in line and "ending in .html" in line


def test_an_output_that_cannot_be_written_is_refused_before_the_work(tmp_path: Path,
                                                                      song: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    line = _error(_run("analyze", "song.wav", "--out", "notes.txt/beats.json", cwd=tmp_path))
    assert "notes.txt is a file, not a folder" in line
    (tmp_path / "beats").mkdir()
    assert "is a folder" in _error(_run("analyze", "song.wav", "--out", "beats", cwd=tmp_path))
    line = _error(_run("batch", "analyze", "song.wav", "--out", "notes.txt/t.csv", cwd=tmp_path))
    assert "not a folder" in line
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*.json"))


def test_the_outputs_asked_for_are_written_whole(tmp_path: Path, song: Path) -> None:
    result = _run("click", "song.wav", "--out", "mix/with click.flac", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    mixed, sr = sf.read(tmp_path / "mix" / "with click.flac")
    assert sr == 22050 and mixed.shape[0] == 4 * 22050
    result = _run("analyze", "song.wav", "--out", "beats.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "beats.json").read_text().startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_write_that_fails_leaves_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("the report of yesterday")
    with pytest.raises(RuntimeError), replacing(out) as tmp:
        assert tmp.suffix == ".html" and tmp.parent == tmp_path
        tmp.write_text("half a rep")
        raise RuntimeError("disk full")
    assert out.read_text() == "the report of yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with replacing(out) as tmp:
        tmp.write_text("today's")
    assert out.read_text() == "today's"


def test_a_name_the_file_system_cannot_take_is_refused(tmp_path: Path) -> None:
    name = tmp_path / os.fsdecode(b"take\xff.mid")
    with pytest.raises(InputError, match="not valid UTF-8"):
        checked_output(name, suffixes=(".mid",))
    assert checked_output(tmp_path / "new" / "take.mid", suffixes=(".mid", ".midi")).parent.is_dir()
