"""Rooms: join codes, hits kept once, calibration removed, duet and single-player results."""

import numpy as np
import pytest
from room_support import groove_song

from drumjam.model import Chart
from drumjam.session.rooms import Room, RoomError, RoomNotFoundError, RoomRegistry


def play(room: Room, seat, chart: Chart, shift_s, latency_s: float = 0.0):
    """Send every note of the chart as a hit, ``shift_s`` late (a number or one per note),
    on the song's timeline."""
    shifts = np.broadcast_to(np.asarray(shift_s, dtype=float), (len(chart),))
    timed = sorted(((n.time_s + d + latency_s, n) for n, d in zip(chart.notes, shifts)),
                   key=lambda pair: pair[0])
    return [room.add_hit(seat, i, t, n.voice, n.velocity) for i, (t, n) in enumerate(timed)]


@pytest.fixture(scope="module")
def song():
    return groove_song()


def test_codes_are_unguessable_and_only_the_code_finds_the_room(song):
    reg = RoomRegistry()
    rooms = [reg.create(song, f"host{i}", 0.0) for i in range(50)]
    codes = {r.code for r in rooms}
    assert len(codes) == 50 and all(len(c) >= 16 for c in codes)
    assert reg.get(rooms[7].code) is rooms[7]
    with pytest.raises(RoomNotFoundError):
        reg.get(rooms[7].code[:-1] + ("A" if rooms[7].code[-1] != "A" else "B"))
    with pytest.raises(RoomNotFoundError):
        reg.get("")


def test_third_player_and_late_joiner_are_refused(song):
    room = Room(song, "Ana", 0.0)
    room.join("Bo")
    with pytest.raises(RoomError, match="two players"):
        room.join("Cy")
    room2 = Room(song, "Ana", 0.0)
    room2.start(1.0)
    with pytest.raises(RoomError, match="started"):
        room2.join("Bo")


def test_tokens_identify_seats(song):
    room = Room(song, "Ana", 0.0)
    b = room.join("Bo")
    assert room.seat_for(b.token) is b
    assert room.seat_for(room.seats[0].token) is room.seats[0]
    assert room.seat_for(b.token + "x") is None
    assert room.seat_for(room.code) is None


def test_duet_asynchrony_and_calibration_on_the_shared_timeline(song):
    room = Room(song, "Ana", 100.0)
    a, b = room.seats[0], room.join("Bo")
    # Bo's kit is 25 ms slow (calibrated) and Bo plays 12 ms behind Ana
    room.configure(b, calibration_ms=25.0)
    # Ana hears her backing track 8 ms late to meet Bo in the middle, so she plays 8 ms later
    room.configure(a, track_delay_ms=8.0)
    for s in (a, b):
        room.set_connected(s, True)
    room.start(now_s=101.0)
    assert room.start_s == pytest.approx(104.0)
    rng = np.random.default_rng(3)
    jitter_a = rng.normal(0.0, 0.004, len(song.chart))
    jitter_b = rng.normal(0.012, 0.004, len(song.chart))
    play(room, a, song.chart, jitter_a, latency_s=0.008)
    acks = play(room, b, song.chart, jitter_b, latency_s=0.025)
    assert all(not ack.duplicate for ack in acks)
    # provisional verdicts already have Bo's 25 ms removed
    late_ms = [ack.result.offset_ms for ack in acks if ack.result.offset_ms is not None]
    assert np.median(late_ms) == pytest.approx(12.0, abs=1.5)
    result = room.finish(now_s=200.0)
    assert result["mode"] == "duet"
    expected_ms = 1e3 * float(np.mean(jitter_a - jitter_b))
    assert result["duet"]["sync"]["mean_async_ms"] == pytest.approx(expected_ms, abs=0.01)
    assert [p["seat"] for p in result["players"]] == ["A", "B"]
    assert result["players"][1]["score"]["matched"] == len(song.chart)
    assert result["players"][1]["score"]["mean_offset_ms"] == pytest.approx(1e3 * jitter_b.mean(), abs=0.01)
    assert room.state == "ended"
    with pytest.raises(RoomError, match="ended"):
        room.add_hit(a, 10_000, 1.0, "snare")


def test_resent_hits_are_kept_once(song):
    room = Room(song, "Ana", 0.0)
    a = room.seats[0]
    room.set_connected(a, True)
    room.start(0.0)
    notes = song.chart.notes
    half = len(notes) // 2
    first = [room.add_hit(a, i, n.time_s, n.voice) for i, n in enumerate(notes[:half])]
    # reconnect: the client did not see the last 5 acks and sends them again with the rest
    again = [room.add_hit(a, i, notes[i].time_s, notes[i].voice)
             for i in range(half - 5, len(notes))]
    assert not any(x.duplicate for x in first)
    assert [x.duplicate for x in again[:5]] == [True] * 5
    assert not any(x.duplicate for x in again[5:])
    assert len(room.takes_hits(a)) == len(notes)
    result = room.finish(1000.0)
    assert result["mode"] == "single"
    assert result["players"][0]["score"]["matched"] == len(notes)
    assert result["players"][0]["score"]["extra"] == 0


