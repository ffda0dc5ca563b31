"""Audio files cut short or empty: a WAV file holding less than its header declares is refused
(by every reader, the command line and an upload alike) instead of scored on what is left, and
a recording of 0 samples is no silence to transcribe."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_support import refused, run_cli
from fastapi.testclient import TestClient

from drumjam.analysis.takes import load_take
from drumjam.batch.items import Item
from drumjam.batch.tasks import Settings, run_item
from drumjam.errors import AudioFileError
from drumjam.io.audio import audio_blocks, load_audio, mapped_audio
from drumjam.web.app import create_app

SR = 8000


def _clicks(path: Path, seconds: float = 4.0) -> Path:
    """A 16-bit mono WAV of a click every half second."""
    x = np.zeros(int(seconds * SR), np.float32)
    for start in range(0, x.size - 200, SR // 2):
        x[start:start + 200] = 0.8 * np.hanning(200) * np.sin(np.arange(200) * 0.9)
    sf.write(path, x, SR, subtype="PCM_16")
    return path


def _cut(path: Path, keep_bytes: int) -> Path:
    """The file cut after ``keep_bytes`` bytes, as an interrupted copy leaves it."""
    with path.open("r+b") as f:
        f.truncate(keep_bytes)
    return path


def _set_data_size(path: Path, size: int) -> Path:
    """Write ``size`` into the ``data`` chunk's header (soundfile writes it at byte 40)."""
    assert path.read_bytes()[36:40] == b"data"
    with path.open("r+b") as f:
        f.seek(40)
        f.write(struct.pack("<I", size))
    return path


def test_a_wav_cut_short_is_refused_by_every_reader(tmp_path):
    path = _cut(_clicks(tmp_path / "take.wav"), 44 + 2 * SR)  # 1 s of the 4 s declared
    message = r"take\.wav: truncated: its header says 4\.0 s, the file holds 1\.0 s \(copy it again"
    with pytest.raises(AudioFileError, match=message):
        load_audio(path)
    with pytest.raises(AudioFileError, match=message):
        audio_blocks(path)
    with pytest.raises(AudioFileError, match=message):
        mapped_audio(path, sample_rate=SR)
    with pytest.raises(AudioFileError, match=message):
        load_take(path)


def test_wavs_that_hold_what_they_declare_are_read(tmp_path):
    whole = _clicks(tmp_path / "whole.wav")
    assert load_audio(whole)[0].size == 4 * SR
    # a trailing chunk after the audio
    tagged = _clicks(tmp_path / "tagged.wav")
    with tagged.open("ab") as f:
        f.write(b"LIST" + struct.pack("<I", 4) + b"INFO")
    assert load_audio(tagged)[0].size == 4 * SR
    # a length never filled in (written to a pipe), and a writer's miscount of a few bytes
    streamed = _set_data_size(_clicks(tmp_path / "streamed.wav"), 0xFFFFFFFF)
    assert load_audio(streamed)[0].size == 4 * SR
    miscounted = _set_data_size(_clicks(tmp_path / "miscounted.wav"), 2 * 4 * SR + 36)
    assert load_audio(miscounted)[0].size == 4 * SR


def test_the_command_line_and_an_upload_name_the_truncated_file(tmp_path, capsys):
    path = _cut(_clicks(tmp_path / "take.wav"), 44 + 2 * SR)
    for command in ("score", "transcribe", "analyze"):
        err = refused(capsys, command, str(path))
        assert "take.wav: truncated: its header says 4.0 s, the file holds 1.0 s" in err, command
    client = TestClient(create_app(home=tmp_path / "home"))
    upload = client.post("/api/lessons/upload", data={"name": "groove"},
                         files={"file": ("groove.wav", path.read_bytes(), "audio/wav")})
    assert upload.status_code == 400
    assert upload.json()["detail"].startswith(
        "groove.wav: truncated: its header says 4.0 s, the file holds 1.0 s")


def test_transcribing_an_empty_recording_says_it_holds_no_audio(tmp_path, capsys):
    empty = tmp_path / "empty.ogg"
    sf.write(empty, np.zeros(0, np.float32), SR, format="OGG")
    assert sf.info(str(empty)).frames == 0 and empty.stat().st_size > 0
    err = refused(capsys, "transcribe", str(empty))
    assert "empty.ogg: the file holds no audio (0 samples)" in err
    assert refused(capsys, "score", str(empty)) == err  # as score says it
    row = run_item("transcribe", Item(str(empty), (str(empty),)), Settings())
    assert row["status"] == "failed" and "holds no audio (0 samples)" in row["error"]

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(2 * SR, np.float32), SR)
    code, out, _ = run_cli(capsys, "transcribe", str(silent))
    assert code == 0 and "silent.wav: no drum hits found" in out
    assert run_item("transcribe", Item(str(silent), (str(silent),)), Settings())["hits"] == 0
