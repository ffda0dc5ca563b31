"""Option values of 0, NaN or infinity: refused with one line naming the option, the value and
the range (exit code 2), never replaced by the default nor crashing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_support import refused, run_cli

from drumjam.batch.items import Item
from drumjam.batch.tasks import Settings, run_item
from drumjam.errors import InputError
from drumjam.io.midi import read_take, write_midi
from drumjam.lesson import TrainerConfig, decide, evaluate_attempt, extract_pattern, start
from drumjam.model import BeatMap, Chart, Note
from drumjam.scoring import score_take
from drumjam.store import lessons

TEMPO_BPM = 100.0


def _rock(path: Path, bars: int = 4) -> Path:
    """A rock beat at TEMPO_BPM: hi-hat eighths, kick on 1 and 3, snare on 2 and 4."""
    beat_s = 60.0 / TEMPO_BPM
    notes = []
    for bar in range(bars):
        t0 = bar * 4 * beat_s
        notes += [Note(t0 + k * beat_s / 2, "hihat_closed", 90) for k in range(8)]
        notes += [Note(t0 + k * beat_s, "kick", 100) for k in (0, 2)]
        notes += [Note(t0 + k * beat_s, "snare", 110) for k in (1, 3)]
    notes.sort(key=lambda n: n.time_s)
    return write_midi(path, Chart(tuple(notes), BeatMap.constant(TEMPO_BPM, bars * 4 * beat_s)))


def _json(capsys, *args: str):
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_grid_0_is_refused_not_taken_for_16(tmp_path, capsys):
    take = _rock(tmp_path / "rock.mid")
    assert _json(capsys, "score", str(take), "--grid", "16")["grid"] == 16
    assert "grid subdivision 0 is not one of 1, 2, 4, 8, 12, 16, 24, 32" in refused(
        capsys, "score", str(take), "--grid", "0")
    with pytest.raises(InputError, match="grid subdivision 0"):
        score_take(read_take(take), grid=0)


def test_batch_refuses_bad_shared_options_before_any_work(tmp_path, capsys):
    _rock(tmp_path / "rock.mid")
    sf.write(tmp_path / "song.wav", np.full(8000, 0.5, np.float32), 8000)
    out = str(tmp_path / "rows.csv")
    err = refused(capsys, "batch", "score", str(tmp_path), "--out", out, "--grid", "0")
    assert "--grid 0 is not a grid subdivision; give one of 1, 2, 4, 8, 12, 16, 24, 32" in err
    err = refused(capsys, "batch", "analyze", str(tmp_path), "--out", out, "--meter", "0")
    assert "--meter 0 is out of range; give 2-12 beats per bar" in err
    err = refused(capsys, "batch", "score", str(tmp_path), "--out", out, "--perfect-ms", "0")
    assert "0 < perfect_ms" in err
    assert not (tmp_path / "rows.csv").exists()
    with pytest.raises(InputError, match="--meter 13 is out of range"):
        Settings(meter=13)


def test_a_manifest_grid_that_is_no_number_fails_its_own_row(tmp_path):
    take = str(_rock(tmp_path / "rock.mid"))
    row = run_item("score", Item(take, (take,), {"grid": "sixteen"}), Settings())
    assert row["status"] == "failed"
    assert row["error"] == "InputError: the manifest's grid 'sixteen' is not a whole number"
    row = run_item("score", Item(take, (take,), {"grid": "0"}), Settings())
    assert row["status"] == "failed" and "grid subdivision 0 is not one of" in row["error"]
    assert run_item("score", Item(take, (take,), {"grid": "8"}), Settings())["grid"] == 8


@pytest.mark.parametrize("tempo", ["0", "nan", "inf", "-90", "401"])
def test_lesson_tempo_out_of_range_isrefused(tmp_path, capsys, tempo):
    take = str(_rock(tmp_path / "rock.mid"))
    err = refused(capsys, "lesson", "create", take, "--name", "rock", "--tempo", tempo)
    assert f"--tempo {float(tempo):g} BPM is out of range; give 20-400 BPM" in err
    _json(capsys, "lesson", "create", take, "--name", "rock")
    err = refused(capsys, "lesson", "practise", "rock", take, "--student", "Sam", "--tempo", tempo)
    assert f"--tempo {float(tempo):g} BPM is out of range; give 20-400 BPM" in err
    assert _json(capsys, "lesson", "progress", "rock") == []  # nothing scored nor stored


def test_a_tempo_of_0_is_not_the_trainers_tempo_in_the_library(tmp_path):
    take = read_take(_rock(tmp_path / "rock.mid"))
    pattern = extract_pattern(take)
    with pytest.raises(InputError, match="tempo 0 BPM is out of range"):
        pattern.to_chart(0)
    assert pattern.to_chart().beatmap.tempo_bpm == pytest.approx(TEMPO_BPM)
    state = start(TEMPO_BPM)
    with pytest.raises(InputError, match="tempo 0 BPM is out of range"):
        decide(state, True, TrainerConfig(), tempo_bpm=0)
    with pytest.raises(InputError, match="tempo nan BPM is out of range"):
        evaluate_attempt(pattern, take, float("nan"))
    with pytest.raises(InputError, match="target tempo inf BPM is out of range"):
        start(float("inf"))
    lessons.create_lesson("rock", pattern)
    with pytest.raises(InputError, match="tempo 0 BPM is out of range"):
        lessons.practise("rock", "Sam", take, tempo_bpm=0)
    assert lessons.students("rock") == []
    assert lessons.practise("rock", "Sam", take, tempo_bpm=TEMPO_BPM)["tempo_bpm"] == TEMPO_BPM
