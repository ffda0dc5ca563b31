"""write_midi checks what it is given before it writes anything: the resolution (ppq), that
the events are hits or notes at or after 0 s, the beat map; and a coarse ppq keeps time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drumjam.errors import InputError
from drumjam.io.midi import read_take, write_midi
from drumjam.model import BeatMap, Hit, Take

TAKE = Take((Hit(0.0, "kick", 100), Hit(0.5, "snare", 64), Hit(1.25, "hihat_closed", 90)),
            beatmap=BeatMap.constant(120, 4))


@pytest.mark.parametrize("ppq", [0, -5, 100_000, 32768, 1.5, 480.0, True, "480", None])
def test_bad_ppq_is_refused_and_nothing_written(tmp_path: Path, ppq) -> None:
    out = tmp_path / "take.mid"
    with pytest.raises(InputError, match=rf"ppq {ppq!r} is not a MIDI resolution; give a whole "
                                         r"number of 1-32767 ticks per quarter note"):
        write_midi(out, TAKE, ppq=ppq)
    assert not out.exists()


@pytest.mark.parametrize("ppq", [1, 96, 32767])
def test_ppq_at_the_bounds_round_trips(tmp_path: Path, ppq: int) -> None:
    back = read_take(write_midi(tmp_path / "take.mid", TAKE, ppq=ppq))
    # 120 BPM: a tick is 0.5 s / ppq, and each hit lands on the nearest one
    np.testing.assert_allclose(back.times_s(), TAKE.times_s(), rtol=0, atol=0.25 / ppq + 1e-6)
    assert [h.voice for h in back.hits] == [h.voice for h in TAKE.hits]


def test_hit_before_zero_is_refused_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "early.mid"
    with pytest.raises(InputError, match=r"a kick at -0\.500 s is before 0 s"):
        write_midi(out, [Hit(0.5, "snare"), Hit(-0.5, "kick")])
    assert not out.exists()


@pytest.mark.parametrize("events, kwargs, match", [
    ([0.5, 1.0], {}, "cannot write 0.5 to MIDI"),
    (TAKE, {"beatmap": "x"}, "beatmap 'x' is not a BeatMap"),
])
def test_what_is_no_events_or_beat_map_is_refused(tmp_path: Path, events, kwargs, match) -> None:
    with pytest.raises(InputError, match=match):
        write_midi(tmp_path / "x.mid", events, **kwargs)
    assert not (tmp_path / "x.mid").exists()


def test_coarse_ppq_in_six_eight_does_not_drift(tmp_path: Path) -> None:
    """ppq 7 in 6/8 is 3.5 ticks an eighth: rounded down to 3, every hit came out earlier by
    1/7 of a beat more than the last (0.79 s at 6 s)."""
    beatmap = BeatMap.constant(120, 8, meter=6, beat_unit=8)  # an eighth every 0.5 s
    take = Take(tuple(Hit(t, "kick") for t in np.arange(0.0, 6.0, 0.5)), beatmap=beatmap)
    back = read_take(write_midi(tmp_path / "six8.mid", take, ppq=7))
    tick_s = 0.5 / 3.5
    assert len(back) == len(take)
    assert np.max(np.abs(back.times_s() - take.times_s())) <= tick_s / 2 + 1e-6