def test_partner_who_never_comes_back_is_scored_up_to_where_they_left(song):
    room = Room(song, "Ana", 0.0)
    a, b = room.seats[0], room.join("Bo")
    room.set_connected(a, True)
    room.set_connected(b, True)
    room.start(0.0)
    play(room, a, song.chart, 0.004)
    # Bo plays the first bar, then the connection drops for good: his bar is kept
    bar_end = song.chart.beatmap.downbeats_s[1]
    first_bar = Chart(tuple(n for n in song.chart.notes if n.time_s < bar_end), song.chart.beatmap)
    play(room, b, first_bar, 0.0)
    room.set_connected(b, False)
    result = room.finish(100.0)
    assert result["mode"] == "duet"
    assert result["absent"] == ["Bo"]
    ana, bo = result["players"]
    assert ana["name"] == "Ana" and ana["score"]["matched"] == len(song.chart)
    assert ana["score"]["mean_offset_ms"] == pytest.approx(4.0, abs=1e-3)
    assert bo["score"]["matched"] == len(first_bar) and "left_at_s" in bo


def test_hits_outside_the_song_and_bad_values(song):
    room = Room(song, "Ana", 0.0)
    a = room.seats[0]
    with pytest.raises(RoomError, match="not started"):
        room.add_hit(a, 0, 1.0, "snare")
    room.start(0.0)
    count_in = room.add_hit(a, 0, -2.0, "hihat_closed")
    assert count_in.result is None and not count_in.duplicate
    assert room.takes_hits(a) == []
    for bad_seq in (-1, 1.5, "3", True):
        with pytest.raises(RoomError, match="sequence"):
            room.add_hit(a, bad_seq, 0.0, "snare")
    with pytest.raises(RoomError, match="not finite"):
        room.add_hit(a, 5, float("nan"), "snare")
    with pytest.raises(RoomError, match="fixed once"):
        room.configure(a, calibration_ms=10)
    fresh = Room(song, "Ana", 0.0)
    with pytest.raises(RoomError, match="out of range"):
        fresh.configure(fresh.seats[0], calibration_ms=5000)


def test_registry_forgets_ended_and_idle_rooms(song):
    reg = RoomRegistry(max_rooms=2)
    r1 = reg.create(song, "a", 0.0)
    reg.create(song, "b", 0.0)
    with pytest.raises(RoomError, match="rooms are open"):
        reg.create(song, "c", 1.0)
    r1.set_connected(r1.seats[0], True)
    r1.start(1.0)
    assert r1.finish(10.0)["mode"] == "empty"
    reg.sweep(10.0 + 60)
    assert reg.get(r1.code) is r1  # the result stays readable for a while
    reg.sweep(10.0 + 16 * 60)
    with pytest.raises(RoomNotFoundError):
        reg.get(r1.code)
    reg.sweep(3 * 3600.0)
    assert len(reg) == 0


def test_a_hit_before_the_start_is_early_never_clamped_or_dropped(song):
    room = Room(song, "Ana", 0.0)
    room.join("Bo")
    ana, bo = room.seats
    room.configure(ana, calibration_ms=30.0)
    for seat in (ana, bo):
        room.set_connected(seat, True)
    room.start(0.0)
    first = song.chart.notes[0]
    assert 0.0 < first.time_s < 0.030
    # heard 10 ms before the first note on Ana's slow kit (30 ms): played 40 ms before it,
    # before the song's start: scored 40 ms early
    early = room.add_hit(ana, 999, first.time_s - 0.010, first.voice.value)
    assert early.result.time_s - early.song_start_s < 0
    assert early.result.offset_ms == pytest.approx(-40.0, abs=1e-6)
    assert early.to_dict()["target_time_s"] == pytest.approx(first.time_s, abs=1e-6)
    # Bo, uncalibrated, 30 ms early on the first note
    assert room.add_hit(bo, 0, first.time_s - 0.030, first.voice.value).result.offset_ms == pytest.approx(-30.0)
    # a tap a whole beat before the start is the count-in: acknowledged, not part of the take
    tap = room.add_hit(bo, 1, -0.6, "hihat_closed")
    assert tap.result is None and not tap.duplicate and len(room.takes_hits(bo)) == 1
    rest = Chart(song.chart.notes[1:20], song.chart.beatmap)
    play(room, ana, rest, 0.0, latency_s=0.030)
    result = room.finish(100.0)
    assert result["mode"] == "duet"
    ana_score = result["players"][0]["score"]
    assert ana_score["matched"] == 20 and ana_score["extra"] == 0
    offsets = sorted(h["offset_ms"] for h in ana_score["hits"] if h["offset_ms"] is not None)
    assert offsets[0] == pytest.approx(-40.0, abs=1e-6)
    assert result["players"][1]["score"]["mean_offset_ms"] == pytest.approx(-30.0)
