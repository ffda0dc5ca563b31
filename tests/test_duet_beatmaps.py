"""A duet is measured on one beat map: two copies of it are one, two different maps are refused.

``analyse_duet`` used take A's map whenever neither a chart nor a beat map was given, so a
partner played along another tempo was scored on a grid they never heard, and a partner who
played longer than A's map had their later bars lumped into A's last one.
"""

from __future__ import annotations

import numpy as np
import pytest

from drumjam.errors import InputError
from drumjam.model import BeatMap, Chart, Hit, Take
from drumjam.scoring import analyse_duet
from drumjam.scoring.duet import SAME_BEATS_S, takes_beatmap

LATE_S = 0.012  # Ben plays every note this much after Ana


def on_beats(bm: BeatMap, player: str, late_s: float = 0.0, bars: int | None = None) -> Take:
    """A snare on every beat of ``bars`` bars (default: the whole map), ``late_s`` late."""
    beats = bm.beats_s if bars is None else BeatMap.constant(
        bm.tempo_bpm, bars * bm.meter * 60 / bm.tempo_bpm, bm.meter).beats_s[:-1]
    return Take(tuple(Hit(float(t) + late_s, "snare") for t in beats), player=player, beatmap=bm)


def test_two_copies_of_one_map_are_one_grid() -> None:
    bm = BeatMap.constant(97, 12)
    copy = BeatMap.from_dict(bm.to_dict())  # stored and read back: rounded to the microsecond
    assert not np.array_equal(copy.beats_s, bm.beats_s)
    ana, ben = on_beats(bm, "Ana"), on_beats(copy, "Ben", LATE_S)
    duet = analyse_duet(ana, ben, grid=4)
    assert duet.async_ms.size == bm.beats_s.size
    np.testing.assert_allclose(duet.async_ms, -1000 * LATE_S, atol=0.01)
    assert duet.within_20ms == 1.0
    assert duet.to_dict() == analyse_duet(ana, ben, grid=4, beatmap=bm).to_dict()


def test_the_longer_of_two_runs_of_one_click_is_used_whichever_take_comes_first() -> None:
    """Ana's file holds 4 bars of the click, Ben's 8; both played 8 bars of 4 beats."""
    short, long = BeatMap.constant(120, 8), BeatMap.constant(120, 16)
    ana = Take(on_beats(long, "Ana").hits, player="Ana", beatmap=short)
    ben = on_beats(long, "Ben", LATE_S)
    assert takes_beatmap(ana, ben) is long and takes_beatmap(ben, ana) is long
    for a, b in ((ana, ben), (ben, ana)):
        duet = analyse_duet(a, b, grid=4)
        # each bar on its own: on Ana's short map bars 4-7 were all "bar 4"
        assert [(s.bar, s.pairs) for s in duet.per_bar] == [(bar, 4) for bar in range(8)] + [(8, 1)]
    assert analyse_duet(ana, ben, grid=4).mean_async_ms == pytest.approx(-1000 * LATE_S)


def test_a_take_without_a_map_plays_along_its_partners() -> None:
    bm = BeatMap.constant(110, 8)
    bare = Take(on_beats(bm, "Ben", LATE_S).hits, player="Ben")
    assert takes_beatmap(on_beats(bm, "Ana"), bare) is bm
    assert takes_beatmap(bare, on_beats(bm, "Ana")) is bm
    assert takes_beatmap(bare, bare) is None
    duet = analyse_duet(bare, on_beats(bm, "Ana"), grid=4)
    assert duet.mean_async_ms == pytest.approx(1000 * LATE_S)


@pytest.mark.parametrize("other, words", [
    # 4 bars each: beat k at 0.5 k s against 0.6 k s, so the last is 1.6 s off
    (BeatMap.constant(100, 8), ("17 beats at 120 BPM in 4/4 against 17 beats at 100 BPM in 4/4",
                                "16 of their first 17 beats differ, by up to 1600 ms")),
    (BeatMap.constant(120, 8, meter=3), ("against 19 beats at 120 BPM in 3/4",
                                         "their beats agree but their bars do not")),
    (BeatMap.from_beats(BeatMap.constant(120, 8).beats_s, 4, 1),
     ("against 17 beats at 120 BPM in 4/4", "their beats agree but their bars do not")),
    (BeatMap.constant(120, 8).shifted(0.005),
     ("17 of their first 17 beats differ, by up to 5 ms",)),
])
def test_takes_played_along_different_maps_are_refused(other: BeatMap, words) -> None:
    bm = BeatMap.constant(120, 8)
    ana, ben = on_beats(bm, "Ana"), on_beats(other, "Ben")
    with pytest.raises(InputError) as err:
        analyse_duet(ana, ben, grid=4)
    message = str(err.value)
    assert isinstance(err.value, ValueError)
    assert message.startswith("takes 'Ana' and 'Ben' were played along different beat maps (")
    assert "a duet is measured on one grid: give the chart or beat map" in message
    for word in words:
        assert word in message, (word, message)


def test_a_map_a_little_under_the_tolerance_apart_is_the_same_grid() -> None:
    bm = BeatMap.constant(120, 8)
    near = bm.shifted(0.5 * SAME_BEATS_S)
    assert takes_beatmap(on_beats(bm, "Ana"), on_beats(near, "Ben")) is bm
    with pytest.raises(InputError, match="by up to 2 ms"):
        takes_beatmap(on_beats(bm, "Ana"), on_beats(bm.shifted(2 * SAME_BEATS_S), "Ben"))


def test_a_given_beat_map_or_chart_measures_takes_on_different_maps() -> None:
    """The caller names the grid (a live session passes its practice map): the takes' own
    maps are not compared, and the given one is used."""
    bm, other = BeatMap.constant(120, 8), BeatMap.constant(90, 8)
    ana, ben = on_beats(bm, "Ana"), Take(on_beats(bm, "Ben", LATE_S).hits, "Ben", other)
    duet = analyse_duet(ana, ben, grid=4, beatmap=bm)
    assert duet.async_ms.size == bm.beats_s.size
    assert duet.mean_async_ms == pytest.approx(-1000 * LATE_S)
    chart = Chart.from_grid(bm, 4, ["snare"])
    by_chart = analyse_duet(ana, ben, chart)
    assert by_chart.mean_async_ms == pytest.approx(-1000 * LATE_S)
    assert by_chart.players[0].to_dict()["missed"] == 0


def test_two_takes_too_many_together_are_refused_as_a_duet_not_as_one_take(monkeypatch) -> None:
    import drumjam.scoring.duet as duet

    monkeypatch.setattr(duet, "MAX_EVENTS", 10)
    bm = BeatMap.constant(120.0, 8.0)
    a = Take(tuple(Hit(t, "snare") for t in bm.beats_s[:6]), player="Ana", beatmap=bm)
    b = Take(tuple(Hit(t + 0.01, "snare") for t in bm.beats_s[:6]), player="Ben", beatmap=bm)
    with pytest.raises(InputError, match="the two takes hold 6 and 6 hits, more than the 10 a duet"):
        analyse_duet(a, b)
    assert analyse_duet(a, Take(b.hits[:4], player="Ben", beatmap=bm)).to_dict()["sync"]["pairs"] == 4
