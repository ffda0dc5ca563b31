"""Hostile and careless input: every limit is checked before the work, with a clear error.

Each test rebuilds a recipe that used to exhaust memory or end in a traceback and asserts the
error names the file, the value and the fix; the worst ones also run in a child process with
its address space capped, so a regression fails instead of swapping the machine.
"""

from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from drumjam import limits
from drumjam.errors import AudioFileError, DrumjamError, FileFormatError, InputError, MidiFileError
from drumjam.io.audio import load_audio
from drumjam.io.midi import read_take
from drumjam.io.songfolder import load_chart, read_dot_chart, read_song_folder
from drumjam.model import BeatMap, Chart, Hit, Note, Take
from drumjam.scoring import ScoringConfig, score_take
from drumjam.scoring import matching

#: Address space a child process may use for a recipe (the interpreter and numpy need ~0.5 GB).
CHILD_ADDRESS_SPACE = 1536 * 2**20


def _smf(*tracks: bytes, ppq: int = 480) -> bytes:
    """A Standard MIDI File from raw track event bytes (for events mido refuses to write)."""
    head = b"MThd" + struct.pack(">IHHH", 6, 1 if len(tracks) > 1 else 0, len(tracks), ppq)
    return head + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


NOTE = b"\x00\x99\x26\x64"  # delta 0, note-on channel 10, snare, velocity 100
END = b"\x00\xff\x2f\x00"


