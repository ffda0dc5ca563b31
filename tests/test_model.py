"""Beat maps, voices and kit maps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drumjam.errors import FileFormatError, InputError
from drumjam.model import (
    ALESIS,
    GENERAL_MIDI,
    ROLAND_TD,
    YAMAHA_DTX,
    BeatMap,
    Chart,
    Hit,
    Note,
    Take,
    Voice,
    VoiceGroup,
    get_kit_map,
    load_kit_map,
    voice_group,
)
from drumjam.model.beatmap import MIN_TEMPO_BPM


def test_tempo_of_played_beats_is_their_pulse() -> None:
    """64 beats at 120 BPM, each played early or late by 10 ms (SD): the tempo is read to
    0.1 % (RMS over 200 takes; the median of single intervals is off by 0.25 %)."""
    rng = np.random.default_rng(5)
    errors = [BeatMap.from_beats(1.0 + 0.5 * np.arange(64) + rng.normal(0.0, 0.01, 64)).tempo_bpm / 120.0 - 1.0
              for _ in range(200)]
    assert np.sqrt(np.mean(np.square(errors))) < 0.001


def test_constant_beatmap_converts_both_ways() -> None:
    bm = BeatMap.constant(120.0, 10.0, meter=4)
    assert bm.tempo_bpm == pytest.approx(120.0)
    assert np.allclose(bm.to_beats([0.0, 0.25, 1.0]), [0.0, 0.5, 2.0])
    # beyond both ends the nearest period extrapolates
    assert bm.to_beats(-0.5) == pytest.approx(-1.0)
    assert bm.to_beats(bm.end_s + 1.0) == pytest.approx(len(bm.beats_s) - 1 + 2.0)
    x = np.linspace(-3, 30, 97)
    assert np.allclose(bm.to_beats(bm.to_seconds(x)), x)


def test_tempo_change_and_bars() -> None:
    # 4 beats at 120 BPM, then 4 beats at 60 BPM
    beats = np.concatenate([np.arange(5) * 0.5, 2.0 + np.arange(1, 5) * 1.0])
    bm = BeatMap.from_beats(beats, meter=4)
    assert np.allclose(bm.tempo_curve()[1], [120] * 4 + [60] * 4)
    assert bm.to_seconds(6.5) == pytest.approx(4.5)
    assert list(bm.bar_index([0.1, 1.5, 2.1, 5.5])) == [0, 0, 1, 1]
    # an early hit on "one" counts in the new bar
    assert bm.bar_index(1.97) == 1


def test_grid_positions() -> None:
    bm = BeatMap.constant(100.0, 4 * 2.4, meter=4)
    assert bm.grid(16).size == 4 * 4 * 4 + 1
    triplets = bm.grid(12)
    assert np.allclose(np.diff(triplets), 0.6 / 3)
    with pytest.raises(InputError, match="subdivision 7"):
        bm.grid(7)


@pytest.mark.parametrize(
    ("beats", "message"),
    [
        ([0.0, 0.5, 0.4, 1.0], "increase"),
        ([0.0, 0.01, 0.02], "absurd tempo"),
        ([0.0, 500.0, 1000.0], "absurd tempo"),
        ([0.0, 500_000.0], "milliseconds or samples"),
        ([0.0], "at least two"),
    ],
)
def test_beatmap_rejects_bad_beats(beats: list[float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        BeatMap.from_beats(beats)


def test_scaled_chart_keeps_positions() -> None:
    bm = BeatMap.constant(120.0, 4.0)
    chart = Chart((Note(0.5, "snare"), Note(1.25, "kick")), bm)
    slow = chart.scaled(0.5)
    assert slow.beatmap.tempo_bpm == pytest.approx(60.0)
    assert np.allclose(slow.notes_beats(), chart.notes_beats())
    assert [n.time_s for n in slow.notes] == [1.0, 2.5]


def test_take_sorts_and_validates() -> None:
    take = Take((Hit(1.0, "snare"), Hit(0.5, "kick")))
    assert [h.voice for h in take.hits] == [Voice.KICK, Voice.SNARE]
    with pytest.raises(InputError, match="unknown drum voice 'cowbel'"):
        Hit(0.0, "cowbel")
    with pytest.raises(InputError, match="velocity 200"):
        Hit(0.0, "kick", 200)


def test_voice_groups() -> None:
    assert voice_group("hihat_open") == voice_group(Voice.HIHAT_CLOSED) == VoiceGroup.HIHAT
    assert voice_group("hihat_pedal") == VoiceGroup.HIHAT_PEDAL
    assert voice_group("snare_rim") == VoiceGroup.SNARE


def test_roland_td_map_matches_groove_midi_table() -> None:
    expected = {
        36: "kick", 38: "snare", 40: "snare_rim", 37: "side_stick", 48: "tom_high",
        50: "tom_high", 45: "tom_mid", 47: "tom_mid", 43: "tom_floor", 58: "tom_floor",
        46: "hihat_open", 26: "hihat_open", 42: "hihat_closed", 22: "hihat_closed",
        44: "hihat_pedal", 49: "crash", 55: "crash", 57: "crash", 52: "crash", 51: "ride",
        59: "ride", 53: "ride_bell",
    }
    assert {n: v.value for n, v in ROLAND_TD.notes.items()} == expected
    # openness from CC4: 127 is closed on these modules
    assert ROLAND_TD.openness(127) == 0.0 and ROLAND_TD.openness(0) == 1.0


def test_vendor_maps_cover_the_basic_kit() -> None:
    for kit in (GENERAL_MIDI, ALESIS, YAMAHA_DTX):
        voices = set(kit.notes.values())
        assert {Voice.KICK, Voice.SNARE, Voice.HIHAT_CLOSED, Voice.HIHAT_OPEN, Voice.CRASH,
                Voice.RIDE, Voice.TOM_HIGH, Voice.TOM_FLOOR} <= voices
        assert kit.voice_of(36) == Voice.KICK
    assert get_kit_map("yamaha") is YAMAHA_DTX


def test_user_kit_map_json(tmp_path) -> None:
    path = tmp_path / "mykit.json"
    path.write_text(json.dumps({"name": "mine", "notes": {"60": "kick", "61": "snare"}}))
    kit = load_kit_map(path)
    assert kit.voice_of(60) == Voice.KICK and kit.voice_of(36) is None
    assert get_kit_map(str(path)).notes == kit.notes
    assert load_kit_map(path).to_dict()["notes"] == {"60": "kick", "61": "snare"}
    path.write_text('{"notes": {"60": "kik"}}')
    with pytest.raises(FileFormatError, match="unknown drum voice 'kik'"):
        load_kit_map(path)
    path.write_text("{not json")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_kit_map(path)
    path.write_text('{"notes": {"300": "kick"}}')
    with pytest.raises(FileFormatError, match="outside 0-127"):
        load_kit_map(path)


def test_beatmap_corrections_for_a_misread_song() -> None:
    """What a drummer fixes by ear: "one" on the wrong beat, another metre, half or double
    tempo."""
    truth = BeatMap.constant(120.0, 8.0, meter=4, start_s=0.25)  # 0.5 s beats, bars of 2 s
    late_one = BeatMap.from_beats(truth.beats_s, 4, first_downbeat_index=1)
    assert late_one.first_downbeat_index == 1
    assert late_one.rebarred(downbeat_shift=-1) == truth
    assert late_one.rebarred(downbeat_shift=3) == truth
    waltz = truth.rebarred(meter=3)
    assert waltz.meter == 3 and np.allclose(np.diff(waltz.downbeats_s), 1.5)

    half = BeatMap.from_beats(truth.beats_s[::2], 4)  # read at 60 BPM: bars twice too long
    doubled = half.doubled()
    assert doubled.tempo_bpm == pytest.approx(120.0)
    assert np.allclose(doubled.beats_s, truth.beats_s[: doubled.beats_s.size])
    assert np.allclose(doubled.downbeats_s, truth.downbeats_s[: doubled.downbeats_s.size])

    double = BeatMap.from_beats(np.arange(0.25, 8.3, 0.25), 4, first_downbeat_index=2)
    halved = double.halved()
    assert halved.tempo_bpm == pytest.approx(120.0)
    assert halved.downbeats_s[0] == pytest.approx(0.75) and halved.beats_s[0] == pytest.approx(0.25)
    assert double.halved(keep_downbeats=False).beats_s[0] == pytest.approx(0.5)
    with pytest.raises(InputError, match="absurd tempo"):
        BeatMap.constant(MIN_TEMPO_BPM + 1, 20.0).halved()


def test_beatmap_moved_earlier_loses_the_beats_before_zero() -> None:
    bm = BeatMap.constant(120.0, 4.0, start_s=0.2)
    earlier = bm.shifted(-0.3)
    assert earlier.beats_s[0] == pytest.approx(0.4) and earlier.beats_s.size == bm.beats_s.size - 1
    assert earlier.downbeats_s[0] == pytest.approx(1.9)
    assert bm.shifted(0.3).shifted(-0.3) == bm


def test_ghost_heavy_snare_has_its_ghost_notes_and_backbeat_accents() -> None:
    """A funk snare: two backbeats and six ghost notes a bar. Judged against the median
    (the ghosts), the ghosts would pass for normal notes; against the full strokes they are
    ghosts and the backbeats accents. An evenly played voice has neither."""
    from drumjam.model.dynamics import dynamic_marks

    bar = [115, 38, 42, 120, 35, 40, 44, 36]
    accents, ghosts = dynamic_marks(np.array(bar * 4))
    assert accents.sum() == 8 and ghosts.sum() == 24
    even_accents, even_ghosts = dynamic_marks(np.array([96, 100, 98, 101] * 4))
    assert not even_accents.any() and not even_ghosts.any()
