"""Where a stopped session stopped, in its summary, on a beat map without downbeats.

The bar was counted from the downbeats alone, so on a map with none every early stop was
'bar 0'; the bars are now those of the map's metre from its first beat (as
:meth:`drumjam.model.BeatMap.bar_index` counts them).
"""

from __future__ import annotations

import numpy as np
import pytest

from drumjam.model import BeatMap, Chart, Hit, Note
from drumjam.session.live import LiveSession, Player

NOTES = (Note(1.0, "kick"), Note(2.0, "snare"), Note(6.5, "kick"))


def stopped(bm: BeatMap, stop_s: float) -> str:
    live = LiveSession([Player("Ann")], bm, Chart(NOTES, bm))
    live.add_hit(0, Hit(1.0, "kick"))
    return live.finish(stop_s=stop_s).summary


@pytest.mark.parametrize(("stop_s", "bar"), [(0.5, 1), (1.99, 1), (2.0, 2), (3.0, 2), (4.2, 3)])
def test_the_bar_of_a_stop_without_downbeats(stop_s, bar):
    bm = BeatMap(np.arange(0, 8, 0.5), np.array([]), meter=4)  # bars of 2 s, none marked
    assert f"Stopped {stop_s:.1f} s into the song (bar {bar});" in stopped(bm, stop_s)


@pytest.mark.parametrize(("stop_s", "bar"), [(0.5, 1), (2.0, 2), (3.0, 2), (4.2, 3)])
def test_the_bar_of_a_stop_with_downbeats_is_as_before(stop_s, bar):
    bm = BeatMap.constant(120, 8)
    assert f"(bar {bar});" in stopped(bm, stop_s)
