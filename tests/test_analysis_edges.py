"""The first beats of a song that starts at once are not lost to edge trimming."""

from __future__ import annotations

import numpy as np
import pytest

from drumjam.analysis import analyse_audio
from drumjam.analysis.click import render_click
from drumjam.model import BeatMap


@pytest.mark.parametrize(("tempo_bpm", "start_s"), [(120.0, 0.3), (95.0, 0.25), (140.0, 0.6)])
def test_first_beat_is_found(tempo_bpm: float, start_s: float) -> None:
    truth = BeatMap.constant(tempo_bpm, 20.0, start_s=start_s)
    audio = render_click(truth, 20.5, 22050)
    found = analyse_audio(audio, 22050, use_cache=False)
    assert found.beats_s[0] == pytest.approx(start_s, abs=0.01)
    assert np.min(np.abs(found.beats_s[:, None] - truth.beats_s[None, :4]), axis=0).max() < 0.01


def test_window_max_equals_the_plain_loop_at_every_edge() -> None:
    from drumjam.analysis.features import window_max

    x = np.random.default_rng(0).random(40)
    centres = np.arange(-6, 47)
    for half in (0, 1, 3):
        want = [x[max(0, c - half):max(0, min(x.size, c + half + 1))].max(initial=0.0) for c in centres]
        np.testing.assert_array_equal(window_max(x, centres, half), want)
