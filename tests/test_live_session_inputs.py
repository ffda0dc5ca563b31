"""A live session refuses what it cannot keep when it is given, and stays finishable."""

from __future__ import annotations

import numpy as np
import pytest

from drumjam.errors import InputError
from drumjam.model import BeatMap, Chart, Hit, Note
from drumjam.session.live import COUNT_IN_GRACE_S, LiveSession, Player

BM = BeatMap.constant(120, 8)


def test_a_hit_before_the_timeline_s_start_is_refused_and_the_session_still_finishes() -> None:
    chart = Chart((Note(0.0, "kick"), Note(0.5, "snare")), BM)
    session = LiveSession([Player("Ann", latency_ms=50)], BM, chart)
    with pytest.raises(InputError, match=r"-0.030 s .latency removed. falls before the timeline"):
        session.add_hit(0, Hit(0.02, "kick"))
    session.add_hit(0, Hit(0.56, "snare"))  # 10 ms late once the 50 ms are removed
    score = session.finish().to_dict()["players"][0]["score"]
    assert (score["matched"], score["missed"]) == (1, 1)
    assert score["mean_offset_ms"] == pytest.approx(10.0)
    # with a lead-in, the same early first note is played and scored
    lead = COUNT_IN_GRACE_S
    shifted = Chart((Note(lead, "kick"),), BeatMap.constant(120, 8, start_s=lead))
    session = LiveSession([Player("Ann", latency_ms=50)], shifted.beatmap, shifted, start_s=lead)
    assert session.add_hit(0, Hit(lead + 0.02, "kick")).offset_ms == pytest.approx(-30.0)
    assert session.finish().to_dict()["players"][0]["score"]["matched"] == 1


def test_players_grids_and_stops_are_checked_when_given() -> None:
    with pytest.raises(InputError, match="Player.name, latency_ms. objects"):
        LiveSession(["Ann", "Bob"], BM)  # type: ignore[list-item]
    with pytest.raises(InputError, match="grid subdivision 3 is not one of"):
        LiveSession([Player("Ann")], BM, grid=3)
    duo = LiveSession([Player("Ann"), Player("Bob")], BM)
    assert duo.add_hit(np.int64(1), Hit(0.5, "kick")).offset_ms == pytest.approx(0.0)
    for bad in (True, -1, 2, 1.0):
        with pytest.raises(InputError, match="does not exist; use 0-1"):
            duo.add_hit(bad, Hit(0.5, "kick"))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="does not exist"):
        duo.running(-1)
    for stop in (-5.0, float("nan")):
        with pytest.raises(InputError, match="is not a time on the timeline"):
            duo.finish(stop_s=stop)
    assert duo.finish().to_dict()["players"][0]["name"] == "Bob"


def test_a_grid_session_scores_hits_an_hour_past_its_beat_map_as_offline() -> None:
    session = LiveSession([Player("Ann")], BM, grid=16)
    session.add_hit(0, Hit(1.01, "snare"))
    late = session.add_hit(0, Hit(3600.0 + 0.51, "kick"))  # an hour after an 8 s beat map
    assert late.offset_ms == pytest.approx(10.0)
    score = session.finish().to_dict()["players"][0]["score"]
    assert (score["matched"], score["extra"]) == (2, 0)
    assert score["mean_offset_ms"] == pytest.approx(10.0)


def test_a_take_at_its_most_hits_says_how_to_play_on_and_keeps_every_hit(monkeypatch) -> None:
    import drumjam.session.live as live

    monkeypatch.setattr(live, "MAX_HITS_PER_PLAYER", 3)
    session = LiveSession([Player("Ann")], BM, grid=16)
    for t in (1.0, 1.5, 2.0):
        session.add_hit(0, Hit(t + 0.01, "snare"))
    with pytest.raises(InputError, match="the most a take holds; finish this session"):
        session.add_hit(0, Hit(2.51, "snare"))
    score = session.finish().to_dict()["players"][0]["score"]
    assert (score["matched"], score["extra"]) == (3, 0)


def test_the_most_hits_a_take_holds_covers_two_hours_of_sixteenths_at_200_bpm() -> None:
    from drumjam.limits import MAX_AUDIO_DURATION_S
    from drumjam.session.live import MAX_HITS_PER_PLAYER

    assert MAX_HITS_PER_PLAYER >= MAX_AUDIO_DURATION_S * 200 / 60 * 4
