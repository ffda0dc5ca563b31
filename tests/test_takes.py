"""Everywhere a take goes, audio goes: load_take's dispatch and errors, ``drumjam transcribe``,
and ``score`` / ``duet`` / ``lesson`` with a recording rendered from a real MIDI take, scored
as closely as the MIDI take itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from drumjam.analysis import analyse_audio
from drumjam.analysis.takes import load_take, take_kind
from drumjam.cli import app
from drumjam.errors import FileFormatError, MidiFileError
from drumjam.io.audio import write_audio
from drumjam.io.midi import read_take
from drumjam.io.render import render_events
from drumjam.io.songfolder import load_chart
from drumjam.scoring import score_take

GROOVE = "eval_session/1_funk-groove1_138_beat_4-4.mid"
#: The recording's hits may sit this far from the MIDI take's (median, 90th percentile), in ms.
MEDIAN_HIT_MS = 3.0
P90_HIT_MS = 6.0
#: Share of the notes the MIDI take matched that the recording matches too.
MATCHED_SHARE = 0.9


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory, groove_midi: Path) -> dict[str, Path]:
    """A real take (drummer 7) as MIDI and rendered to WAV (AVL Black Pearl kit), the same
    groove by drummer 1 as the chart, and another drummer's take for duets."""
    tmp = tmp_path_factory.mktemp("takes")
    midi = groove_midi / "drummer7" / GROOVE
    samples, sr = render_events(read_take(midi), soundfont="black_pearl", mono=True)
    wav = write_audio(tmp / "drummer7.wav", samples, sr)
    return {"midi": midi, "wav": wav, "chart": groove_midi / "drummer1" / GROOVE,
            "partner": groove_midi / "drummer5" / GROOVE, "tmp": tmp}


