"""Live sessions, practice plans, calibration and saved sessions (no server)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.exc import IntegrityError

from drumjam.errors import InputError
from drumjam.io.midi import read_take
from drumjam.model import BeatMap, Chart, Hit, Note, Take
from drumjam.scoring import analyse_duet, score_take
from drumjam.session.calibration import measure_latency
from drumjam.session.live import LiveSession, Player, clean_name
from drumjam.session.practice import Practice, plan_practice
from drumjam.library import SongLibrary, SongRow, builtin_dir, builtin_specs
from drumjam.store.db import session_scope
from drumjam.store.sessions import get_session, list_sessions, save_session

EVAL = "drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid"
EVAL_B = "drummer5/eval_session/1_funk-groove1_138_beat_4-4.mid"


def _chart(groove_midi, path=EVAL):
    take = read_take(groove_midi / path)
    from drumjam.scoring import quantize_take

    return take, quantize_take(take, take.beatmap, 16)


def test_live_session_equals_offline_scoring_of_recorded_takes(groove_midi):
    """Two real drummers' takes fed hit by hit give the offline scores and duet exactly."""
    take_a, chart = _chart(groove_midi)
    take_b = read_take(groove_midi / EVAL_B)
    session = LiveSession([Player("A", 12.0), Player("B", -7.0)], chart.beatmap, chart)
    merged = sorted([(h.time_s + 0.012, 0, h) for h in take_a.hits]
                    + [(h.time_s - 0.007, 1, h) for h in take_b.hits], key=lambda x: x[0])
    for t, player, h in merged:
        session.add_hit(player, Hit(t, h.voice, h.velocity, h.hihat_openness))
    result = session.finish()
    recorded = session.takes()
    # latency removed: the recorded takes are the original hits
    assert np.allclose(recorded[0].times_s(), take_a.times_s(), atol=1e-9)
    assert np.allclose(recorded[1].times_s(), take_b.times_s(), atol=1e-9)
    for live, take in zip(result.scores, recorded):
        assert live.to_dict(with_hits=True) == score_take(take, chart).to_dict(with_hits=True)
    offline_duet = analyse_duet(recorded[0], recorded[1], chart)
    assert result.duet.to_dict() == offline_duet.to_dict()
    assert result.summary == offline_duet.summary


def test_live_session_on_grid_and_running_figures():
    bm = BeatMap.constant(120, 8)
    session = LiveSession([Player("solo", 30.0)], bm, None, grid=8)
    first = session.add_hit(0, Hit(0.5 + 0.030 + 0.010, "snare"))
    assert first.offset_ms == pytest.approx(10.0)
    session.add_hit(0, Hit(1.0 + 0.030 - 0.020, "kick"))
    running = session.running(0)
    assert running["hits"] == 2 and running["mean_abs_offset_ms"] == pytest.approx(15.0)
    result = session.finish()
    assert result.scores[0].to_dict()["mode"] == "grid"
    assert "solo" in result.summary
    with pytest.raises(InputError, match="finished"):
        session.add_hit(0, Hit(2.0, "kick"))


def test_silent_partner_leaves_a_solo_result_and_nobody_is_an_error():
    bm = BeatMap.constant(100, 6)
    chart = Chart.from_grid(bm, 4, ["kick"])
    session = LiveSession([Player("A"), Player("B")], bm, chart)
    session.add_hit(0, Hit(0.61, "kick"))
    result = session.finish()
    assert [p.name for p in result.players] == ["A"] and result.duet is None
    assert "B played no hits" in result.summary
    with pytest.raises(InputError, match="nobody played"):
        LiveSession([Player("A")], bm, chart).finish()


def test_player_checks():
    assert clean_name("  <b>Ann</b>\x07 ", "x") == "<b>Ann</b>"
    assert clean_name("", "Player 2") == "Player 2"
    assert len(clean_name("n" * 300, "x")) == 40
    with pytest.raises(InputError, match="latency"):
        Player("A", 900)
    with pytest.raises(InputError, match="player 5"):
        LiveSession([Player("A")], BeatMap.constant(100, 4)).add_hit(5, Hit(0.1, "kick"))


