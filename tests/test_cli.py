"""The command line as a person uses it: one-line errors with exit code 2, the demo report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mido
import pytest


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drumjam", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def _bad_files(tmp: Path, groove: Path) -> dict[str, tuple[list[str], str]]:
    (tmp / "empty.mid").write_bytes(b"")
    (tmp / "text.mid").write_text("not midi at all")
    (tmp / "trunc.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x40\x00\x90")
    piano = mido.MidiFile(type=0)
    piano.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=0, note=60, velocity=80, time=0)]))
    piano.save(tmp / "piano.mid")
    fast = mido.MidiFile(type=0)
    fast.tracks.append(mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=20000, time=0),
        mido.Message("note_on", channel=9, note=36, velocity=80, time=0)]))
    fast.save(tmp / "fast.mid")
    late = mido.MidiFile(type=0)
    late.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=9, note=38, velocity=80, time=480 * 2000)]))
    late.save(tmp / "late.mid")
    take = str(groove / "drummer1/eval_session/7_pop-groove7_138_beat_4-4.mid")
    return {
        "empty": (["score", str(tmp / "empty.mid")], "empty file"),
        "not midi": (["score", str(tmp / "text.mid")], "not a MIDI file"),
        "truncated": (["score", str(tmp / "trunc.mid")], "truncated"),
        "no drums": (["score", str(tmp / "piano.mid")], "no drum notes"),
        "absurd tempo": (["score", str(tmp / "fast.mid")], "absurd tempo"),
        "no overlap": (["score", take, "--chart", str(tmp / "late.mid")], "do not overlap"),
        "missing": (["duet", take, str(tmp / "nope.mid")], "no such file"),
        "bad grid": (["score", take, "--grid", "7"], "subdivision 7"),
    }


def test_bad_input_gives_one_line_and_exit_code_2(tmp_path: Path, groove_midi: Path) -> None:
    for case, (args, message) in _bad_files(tmp_path, groove_midi).items():
        result = _run(*args)
        assert result.returncode == 2, (case, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (case, result.stderr)
        assert lines[0].startswith("drumjam: error: ") and message in lines[0], case
        assert "Traceback" not in result.stderr


def test_score_json(groove_midi: Path) -> None:
    take = groove_midi / "drummer5/eval_session/1_funk-groove1_138_beat_4-4.mid"
    result = _run("score", str(take), "--grid", "16", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"matched", "missed", "extra", "mean_offset_ms", "sd_offset_ms", "voices"} <= set(data)
    n_notes = sum(1 for m in mido.MidiFile(take) if m.type == "note_on" and m.velocity > 0)
    assert data["matched"] + data["extra"] == n_notes
    assert data["matched"] > 0 and "kick" in data["voices"]


def test_demo_writes_the_report(tmp_path: Path) -> None:
    result = _run("demo", "--report", str(tmp_path / "demo.html"))
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "demo.html").read_text()
    assert "data:image/png;base64," in html and html.count("<img") >= 3
    assert "drummer 1" in html and "CC BY 4.0" in html
    assert "Groove MIDI Dataset" in result.stdout
    assert "within 20 ms" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["score", "--help"], ["duet", "--help"]])
def test_help(args: list[str]) -> None:
    assert _run(*args).returncode == 0


def test_the_command_line_loads_the_analysis_and_storage_stacks_only_for_the_commands_that_use_them() -> None:
    """``drumjam --help`` (and every command's parsing) imports neither SciPy, SQLAlchemy nor
    the scoring engine: the lesson and scoring commands load them when they run, so that the
    command line answers at once. The lazily loaded packages still give every name."""
    code = ("import sys, drumjam.cli; "
            "print(sorted(m for m in ('scipy', 'sqlalchemy', 'drumjam.scoring.take', "
            "'drumjam.store.db', 'drumjam.lesson.trainer') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
    import drumjam.lesson
    import drumjam.scoring
    from drumjam.lesson.config import TrainerConfig
    from drumjam.scoring.take import score_take

    assert drumjam.lesson.TrainerConfig is TrainerConfig and drumjam.scoring.score_take is score_take
    assert {"start", "decide", "extract_pattern"} <= set(dir(drumjam.lesson))