def _cli(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ---------------------------------------------------------------- dispatch and errors
def test_load_take_dispatches_by_content(takes: dict[str, Path]) -> None:
    midi = load_take(takes["midi"], player="Mina")
    assert midi == read_take(takes["midi"], player="Mina")
    assert take_kind(takes["wav"]) == "audio"
    audio = load_take(takes["wav"])
    assert audio.player == "drummer7" and audio.beatmap is None
    # a MIDI file under an audio name is still MIDI: the contents decide
    renamed = takes["tmp"] / "really_midi.wav"
    renamed.write_bytes(takes["midi"].read_bytes())
    assert take_kind(renamed) == "midi"
    assert load_take(renamed).hits == midi.hits


def test_load_take_finds_beats_of_a_recording(takes: dict[str, Path]) -> None:
    take = load_take(takes["wav"], find_beats=True)
    assert take.beatmap is not None
    # the groove is played to a 138 BPM click
    assert take.beatmap.tempo_bpm == pytest.approx(138.0, rel=0.03)
    # the take is scored against its own steady pulse: most beats on one grid (no change of
    # interval), where the same recording as a song to play along to follows the drummer
    steady = np.abs(np.diff(take.beatmap.beats_s, 2)) < 0.0005
    assert steady.mean() > 0.8
    as_song = analyse_audio(takes["wav"], use_cache=False)
    assert (np.abs(np.diff(as_song.beats_s, 2)) < 0.0005).mean() < 0.2


@pytest.mark.parametrize("name, content, problem", [
    ("missing.wav", None, "no such file"),
    ("empty.wav", b"", "empty file"),
    ("notes.txt", b"kick on one, snare on two", r"neither a MIDI file nor audio .*give a MIDI take"),
    ("noise.bin", bytes(range(256)) * 40, "neither a MIDI file nor audio"),
])
def test_load_take_refuses_what_is_no_take(tmp_path: Path, name: str, content: bytes | None,
                                           problem: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FileFormatError, match=problem) as info:
        load_take(path)
    assert str(info.value).startswith(f"{path}: ")


def test_load_take_refuses_a_folder_and_a_broken_midi(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="is a folder"):
        load_take(tmp_path)
    fake = tmp_path / "take.mid"
    fake.write_bytes(b"RIFF....WAVEfmt ")
    with pytest.raises(MidiFileError, match="not a MIDI file"):
        load_take(fake)


def test_cli_errors_are_one_line(tmp_path: Path, takes: dict[str, Path]) -> None:
    text = tmp_path / "take.txt"
    text.write_text("not a take")
    for args, problem in ((["score", str(text)], "neither a MIDI file nor audio"),
                          (["transcribe", str(takes["midi"])], "its hits need no transcription")):
        proc = subprocess.run([sys.executable, "-m", "drumjam", *args], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert problem in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- drumjam transcribe
def test_transcribe_json_and_midi_round_trip(takes: dict[str, Path]) -> None:
    out = takes["tmp"] / "out" / "take.mid"
    data = _cli("transcribe", str(takes["wav"]), "--out", str(out))
    assert set(data) >= {"hits", "hits_per_voice"}
    hits = data["hits"]
    assert hits and all(set(h) >= {"time_s", "voice", "velocity"} for h in hits)
    times = [h["time_s"] for h in hits]
    assert times == sorted(times) and all(1 <= h["velocity"] <= 127 for h in hits)
    assert sum(data["hits_per_voice"].values()) == len(hits)
    back = read_take(out)
    assert len(back) == len(hits)
    assert sorted((h.voice.value, h.velocity) for h in back.hits) == \
        sorted((h["voice"], h["velocity"]) for h in hits)
    assert np.max(np.abs(back.times_s() - np.array(times))) < 0.001  # MIDI ticks at 120 BPM


def test_transcribed_groove_has_the_takes_hits(takes: dict[str, Path]) -> None:
    midi = read_take(takes["midi"])
    # scored against the take it was rendered from, nearly every hit is found where it was played
    scored = score_take(load_take(takes["wav"]), load_chart(takes["midi"]))
    assert scored.overall.matched >= MATCHED_SHARE * len(midi)
    assert np.median(np.abs(scored.offsets_ms())) <= MEDIAN_HIT_MS


# ---------------------------------------------------------------- score, duet, lessons
def _matched_times(score) -> dict[int, float]:
    return score.matched_target_times()


def test_score_a_recording_as_its_midi_take(takes: dict[str, Path]) -> None:
    from_midi = _cli("score", str(takes["midi"]), "--chart", str(takes["chart"]))
    from_audio = _cli("score", str(takes["wav"]), "--chart", str(takes["chart"]))
    assert from_audio["matched"] >= MATCHED_SHARE * from_midi["matched"]
    assert from_audio["mean_offset_ms"] == pytest.approx(from_midi["mean_offset_ms"], abs=P90_HIT_MS)
    chart = load_chart(takes["chart"])
    by_midi = _matched_times(score_take(read_take(takes["midi"]), chart))
    by_audio = _matched_times(score_take(load_take(takes["wav"]), chart))
    common = sorted(set(by_midi) & set(by_audio))
    assert len(common) >= MATCHED_SHARE * len(by_midi)
    diff_ms = np.abs([1000.0 * (by_audio[i] - by_midi[i]) for i in common])
    assert np.median(diff_ms) <= MEDIAN_HIT_MS
    assert np.percentile(diff_ms, 90) <= P90_HIT_MS


def test_duet_of_a_recording_and_a_midi_take(takes: dict[str, Path]) -> None:
    from_midi = _cli("duet", str(takes["midi"]), str(takes["partner"]), "--chart", str(takes["chart"]))
    from_audio = _cli("duet", str(takes["wav"]), str(takes["partner"]), "--chart", str(takes["chart"]))
    assert from_audio["sync"]["pairs"] >= MATCHED_SHARE * from_midi["sync"]["pairs"]
    assert from_audio["sync"]["mean_async_ms"] == pytest.approx(from_midi["sync"]["mean_async_ms"],
                                                                 abs=MEDIAN_HIT_MS)
    assert from_audio["players"][1]["matched"] == from_midi["players"][1]["matched"]


def test_lesson_from_a_recorded_teacher_and_attempt(takes: dict[str, Path]) -> None:
    made_midi = _cli("lesson", "create", str(takes["midi"]), "--name", "funk midi")
    made_audio = _cli("lesson", "create", str(takes["wav"]), "--name", "funk audio")
    # the teacher's recording gives a lesson on the same grid at the click's tempo (found)
    assert made_audio["pattern"]["grid"] == made_midi["pattern"]["grid"]
    assert made_audio["pattern"]["tempo_bpm"] == pytest.approx(138.0, rel=0.02)
    # the recorded attempt plays the MIDI take's own lesson
    attempt = _cli("lesson", "practise", "funk midi", str(takes["wav"]), "--student", "Sam",
                   "--tempo", "138")
    assert attempt["played_pct"] >= 100 * MATCHED_SHARE
