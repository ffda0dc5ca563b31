"""A take written as MIDI reads back as played, and the file is one any MIDI reader takes.

A silence longer than a delta time holds (2**28 - 1 ticks: 68 minutes at 120 BPM and 32767
ticks per quarter note) was written as a five-byte delta, which mido reads but standard
readers (FluidSynth, DAWs) refuse.
"""

from __future__ import annotations

import mido
import pytest

from drumjam.io.midi import MAX_DELTA_TICKS, read_take, write_midi
from drumjam.model import BeatMap, Hit, Take


def played(take: Take) -> list[tuple[float, str, int]]:
    return [(round(h.time_s, 4), h.voice.value, h.velocity) for h in take.hits]


def deltas(path) -> list[int]:
    return [msg.time for track in mido.MidiFile(path).tracks for msg in track]


def test_a_silence_longer_than_a_delta_time_is_bridged(tmp_path):
    bm = BeatMap.constant(120, 5002)
    take = Take((Hit(1.0, "kick", 100), Hit(5000.0, "snare", 64)), player="p", beatmap=bm)
    path = write_midi(tmp_path / "gap.mid", take, ppq=32767)
    times = deltas(path)
    assert max(times) <= MAX_DELTA_TICKS == 2**28 - 1
    # 4999 s at 120 BPM are 9998 quarters of 32767 ticks: one bridge before the snare, whose
    # note-off ends the track at 10000 quarters and an eighth of one
    assert sum(times) == 10000 * 32767 + 32767 // 8
    tempos = [m.tempo for m in mido.MidiFile(path).tracks[0] if m.type == "set_tempo"]
    assert tempos == [500000, 500000]  # the bridge changes nothing
    back = read_take(path)
    assert played(back) == [(1.0, "kick", 100), (5000.0, "snare", 64)]
    assert back.beatmap.tempo_bpm == pytest.approx(120.0)


def test_a_bridge_repeats_the_tempo_in_force(tmp_path):
    # 75 BPM: a quarter is 800,000 microseconds; the bridge must not fall back to 120 BPM
    bm = BeatMap.constant(75, 7002)
    take = Take((Hit(1.0, "kick", 90), Hit(7000.0, "kick", 90)), player="p", beatmap=bm)
    path = write_midi(tmp_path / "slow.mid", take, ppq=32767)
    assert max(deltas(path)) <= MAX_DELTA_TICKS
    tempos = {m.tempo for m in mido.MidiFile(path).tracks[0] if m.type == "set_tempo"}
    assert tempos == {800000}
    assert [t for t, _, _ in played(read_take(path))] == [1.0, 7000.0]


def test_six_hours_at_the_default_resolution_need_no_bridge(tmp_path):
    bm = BeatMap.constant(400, 21_002)
    take = Take((Hit(0.5, "kick", 1), Hit(21_000.0, "crash", 127)), player="p", beatmap=bm)
    path = write_midi(tmp_path / "long.mid", take)
    assert len([m for m in mido.MidiFile(path).tracks[0] if m.type == "set_tempo"]) == 1
    assert played(read_take(path)) == [(0.5, "kick", 1), (21_000.0, "crash", 127)]


def test_hits_together_or_closer_than_a_tick_are_all_kept(tmp_path):
    bm = BeatMap.constant(120, 8)  # 480 ticks per quarter: a tick is 1.04 ms
    hits = (Hit(1.0, "snare", 100), Hit(1.0, "snare", 60), Hit(2.0, "kick", 127),
            Hit(2.0004, "kick", 1), Hit(3.0, "hihat_closed", 80), Hit(3.0, "kick", 80))
    back = read_take(write_midi(tmp_path / "flams.mid", Take(hits, player="p", beatmap=bm)))
    # the hit 0.4 ms later lands on the same tick; nothing is dropped, every velocity kept
    assert played(back) == [(1.0, "snare", 60), (1.0, "snare", 100), (2.0, "kick", 1),
                            (2.0, "kick", 127), (3.0, "hihat_closed", 80), (3.0, "kick", 80)]
