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
