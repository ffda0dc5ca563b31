"""analyse_audio on real files, the cache, onsets, click tracks, the CLI and Beat This!."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from drumjam.analysis import (
    analyse_audio,
    beat_this_backend,
    detect_onsets,
    mix_click,
    render_click,
)
from drumjam.cli import app
from drumjam.errors import AudioFileError, InputError
from drumjam.io.audio import load_audio, write_audio
from drumjam.model import BeatMap
from drumjam.paths import cache_dir

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from beats import mix_files, score_file, stem_files

RESULTS = ROOT / "benchmarks" / "results" / "beats.json"
TOLERANCE = 0.02


def _recorded(group: str) -> dict:
    return json.loads(RESULTS.read_text())["groups"][group]["per_file"]["drumjam"]


@pytest.mark.slow
@pytest.mark.parametrize(("group", "files"), [("mixes", mix_files), ("stems", stem_files)])
def test_real_files_score_at_least_the_recorded_benchmark(group: str, files: object) -> None:
    """Every file of the benchmark, full mixes and drum stems, at least as well as recorded
    (beats at +-70 and +-20 ms, downbeats) and at the tempo level it was recorded at."""
    recorded = _recorded(group)
    pairs = files()
    assert sorted(a.name for a, _ in pairs) == sorted(recorded)
    for audio, annotation in pairs:
        found = analyse_audio(audio, use_cache=False)
        got = score_file(annotation, found.beats_s.tolist(), found.downbeats_s.tolist())
        want = recorded[audio.name]
        for metric in ("f70", "f20", "down_f70", "level"):
            if metric in want:
                assert got[metric] >= want[metric] - TOLERANCE, (audio.name, metric, got[metric])


def test_steady_song_tempo_and_confidence(shared_data: Path) -> None:
    found = analyse_audio(shared_data / "beats" / "tutorial_easy_example.flac")
    assert found.tempo_bpm == pytest.approx(100.0, rel=0.01)
    assert found.meter == 4
    assert 0.0 <= found.confidence <= 1.0


def test_cache_reuses_by_content(shared_data: Path, tmp_path: Path) -> None:
    song = shared_data / "beats" / "madmom_sample.wav"
    first = analyse_audio(song)
    entries = list(cache_dir("beatmaps").glob("*.json"))
    assert len(entries) == 1
    # same bytes under another name: served from the cache (a planted entry proves it)
    copy = tmp_path / "renamed.wav"
    copy.write_bytes(song.read_bytes())
    planted = BeatMap.constant(60.0, 4.0)
    entries[0].write_text(json.dumps(planted.to_dict()))
    assert analyse_audio(copy) == planted
    assert analyse_audio(copy, use_cache=False) == first
    assert len(list(cache_dir("beatmaps").glob("*.json"))) == 1


def test_bad_input_caches_nothing(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    write_audio(silent, np.zeros(44100, dtype=np.float32), 44100)
    with pytest.raises(AudioFileError, match="silent"):
        analyse_audio(silent)
    with pytest.raises(InputError, match="sample rate"):
        analyse_audio(np.ones(1000, dtype=np.float32))
    with pytest.raises(InputError, match="backend"):
        analyse_audio(silent, backend="magic")
    assert list(cache_dir("beatmaps").glob("*")) == []


def test_onsets_of_a_click_track() -> None:
    truth = BeatMap.constant(120.0, 10.0, start_s=0.25)
    y = render_click(truth, 11.0, 44100)
    onsets = detect_onsets(y, 44100)
    assert onsets.size == truth.beats_s.size
    err = onsets - truth.beats_s
    # clicks peak a few ms early in the flux (sampled drums a few ms late): within 7 ms, and
    # steady to 3 ms from one click to the next
    assert np.max(np.abs(err)) < 0.007
    assert np.ptp(err) < 0.003


def test_click_starts_on_each_beat_and_mix_keeps_shape() -> None:
    bm = BeatMap.constant(100.0, 5.0, meter=4, start_s=0.1)
    click = render_click(bm, 5.0, 8000)
    starts = np.flatnonzero((np.abs(click[1:]) > 0) & (click[:-1] == 0)) + 1
    np.testing.assert_array_equal(starts, np.round(bm.beats_s[bm.beats_s < 5.0] * 8000).astype(int) + 1)
    accent = np.abs(click[int(0.1 * 8000):int(0.13 * 8000)]).max()
    plain = np.abs(click[int(0.7 * 8000):int(0.73 * 8000)]).max()
    assert accent > plain
    song = np.full((5 * 8000, 2), 0.3, dtype=np.float32)
    mix = mix_click(song, 8000, bm)
    assert mix.shape == song.shape and np.max(np.abs(mix)) <= 1.0
    assert not np.allclose(mix, song)


def test_cli_analyze_json_and_out(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "map.json"
    song = shared_data / "beats" / "tutorial_easy_example.flac"
    result = CliRunner().invoke(app, ["analyze", str(song), "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"tempo_bpm", "beats", "downbeats", "meter", "confidence"} <= set(data)
    assert data["tempo_bpm"] == pytest.approx(100.0, rel=0.01)
    assert set(data["downbeats"]) <= set(data["beats"])
    assert BeatMap.from_dict(json.loads(out.read_text())) == BeatMap.from_dict(data)


def test_cli_analyze_with_corrections_by_ear(shared_data: Path) -> None:
    song = shared_data / "beats" / "tutorial_easy_example.flac"
    plain = json.loads(CliRunner().invoke(app, ["analyze", str(song), "--json"]).stdout)
    fixed = CliRunner().invoke(app, ["analyze", str(song), "--json", "--tempo", "double",
                                     "--shift-downbeat", "1"])
    assert fixed.exit_code == 0, fixed.output
    data = json.loads(fixed.stdout)
    assert data["tempo_bpm"] == pytest.approx(2 * plain["tempo_bpm"], rel=0.01)
    assert data["beats"][::2] == pytest.approx(plain["beats"], abs=1e-5)
    # "one" moved one (doubled) beat later: half a beat of the analysis
    beat_s = plain["beats"][1] - plain["beats"][0]
    assert data["downbeats"][0] == pytest.approx(plain["downbeats"][0] + beat_s / 2, abs=0.01)
    bad = CliRunner().invoke(app, ["analyze", str(song), "--tempo", "triple"])
    assert isinstance(bad.exception, InputError) and "use double or half" in str(bad.exception)


def test_cli_analyze_steady_keeps_the_grid(shared_data: Path) -> None:
    """A played song's beats follow the drummer; ``--steady`` keeps them on the fitted grid
    (every interval of a steady stretch the same), at the same beats within the push and drag."""
    song = shared_data / "drum-audio" / "audio" / "MusicDelta_80sRock_Drum.wav"
    played = json.loads(CliRunner().invoke(app, ["analyze", str(song), "--json"]).stdout)
    steady = json.loads(CliRunner().invoke(app, ["analyze", str(song), "--json", "--steady"]).stdout)
    a, b = np.array(played["beats"]), np.array(steady["beats"])
    assert a.size == b.size and np.max(np.abs(a - b)) < 0.02
    assert np.mean(np.abs(np.diff(b, 2)) < 1e-4) > 0.9
    assert np.mean(np.abs(np.diff(a, 2)) < 1e-4) < 0.2


def test_cli_click_writes_song_with_click(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "with_click.wav"
    song = shared_data / "beats" / "madmom_sample.wav"
    result = CliRunner().invoke(app, ["click", str(song), "--out", str(out)])
    assert result.exit_code == 0, result.output
    mixed, sr = load_audio(out, mono=False)
    original, sr0 = load_audio(song, mono=False)
    assert sr == sr0 and mixed.shape == original.shape


@pytest.mark.parametrize("content", [b"", b"RIFF not really a wave file"])
def test_cli_bad_file_one_line_exit_2(tmp_path: Path, content: bytes) -> None:
    import subprocess

    bad = tmp_path / "bad.mp3"
    bad.write_bytes(content)
    proc = subprocess.run([sys.executable, "-c", "from drumjam.cli import main; main()", "analyze", str(bad)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.mp3" in lines[0] and "Traceback" not in proc.stderr
    assert list(cache_dir("beatmaps").glob("*")) == []


def test_beat_this_meter_from_downbeats() -> None:
    beats = np.arange(0, 12, 0.5)
    assert beat_this_backend.meter_of(beats, beats[::3]) == 3
    assert beat_this_backend.meter_of(beats, beats[1::4]) == 4