def _run_capped(code: str) -> subprocess.CompletedProcess:
    """Run Python code in a child whose address space is capped."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, preexec_fn=cap)


def _run_cli(*args: str, env: dict[str, str] | None = None, capped: bool = False) -> subprocess.CompletedProcess:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))

    return subprocess.run([sys.executable, "-m", "drumjam", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})},
                          preexec_fn=cap if capped else None)


# ---------------------------------------------------------------- tiny files, absurd lengths
def test_midi_with_one_tick_per_beat_and_a_note_at_tick_2_pow_28(tmp_path: Path) -> None:
    path = tmp_path / "far.mid"
    mid = mido.MidiFile(type=0, ticks_per_beat=1)
    mid.tracks.append(mido.MidiTrack([
        mido.Message("note_on", channel=9, note=38, velocity=100, time=2**28),
        mido.MetaMessage("end_of_track", time=0)]))
    mid.save(path)
    assert path.stat().st_size < 40
    with pytest.raises(MidiFileError, match=r"far\.mid: the last note at tick 268435456 .*6 hours"):
        read_take(path)
    done = _run_cli("score", str(path), capped=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("drumjam: error: ") and "tick 268435456" in done.stderr
    assert "Traceback" not in done.stderr


CHART_FAR_NOTE = """[Song]
{
  Resolution = 1
}
[SyncTrack]
{
  0 = B 120000
}
[ExpertDrums]
{
  0 = N 0 0
  1000000000000 = N 1 0
}
"""


def _song_folder(root: Path, chart_text: str) -> Path:
    root.mkdir()
    (root / "notes.chart").write_text(chart_text, encoding="utf-8")
    (root / "song.ini").write_text("[song]\nname = Far\n", encoding="utf-8")
    sf.write(root / "song.wav", 0.5 * np.sin(np.arange(2205) / 5.0), 22050)
    return root


def test_song_folder_with_resolution_1_and_a_note_at_tick_10_pow_12(tmp_path: Path) -> None:
    folder = _song_folder(tmp_path / "far", CHART_FAR_NOTE)
    with pytest.raises(FileFormatError, match=r"notes\.chart: the last note at tick 1000000000000"):
        read_song_folder(folder)
    code = ("from drumjam.io.songfolder import read_song_folder\n"
            "from drumjam.errors import FileFormatError\n"
            f"try:\n    read_song_folder({str(folder)!r})\n"
            "except FileFormatError as exc:\n    print('refused', exc)\n")
    done = _run_capped(code)
    assert done.returncode == 0 and done.stdout.startswith("refused"), done.stderr[-2000:]


def test_time_signatures_far_apart_cannot_make_a_huge_beat_map(tmp_path: Path) -> None:
    # the notes are early, but a second time signature 5 hours of 32nd-note beats later would
    # need 10^6 beats at 400 "BPM": refused before they are made
    chart = CHART_FAR_NOTE.replace("1000000000000 = N 1 0", "4 = N 1 0").replace(
        "0 = B 120000", "0 = B 120000\n  0 = TS 4 5\n  1400000 = TS 4 2")
    path = tmp_path / "notes.chart"
    path.write_text(chart, encoding="utf-8")
    with pytest.raises(FileFormatError, match=r"notes\.chart: .*beat"):
        read_dot_chart(path)


@pytest.mark.parametrize("line, match", [
    ("0 = B 0", "unreadable"),
    ("0 = B 99999999999", "absurd tempo"),
    ("0 = TS 4 99999999999999", "unreadable"),
    ("0 = TS 0", r"time signature 0/4"),
    ("99999999999999999999999999 = B 120000", "not a tick"),
])
def test_chart_sync_track_values_out_of_range(tmp_path: Path, line: str, match: str) -> None:
    path = tmp_path / "notes.chart"
    path.write_text(CHART_FAR_NOTE.replace("0 = B 120000", line).replace("1000000000000", "4"),
                    encoding="utf-8")
    with pytest.raises(FileFormatError, match=match):
        read_dot_chart(path)


@pytest.mark.parametrize("song, match", [("Resolution = 0", "resolution 0"),
                                         ("Resolution = inf", "unreadable Resolution"),
                                         ("Offset = nan", "offset nan")])
def test_chart_song_section_out_of_range(tmp_path: Path, song: str, match: str) -> None:
    path = tmp_path / "notes.chart"
    path.write_text(CHART_FAR_NOTE.replace("Resolution = 1", song).replace("1000000000000", "4"),
                    encoding="utf-8")
    with pytest.raises(FileFormatError, match=match):
        read_dot_chart(path)


def test_missing_chart_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such chart file"):
        load_chart(tmp_path / "nothing.chart")


# ---------------------------------------------------------------- MIDI meta events
@pytest.mark.parametrize("meta, match", [
    (b"\x00\xff\x59\x02\x20\x00", r"bad\.mid: invalid key signature .*remove the key"),  # 32 sharps
    (b"\x00\xff\x58\x04\x00\x02\x18\x08", r"bad\.mid: time signature 0/4 at tick 0"),
    (b"\x00\xff\x58\x04\x04\x3f\x18\x08", r"time signature 4/9223372036854775808"),  # 4/2^63
])
def test_meta_events_out_of_range(tmp_path: Path, meta: bytes, match: str) -> None:
    path = tmp_path / "bad.mid"
    path.write_bytes(_smf(meta + NOTE + END))
    with pytest.raises(MidiFileError, match=match):
        read_take(path)


def test_tempo_zero_and_smpte_division(tmp_path: Path) -> None:
    zero = tmp_path / "tempo0.mid"
    zero.write_bytes(_smf(b"\x00\xff\x51\x03\x00\x00\x00" + NOTE + END))
    with pytest.raises(MidiFileError, match=r"tempo0\.mid: absurd tempo inf BPM"):
        read_take(zero)
    smpte = tmp_path / "smpte.mid"
    smpte.write_bytes(_smf(NOTE + END, ppq=0xE728))  # -25 fps, 40 ticks per frame
    with pytest.raises(MidiFileError, match=r"smpte\.mid: resolution -6360 .*SMPTE"):
        read_take(smpte)


def test_too_many_notes_are_refused_with_the_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("drumjam.io.midi.MAX_EVENTS", 10)
    path = tmp_path / "many.mid"
    path.write_bytes(_smf(NOTE * 11 + END))
    with pytest.raises(MidiFileError, match=r"many\.mid: 11 notes are more than drumjam reads \(10\)"):
        read_take(path)


# ---------------------------------------------------------------- audio
def _rf64_float(path: Path, data_bytes: int, channels: int, rate: int) -> None:
    """An RF64 float WAV whose header claims ``data_bytes`` of audio; the file is sparse."""
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * 4 * channels, 4 * channels, 32)
    head = (b"RF64\xff\xff\xff\xffWAVE" + b"ds64" + struct.pack("<I", 28)
            + struct.pack("<QQQI", data_bytes + 72, data_bytes, data_bytes // (4 * channels), 0)
            + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data\xff\xff\xff\xff")
    with path.open("wb") as f:
        f.write(head)
        f.write(np.full(4800 * channels, 0.5, np.float32).tobytes())
        f.truncate(len(head) + data_bytes)


def test_rf64_wav_claiming_37_gib(tmp_path: Path) -> None:
    path = tmp_path / "huge.wav"
    # 8 channels at 384 kHz: 54 minutes, under the two-hour limit, but 37 GiB of samples
    _rf64_float(path, 37 * 2**30, 8, 384000)
    if path.stat().st_blocks * 512 > 2**20:
        pytest.skip("this file system does not keep sparse files sparse")
    assert sf.info(str(path)).frames * 8 * 4 == 37 * 2**30
    with pytest.raises(AudioFileError, match=r"huge\.wav: 1242 million samples .* 384000 Hz"):
        load_audio(path)
    path.unlink()


def test_audio_longer_than_two_hours_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    _rf64_float(path, 48000 * 4 * 7300, 1, 48000)
    if path.stat().st_blocks * 512 > 2**20:
        pytest.skip("this file system does not keep sparse files sparse")
    with pytest.raises(AudioFileError, match=r"long\.wav: 2\.0 h long, more than 2 hours"):
        load_audio(path)


def test_non_audio_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n" * 50)
    with pytest.raises(AudioFileError, match=r"notes\.wav: not a readable audio file"):
        load_audio(text)
    midi = tmp_path / "groove.ogg"
    midi.write_bytes(_smf(NOTE + END))
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        load_audio(midi)


def test_too_many_channels(tmp_path: Path) -> None:
    path = tmp_path / "wide.wav"
    sf.write(path, np.full((100, 40), 0.5, np.float32), 48000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"wide\.wav: 40 channels are more than drumjam reads \(32\)"):
        load_audio(path)


def test_audio_read_in_blocks_equals_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    x = (0.3 * rng.standard_normal((50_000, 2))).astype(np.float32)
    path = tmp_path / "stereo.flac"
    sf.write(path, x, 44100, subtype="PCM_24")
    whole, _ = sf.read(path, dtype="float32", always_2d=True)
    monkeypatch.setattr("drumjam.io.audio.BLOCK_FRAMES", 4096)
    mono, sr = load_audio(path)
    stereo, _ = load_audio(path, mono=False)
    assert sr == 44100 and mono.flags.c_contiguous
    np.testing.assert_array_equal(mono, whole.mean(axis=1))
    np.testing.assert_array_equal(stereo, whole)


def test_stems_are_mixed_block_by_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drumjam.io.audio import resample
    from drumjam.io.songfolder import mix_stems

    rng = np.random.default_rng(5)
    guitar, bass, keys = tmp_path / "guitar.flac", tmp_path / "bass.wav", tmp_path / "keys.wav"
    sf.write(guitar, 0.4 * rng.standard_normal((30_000, 2)), 44100, subtype="PCM_24")
    sf.write(bass, 0.5 * rng.standard_normal(50_000), 44100, subtype="FLOAT")
    sf.write(keys, 0.3 * rng.standard_normal(20_000), 48000, subtype="FLOAT")
    monkeypatch.setattr("drumjam.io.audio.BLOCK_FRAMES", 1000)
    mix, sr = mix_stems([guitar, bass, keys])
    g, b, k = load_audio(guitar)[0], load_audio(bass)[0], load_audio(keys)[0]
    want = np.zeros(50_000, np.float32)
    want[:g.size] += g
    want += b
    k = resample(k, 48000, 44100)
    want[:k.size] += k
    want *= 0.99 / float(np.max(np.abs(want)))
    assert sr == 44100
    np.testing.assert_array_equal(mix, want)


def test_nan_samples_in_a_float_wav(tmp_path: Path) -> None:
    path = tmp_path / "nan.wav"
    x = np.full(1000, 0.5, np.float32)
    x[700] = np.nan
    sf.write(path, x, 22050, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"nan\.wav: the audio holds NaN"):
        load_audio(path)


# ---------------------------------------------------------------- model constructors
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 1e308, "soon", None])
def test_hits_and_notes_refuse_non_finite_times(bad: object) -> None:
    with pytest.raises(InputError, match="time"):
        Hit(bad, "snare")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="time"):
        Note(bad, "kick")  # type: ignore[arg-type]


@pytest.mark.parametrize("field, value, match", [
    ("velocity", float("nan"), "velocity nan is not a whole number"),
    ("velocity", 200, "velocity 200 is outside 1-127"),
    ("hihat_openness", float("nan"), "openness nan"),
    ("hihat_openness", 1.5, "openness 1.5"),
    ("hihat_openness", "open", "openness 'open'"),
])
def test_hit_fields_out_of_range(field: str, value: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        Hit(1.0, "hihat_closed", **{field: value})


def test_take_and_chart_limit_the_number_of_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("drumjam.model.events.MAX_EVENTS", 3)
    hits = tuple(Hit(0.1 * i, "kick") for i in range(4))
    with pytest.raises(InputError, match="4 hits are more than drumjam scores at once"):
        Take(hits)
    bm = BeatMap.constant(120, 4)
    with pytest.raises(InputError, match="grid chart of 18 notes"):
        Chart.from_grid(bm, 4, ["kick", "snare"])


@pytest.mark.parametrize("call, match", [
    (lambda: BeatMap.constant(120, float("inf")), "duration inf"),
    (lambda: BeatMap.constant(120, 1e12), "duration 1000000000000.0 is not a finite time"),
    (lambda: BeatMap.constant(float("nan"), 10), "absurd tempo nan"),
    (lambda: BeatMap.constant(120, 10, meter=0), "meter must be"),
    (lambda: BeatMap.constant(120, 10, meter=float("nan")), "meter must be"),
    (lambda: BeatMap.from_beats([0.0, 0.5, 1.0], meter=0), "meter must be"),
    (lambda: BeatMap.from_beats([0.0, float("nan")]), "NaN"),
    (lambda: BeatMap.from_beats([0.0, 0.5], confidence=float("nan")), "confidence nan"),
    (lambda: BeatMap.constant(120, 8).grid(16, end_s=1e12), "grid end"),
    (lambda: BeatMap.constant(120, 8).grid(16, start_s=float("nan")), "grid start"),
    (lambda: BeatMap.constant(120, 8).shifted(float("inf")), "NaN or infinity"),
    (lambda: BeatMap.from_dict({"beats": [0, 0.5], "meter": "x"}), "not a beat map"),
])
def test_beat_map_refuses_absurd_values_before_building(call, match: str) -> None:
    with pytest.raises(InputError, match=match):
        call()


# ---------------------------------------------------------------- scoring memory
def _dense_midi(path: Path, n_hits: int) -> None:
    """One snare per tick (about 1 ms apart): every midpoint between two sixteenth notes holds
    a hit, so all hits form one matching component."""
    track = mido.MidiTrack(mido.Message("note_on", channel=9, note=38, velocity=100, time=1)
                           for _ in range(n_hits))
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    mid.tracks.append(track)
    mid.save(path)


def test_scoring_one_huge_component_takes_linear_memory(tmp_path: Path) -> None:
    path = tmp_path / "dense.mid"
    _dense_midi(path, 30_000)
    take = read_take(path)
    tracemalloc.start()
    score = score_take(take, grid=16)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # 30k hits over 251 sixteenths: one match per sixteenth, the hit on its very tick (the
    # first sixteenth, at tick 0, gets the hit at tick 1: 1/960 s late)
    assert score.overall.matched == 251 and score.overall.extra == 30_000 - 251
    offsets = sorted(abs(h.offset_ms) for h in score.hits if h.offset_ms is not None)
    assert offsets[-1] == pytest.approx(1000 / 960) and offsets[-2] < 1e-6
    # the dense solution held 30k x 251 distances (60 MB per matrix, several of them)
    assert peak < 40e6, f"scoring peaked at {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("tempo_aware", [True, False])
def test_in_order_solver_finds_the_hungarian_optimum(monkeypatch: pytest.MonkeyPatch,
                                                     tempo_aware: bool) -> None:
    rng = np.random.default_rng(11)

    def value(hits: np.ndarray, targets: np.ndarray, m: np.ndarray) -> tuple[int, float]:
        ok = m >= 0
        assert len(set(m[ok].tolist())) == ok.sum()  # one-to-one
        return int(ok.sum()), float(np.abs(hits[ok] - targets[m[ok]]).sum())

    for _ in range(400):
        targets = np.sort(rng.uniform(0, rng.uniform(0.2, 2.0), rng.integers(2, 12)))
        hits = np.sort(rng.uniform(-0.1, targets[-1] + 0.1, rng.integers(2, 16)))
        windows = matching.target_windows(targets, rng.uniform(0.02, 0.3), tempo_aware)
        monkeypatch.setattr(matching, "DENSE_CELLS", 10**9)
        dense = matching.match_times(hits, targets, windows)
        monkeypatch.setattr(matching, "DENSE_CELLS", 0)
        in_order = matching.match_times(hits, targets, windows)
        lo, hi = matching.candidate_ranges(hits, windows)
        assert np.all((in_order < 0) | ((in_order >= lo) & (in_order < hi)))
        (n_a, cost_a), (n_b, cost_b) = value(hits, targets, dense), value(hits, targets, in_order)
        assert n_a == n_b and cost_b == pytest.approx(cost_a, abs=1e-9)


def test_live_scoring_of_a_huge_component_equals_offline() -> None:
    from drumjam.scoring.live import LiveScorer

    bm = BeatMap.constant(120, 4)
    times = np.arange(0.0, 4.0, 0.001)
    live = LiveScorer(grid=16, beatmap=bm, config=ScoringConfig())
    for t in times:
        live.add(Hit(float(t), "snare"))
    offline = score_take(Take(tuple(Hit(float(t), "snare") for t in times), beatmap=bm), grid=16)
    assert live.finish().to_dict(with_hits=True) == offline.to_dict(with_hits=True)


# ---------------------------------------------------------------- the command line
def test_cli_unexpected_error_is_one_line_with_a_hint(groove_midi: Path, capsys: pytest.CaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from drumjam.cli import main

    take = next(groove_midi.glob("drummer1/eval_session/*.mid"))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr("drumjam.scoring.score_take", broken)
    monkeypatch.delenv("DRUMJAM_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["score", str(take)])
    assert exited.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drumjam: unexpected error: RuntimeError: a bug")
    assert "DRUMJAM_DEBUG=1" in lines[0] and "Traceback" not in lines[0]
    monkeypatch.setenv("DRUMJAM_DEBUG", "1")  # the trace on request
    with pytest.raises(RuntimeError, match="a bug nobody foresaw"):
        main(["score", str(take)])


def test_cli_expected_errors_still_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "key.mid"
    path.write_bytes(_smf(b"\x00\xff\x59\x02\x20\x00" + NOTE + END))
    done = _run_cli("score", str(path))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"drumjam: error: {path}: invalid key signature (Could not decode "
                                   "key with 32 sharps and mode 0) (remove the key signature in "
                                   "your DAW and export again)")


def test_grid_targets_are_counted_before_they_are_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("drumjam.scoring.targets.MAX_GRID_TARGETS", 100)
    take = Take((Hit(0.1, "kick"), Hit(3.9, "snare")), beatmap=BeatMap.constant(120, 4))
    assert len(score_take(take, grid=4).targets) == 2 * 9  # two groups, nine quarter notes
    with pytest.raises(InputError, match="2 voice groups on 65 grid positions makes 130 targets"):
        score_take(take, grid=32)


def test_notation_is_bounded_before_music21_builds_bars() -> None:
    from drumjam.io.musicxml import to_score

    with pytest.raises(InputError, match="10000000 bars of notation: write 1-256 bars"):
        to_score([], bars=10_000_000)
    with pytest.raises(InputError, match="time signature 0/4 cannot be written"):
        to_score([], bars=1, meter=0)


def test_limits_are_consistent() -> None:
    assert limits.MAX_BEATS == 144_000
    assert limits.MAX_AUDIO_SAMPLES * 4 < 1.5 * 2**30  # decoded float32 audio
    assert issubclass(FileFormatError, DrumjamError) and issubclass(FileFormatError, ValueError)


@pytest.mark.parametrize("text, match", [
    ("1-9999999", r"bars '1-9999999' are 9999999 bars; a lesson's pattern is written from at most 256 bars"),
    ("1-257", "are 257 bars"),
    ("144000-144001", "reach past bar 144000"),
    ("1" * 5000, r"is not a bar range"),
    ("3-1", r"bars '3-1' is not a bar range; write e.g. 1-2 or 3"),
])
def test_lesson_bar_ranges_are_bounded(text: str, match: str) -> None:
    from drumjam.lesson import parse_bars

    with pytest.raises(InputError, match=match):
        parse_bars(text)


def test_lesson_bar_ranges_up_to_the_notation_limit() -> None:
    from drumjam.lesson import parse_bars

    assert parse_bars("1-256") == (0, 255)
    assert parse_bars(" 2 - 5 ") == (1, 4)
    assert parse_bars("7") == (6, 6)
    assert parse_bars("") is None