def test_practice_speed_and_loop(tmp_path):
    song = SongLibrary(tmp_path).get("slow-funk")
    bar_s = 4 * 60 / 80
    slow = plan_practice(song.chart, song.beatmap, Practice(speed=0.5))
    assert slow.lead_in_s == pytest.approx(2 * bar_s)  # one bar at half speed
    assert slow.chart.times_s() == pytest.approx(song.chart.times_s() * 2 + 2 * bar_s)
    assert slow.beatmap.tempo_bpm == pytest.approx(40.0)
    assert slow.beatmap.start_s == pytest.approx(2 * bar_s)
    loop = plan_practice(song.chart, song.beatmap, Practice(speed=1.0, loop_bars=(2, 3), repeats=3))
    assert loop.lead_in_s == pytest.approx(bar_s)
    assert loop.audio_start_s == pytest.approx(2 * bar_s) and loop.audio_end_s == pytest.approx(4 * bar_s)
    assert loop.duration_s == pytest.approx(bar_s + 3 * 2 * bar_s)
    times = song.chart.times_s()
    section = times[(times >= 2 * bar_s - 1e-6) & (times < 4 * bar_s - 1e-6)]
    assert section.size > 10 and len(loop.chart) == 3 * section.size
    third_pass = loop.chart.times_s()[2 * section.size:]
    assert third_pass == pytest.approx(bar_s + section - 2 * bar_s + 2 * 2 * bar_s)
    assert loop.beatmap.downbeats_s.size == 3 * 2 + 1
    with pytest.raises(InputError, match="last bar"):
        plan_practice(song.chart, song.beatmap, Practice(loop_bars=(6, 8)))
    with pytest.raises(InputError, match="range"):
        Practice(loop_bars=(3, 1))


def test_measure_latency_finds_the_offset_despite_stray_taps():
    clicks = np.arange(16) * 0.6
    rng = np.random.default_rng(3)
    taps = clicks[2:] + 0.047 + rng.normal(0, 0.004, 14)
    taps = np.concatenate([taps, [0.33, 5.01]])  # two stray taps
    measured = measure_latency(clicks, taps)
    assert measured.latency_ms == pytest.approx(47.0, abs=3.0)
    assert measured.matched >= 14
    with pytest.raises(InputError, match="taps"):
        measure_latency(clicks, [0.05, 0.65])


def test_saving_never_loses_an_earlier_session(db_url):
    url = db_url
    common = {"song_id": "s", "practice": {}, "beatmap": {}, "chart": {}, "takes": [[]], "url": url}
    first = save_session(song_title="first", players=[{"name": "A"}], results={"summary": "one"}, **common)
    with pytest.raises(IntegrityError):
        save_session(song_title=None, players=[{"name": "B"}], results={"summary": "x"}, **common)
    second = save_session(song_title="second", players=[{"name": "C"}], results={"summary": "two"}, **common)
    assert second > first
    assert [s["song_title"] for s in list_sessions(url=url)] == ["second", "first"]
    assert get_session(first, url=url)["results"] == {"summary": "one"}


def test_builtin_charts_sit_on_their_grid_and_credit_unchanged_grooves(tmp_path, groove_midi):
    library = SongLibrary(tmp_path)
    for spec in builtin_specs():
        song = library.get(spec["id"])
        grid = song.beatmap.grid(spec["grid"])
        distance = np.abs(song.chart.times_s()[:, None] - grid[None, :]).min(axis=1)
        assert distance.max() < 1e-3, spec["id"]
        assert song.chart.duration_s < song.beatmap.end_s
        source = groove_midi / spec["groove"]
        copied = builtin_dir() / "grooves" / source.name
        assert copied.read_bytes() == source.read_bytes()
        # the chart is the groove: most of the drummer's hits in those bars land on a chart note
        take = read_take(source)
        start = take.beatmap.downbeats_s[spec["first_bar"]]
        end = take.beatmap.downbeats_s[spec["first_bar"] + spec["bars"]]
        hits = [Hit(h.time_s - start + 0.2, h.voice, h.velocity) for h in take.hits
                if start <= h.time_s < end - 0.05]
        chart = Chart(tuple(Note(n.time_s + 0.2, n.voice, n.velocity) for n in song.chart.notes),
                      song.beatmap.shifted(0.2))
        score = score_take(Take(tuple(hits), beatmap=chart.beatmap), chart).to_dict()
        assert score["matched"] >= 0.9 * len(hits), spec["id"]


def test_perfectly_steady_duet_is_still_saved_with_both_scores(tmp_path):
    """Constant offsets say nothing about who follows whom: the duet has its asynchrony but no
    phase-correction gains, and both players' scores are kept."""
    song = SongLibrary(tmp_path).get("slow-funk")
    session = LiveSession([Player("A"), Player("B")], song.beatmap, song.chart)
    for note in song.chart.notes[:40]:
        session.add_hit(0, Hit(note.time_s + 0.012, note.voice))
        session.add_hit(1, Hit(note.time_s, note.voice))
    result = session.finish()
    assert [s.to_dict()["mean_offset_ms"] for s in result.scores] == [pytest.approx(12.0), pytest.approx(0.0)]
    assert result.duet is not None and result.duet.alpha == (None, None)
    assert result.duet.mean_async_ms == pytest.approx(12.0)
    assert "A played 12 ms behind B" in result.summary


def test_a_damaged_added_song_does_not_hide_the_library(tmp_path):
    with session_scope() as db:  # a song whose folder was removed by hand
        db.add(SongRow(id="abc123", title="gone", kind="midi", audio="backing.ogg",
                       chart="source.mid", grid=16, source_name="gone.mid"))
    songs = SongLibrary(tmp_path).list()
    assert len(songs) == len(builtin_specs()) and all(s.builtin for s in songs)
