"""The command line's messages name the file, the value and the fix; nothing unexpected."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
from cli_support import refused, run_cli

from drumjam.cli.web_cmds import Serving, check_can_serve
from drumjam.errors import InputError


def test_files_that_are_not_what_a_command_needs_are_named(tmp_path: Path, capsys) -> None:
    (tmp_path / "song.wav").mkdir()
    assert "song.wav: is a folder, not an audio file" in refused(capsys, "analyze",
                                                                 str(tmp_path / "song.wav"))
    short = tmp_path / "blip.wav"
    sf.write(short, 0.1 * np.ones(220, np.float32), 22050)
    line = refused(capsys, "analyze", str(short))
    assert "blip.wav: 0.01 s of audio is too short to analyse (give at least 0.5 s)" in line
    silent = mido.MidiFile(type=0)
    silent.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0)]))
    silent.save(tmp_path / "nothing.mid")
    line = refused(capsys, "score", str(tmp_path / "nothing.mid"))
    assert "nothing.mid: holds no notes" in line and "--channel" not in line


def test_a_grid_coarser_than_the_beat_says_which_grids_there_are(groove_midi: Path,
                                                                 capsys) -> None:
    take = next(groove_midi.glob("drummer1/eval_session/*.mid"))
    line = refused(capsys, "score", str(take), "--grid", "2")
    assert "coarser than the beat (1/4); give one of 4, 8, 12, 16, 24, 32" in line


def test_a_silent_recording_is_said_to_hold_no_hits(tmp_path: Path, capsys) -> None:
    sf.write(tmp_path / "room.wav", np.zeros(44100, np.float32), 44100)
    code, out, _ = run_cli(capsys, "transcribe", str(tmp_path / "room.wav"))
    assert code == 0 and "room.wav: no drum hits found" in out


def test_a_batch_that_did_nothing_it_was_given_exits_1(tmp_path: Path, capsys) -> None:
    pytest.importorskip("dask")
    (tmp_path / "takes").mkdir()
    for name in ("a.mid", "b.mid"):
        (tmp_path / "takes" / name).write_text("not midi")
    table = tmp_path / "scores.csv"
    code, _, err = run_cli(capsys, "batch", "score", str(tmp_path / "takes"), "--out", str(table),
                           "--workers", "1")
    assert code == 1 and "error column" in err
    code, _, _ = run_cli(capsys, "batch", "score", str(tmp_path / "takes"), "--out", str(table),
                         "--workers", "1")
    assert code == 0  # resumed: nothing left to do is not a failure


def test_an_unwritable_data_folder_costs_the_cache_only(tmp_path: Path, capsys,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.write_text("a file where the data folder should be")
    monkeypatch.setenv("DRUMJAM_HOME", str(home))
    sr = 22050
    y = np.zeros(3 * sr, np.float32)
    y[::sr // 2] = 1.0  # a click every half second
    sf.write(tmp_path / "clicks.wav", y, sr)
    code, out, _ = run_cli(capsys, "analyze", str(tmp_path / "clicks.wav"), "--json")
    assert code == 0 and json.loads(out)["tempo_bpm"] == pytest.approx(120, abs=1)


def test_the_server_refuses_what_would_stop_it_before_it_says_it_serves(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate")
    plain = Serving("127.0.0.1", None, None, None, None, ())
    with pytest.raises(InputError, match="not a certificate and its private key in PEM"):
        check_can_serve(Serving("127.0.0.1", None, str(tmp_path / "cert.pem"),
                                str(tmp_path / "cert.pem"), None, ()), 8000)
    with pytest.raises(InputError, match="--host nosuch.invalid: no such address"):
        check_can_serve(Serving("nosuch.invalid", None, None, None, None, ()), 8000)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InputError, match=f"port {port} is in use"):
            check_can_serve(plain, port)
    check_can_serve(plain, port)  # free again


def test_a_lesson_s_trainer_options_are_named_as_a_teacher_says_them(
        tmp_path: Path, groove_midi: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRUMJAM_HOME", str(tmp_path))
    take = str(next(groove_midi.glob("drummer1/eval_session/*.mid")))
    for option, value, said in (("--start-pct", "0", "the first tempo"),
                                ("--step-pct", "80", "a tempo step"),
                                ("--pass-on-time-ms", "0", "a note is on time within 0 ms"),
                                ("--pass-played-pct", "nan", "the notes played")):
        line = refused(capsys, "lesson", "create", take, "--name", "x", option, value)
        assert said in line, line


def test_midi_options_given_with_a_recording_are_refused_not_ignored(tmp_path: Path,
                                                                     capsys) -> None:
    sf.write(tmp_path / "kit.wav", np.zeros(22050, np.float32), 22050)
    line = refused(capsys, "score", str(tmp_path / "kit.wav"), "--channel", "10")
    assert "kit.wav: is a recording: --channel picks a MIDI take's drum channel" in line
    assert "leave --kit out" in refused(capsys, "score", str(tmp_path / "kit.wav"), "--kit", "gm")


def test_bytes_that_are_no_audio_are_not_said_to_be_missing(tmp_path: Path, capsys) -> None:
    (tmp_path / "noise.mp3").write_bytes(np.random.default_rng(0).bytes(5000))
    line = refused(capsys, "analyze", str(tmp_path / "noise.mp3"))
    assert "noise.mp3: not a readable audio file (no audio format libsndfile knows)" in line
    assert "does not exist" not in line


def test_a_duet_of_takes_on_different_tempo_maps_asks_for_the_song(tmp_path: Path, capsys) -> None:
    from drumjam.io.midi import write_midi
    from drumjam.model import BeatMap, Hit, Take

    for name, bpm in (("ana.mid", 120.0), ("ben.mid", 100.0)):
        bm = BeatMap.constant(bpm, 8.0)
        write_midi(tmp_path / name, Take(tuple(Hit(t, "snare") for t in bm.beats_s[:8]), beatmap=bm))
    line = refused(capsys, "duet", str(tmp_path / "ana.mid"), str(tmp_path / "ben.mid"))
    assert "were played along different beat maps" in line
    assert "give --chart with the song both played along" in line and "beatmap=" not in line
    # the same tempo map twice is one grid: measured
    code, out, _ = run_cli(capsys, "duet", str(tmp_path / "ana.mid"), str(tmp_path / "ana.mid"),
                           "--json")
    assert code == 0 and json.loads(out)["sync"]["pairs"] == 8
