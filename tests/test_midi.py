"""MIDI takes and charts in and out."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from drumjam.errors import MidiFileError
from drumjam.io.midi import read_chart, read_midi, read_take, write_midi
from drumjam.model import BeatMap, Hit, Take, Voice


def _every_nth(groove_midi: Path, n: int) -> list[Path]:
    files = sorted(groove_midi.rglob("*.mid"))
    odd_metre = [f for f in files if "_4-4" not in f.name]
    return sorted(set(files[::n]) | set(odd_metre))


def test_groove_midi_round_trips_exactly(groove_midi: Path, tmp_path: Path) -> None:
    files = _every_nth(groove_midi, 8)
    assert len(files) > 130
    for f in files:
        take = read_take(f)
        out = write_midi(tmp_path / "rt.mid", take, kit_map="roland")
        again = read_take(out)
        assert again.hits == take.hits, f
        assert again.beatmap == take.beatmap, f


def test_groove_midi_timing_matches_the_file(groove_midi: Path) -> None:
    path = groove_midi / "drummer1/eval_session/7_pop-groove7_138_beat_4-4.mid"
    take = read_take(path)
    midi = mido.MidiFile(path)
    onsets, now = [], 0.0
    for msg in midi:  # mido's own tick -> seconds conversion
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            onsets.append(now)
    assert np.allclose(take.times_s(), onsets, atol=1e-9)
    assert take.beatmap.tempo_bpm == pytest.approx(mido.tempo2bpm(434783), abs=1e-6)
    assert take.beatmap.meter == 4
    # hi-hat openness from CC4 is attached to hi-hat hits only
    assert any(h.hihat_openness is not None for h in take.hits if h.voice == Voice.HIHAT_CLOSED)
    assert all(h.hihat_openness is None for h in take.hits if h.voice == Voice.KICK)


def test_three_four_file_has_three_beat_bars(groove_midi: Path) -> None:
    take = read_take(groove_midi / "drummer1/session2/1_latin-chacarera_157_beat_3-4.mid")
    bm = take.beatmap
    assert bm.meter == 3
    assert np.allclose(np.diff(bm.downbeats_s), 3 * 60 / 157, atol=1e-3)


def _type1_file(path: Path, channel: int = 9) -> None:
    """Two tracks: tempo map (120 BPM, then 60 BPM from beat 4) and four notes, 480 PPQ."""
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    meta = mido.MidiTrack([
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        mido.MetaMessage("set_tempo", tempo=500000, time=0),
        mido.MetaMessage("set_tempo", tempo=1000000, time=4 * 480),
    ])
    notes = mido.MidiTrack()
    last = 0
    for tick, note in [(0, 36), (480, 38), (4 * 480, 36), (5 * 480 + 240, 42)]:
        notes.append(mido.Message("note_on", channel=channel, note=note, velocity=90, time=tick - last))
        notes.append(mido.Message("note_off", channel=channel, note=note, velocity=0, time=60))
        last = tick + 60
    midi.tracks += [meta, notes]
    midi.save(path)


def test_type1_with_tempo_change(tmp_path: Path) -> None:
    path = tmp_path / "t1.mid"
    _type1_file(path)
    take = read_take(path)
    assert np.allclose(take.times_s(), [0.0, 0.5, 2.0, 3.5])
    assert [h.voice for h in take.hits] == [Voice.KICK, Voice.SNARE, Voice.KICK, Voice.HIHAT_CLOSED]
    assert np.allclose(take.beatmap.tempo_curve()[1][:6], [120, 120, 120, 120, 60, 60])
    out = write_midi(tmp_path / "out.mid", take)
    assert read_take(out).hits == take.hits
    assert read_chart(out).beatmap == take.beatmap


def test_drum_channel_found_or_chosen(tmp_path: Path) -> None:
    path = tmp_path / "ch3.mid"
    _type1_file(path, channel=2)
    assert len(read_take(path)) == 4  # the only channel, and all its notes are drums
    assert len(read_take(path, channel=3)) == 4
    with pytest.raises(MidiFileError, match="no drum notes on channel 5"):
        read_take(path, channel=5)
    assert read_midi(path).channels() == [2]


def test_write_constant_take_without_beatmap(tmp_path: Path) -> None:
    take = Take((Hit(0.0, "kick", 100), Hit(0.25, "hihat_closed", 60), Hit(0.5, "snare", 110)))
    out = write_midi(tmp_path / "plain.mid", take)
    back = read_take(out)
    assert np.allclose(back.times_s(), take.times_s(), atol=1e-3)
    assert back.beatmap.tempo_bpm == pytest.approx(120.0)
    bm = BeatMap.constant(90.0, 4.0, meter=3)
    out = write_midi(tmp_path / "waltz.mid", take, beatmap=bm)
    assert read_take(out).beatmap.meter == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello, I am a text file", "not a MIDI file"),
        (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x40\x00\x90", "truncated"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(MidiFileError, match=message) as info:
        read_take(path)
    assert str(path) in str(info.value)


def test_missing_and_drumless_and_absurd_tempo(tmp_path: Path) -> None:
    with pytest.raises(MidiFileError, match="no such file"):
        read_take(tmp_path / "nope.mid")
    piano = mido.MidiFile(type=0)
    piano.tracks.append(mido.MidiTrack([
        mido.Message("note_on", channel=0, note=60, velocity=80, time=0),
        mido.Message("note_on", channel=1, note=64, velocity=80, time=0),
        mido.Message("note_off", channel=0, note=60, velocity=0, time=100),
    ]))
    piano.save(tmp_path / "piano.mid")
    with pytest.raises(MidiFileError, match=r"no drum notes on channel 10 \(channels with notes: 1, 2\)"):
        read_take(tmp_path / "piano.mid")
    fast = mido.MidiFile(type=0)
    fast.tracks.append(mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=10000, time=0),
        mido.Message("note_on", channel=9, note=36, velocity=80, time=0),
    ]))
    fast.save(tmp_path / "fast.mid")
    with pytest.raises(MidiFileError, match="absurd tempo 6000.0 BPM"):
        read_take(tmp_path / "fast.mid")
