"""The tempo limits are inclusive everywhere: 400 BPM is accepted, 400.5 refused; a beat map's
length and shift are checked.

``BeatMap.constant(400, 4)`` was refused as "absurd tempo 400.0 BPM" (beats 60/400 s apart read
back as 400.00000000000006 BPM), so ``Pattern.to_chart(400)`` and ``evaluate_attempt(..., 400)``
failed where ``check_tempo(400)`` and the trainer's ``start(400)`` passed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from drumjam.errors import InputError
from drumjam.lesson import Pattern, check_tempo, evaluate_attempt, start
from drumjam.lesson.pattern import PatternNote
from drumjam.limits import MAX_TEMPO_BPM, MIN_TEMPO_BPM, tempo_in_range
from drumjam.model import BeatMap, Hit, Take, Voice

PATTERN = Pattern(tuple(PatternNote(b, Voice.KICK) for b in range(4)), bars=1)


@pytest.mark.parametrize("bpm", [MIN_TEMPO_BPM, MAX_TEMPO_BPM, 60.0 / (60.0 / 400.0), 400.0000001,
                                 19.99999999])
def test_tempo_in_range_includes_both_limits_give_or_take_rounding(bpm):
    assert tempo_in_range(bpm)


@pytest.mark.parametrize("bpm", [400.5, 401.0, 19.9, 0.0, -120.0, float("nan"), float("inf")])
def test_tempo_in_range_refuses_tempi_past_the_limits(bpm):
    assert not tempo_in_range(bpm)


@pytest.mark.parametrize("start_s", [0.0, 1.3, 3000.7])
@pytest.mark.parametrize("bpm", [20.0, 400.0])
def test_a_constant_map_at_either_limit_is_built(bpm, start_s):
    bm = BeatMap.constant(bpm, start_s + 60.0, start_s=start_s)
    assert bm.tempo_bpm == pytest.approx(bpm)
    assert bm.beats_s[1] - bm.beats_s[0] == pytest.approx(60.0 / bpm)


def test_beats_60_over_400_seconds_apart_make_a_map():
    beats = 0.7 + (60.0 / 400.0) * np.arange(400)
    assert BeatMap.from_beats(beats).tempo_bpm == pytest.approx(400.0)


@pytest.mark.parametrize("bpm", [400.5, 19.5])
def test_past_the_limits_a_map_is_refused(bpm):
    with pytest.raises(InputError, match=rf"absurd tempo {bpm:g} BPM; use 20-400 BPM"):
        BeatMap.constant(bpm, 4)
    message = rf"absurd tempo {bpm:.1f} BPM; drumjam handles 20-400 BPM"
    with pytest.raises(InputError, match=message):
        BeatMap.from_beats((60.0 / bpm) * np.arange(8))


@pytest.mark.parametrize(("bpm", "words"), [
    ("fast", "tempo 'fast' is not a number; give beats per minute as a number, 20-400 BPM"),
    ("120", "tempo '120' is not a number"), (b"120", "is not a number"),
    (True, "tempo True is not a number"), (None, "tempo None is not a number"),
    (float("nan"), "absurd tempo nan BPM; use 20-400 BPM")])
def test_a_tempo_that_is_not_a_number_is_refused(bpm, words):
    with pytest.raises(InputError, match=re.escape(words)):
        BeatMap.constant(bpm, 4)
    assert BeatMap.constant(np.float32(120.0), 4.0).tempo_bpm == pytest.approx(120.0)


def test_a_lesson_at_400_bpm_is_charted_and_scored():
    assert check_tempo(400) == 400.0 and start(400).target_bpm == 400.0
    chart = PATTERN.to_chart(400, loops=4)
    assert len(chart) == 16
    assert np.diff(chart.times_s()) == pytest.approx(0.15)
    take = Take(tuple(Hit(t, "kick") for t in chart.times_s()), beatmap=chart.beatmap)
    result = evaluate_attempt(PATTERN, take, 400)
    assert result.passed and result.played_pct == 100.0


def test_a_lesson_past_400_bpm_is_refused():
    with pytest.raises(InputError, match="tempo 400.5 BPM is out of range; give 20-400 BPM"):
        PATTERN.to_chart(400.5)
    take = Take((Hit(0.0, "kick"),), beatmap=BeatMap.constant(120, 4))
    with pytest.raises(InputError, match="tempo 400.5 BPM is out of range"):
        evaluate_attempt(PATTERN, take, 400.5)


@pytest.mark.parametrize(("duration_s", "start_s"), [(-4.0, 0.0), (1.0, 2.0)])
def test_a_map_ending_before_it_starts_is_refused(duration_s, start_s):
    with pytest.raises(InputError, match=rf"duration {duration_s:g} s ends before the start at "
                       rf"{start_s:g} s"):
        BeatMap.constant(120, duration_s, start_s=start_s)


def test_a_map_of_no_length_is_one_bar():
    assert BeatMap.constant(120, 0.0).beats_s.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


@pytest.mark.parametrize(("offset", "problem"), [(float("nan"), "nan s is NaN or infinity"),
                                                 (float("-inf"), "-inf s is NaN or infinity"),
                                                 (1e12, "1000000000000.0 is not a finite time"),
                                                 ("later", "'later' is not a number of seconds")])
def test_a_shift_that_is_not_a_number_of_seconds_is_named(offset, problem):
    with pytest.raises(InputError, match=rf"^beat map shift {problem}"):
        BeatMap.constant(120, 4).shifted(offset)


def test_a_shift_moves_every_beat():
    bm = BeatMap.constant(120, 4).shifted(0.25)
    assert bm.beats_s[:3].tolist() == [0.25, 0.75, 1.25]
    assert bm.downbeats_s[0] == 0.25

