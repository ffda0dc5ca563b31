"""Values that were silently made wrong are refused by name, or kept exactly.

``Hit`` took velocity 0 (a MIDI note-off) and truncated 64.9 to 64; ``BeatMap.from_dict``
truncated a meter of 4.7 to 4; ``Pattern(bars="2")`` raised a TypeError from inside and
``Pattern(grid="x")`` a bare ValueError.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from drumjam.errors import DrumjamError, InputError
from drumjam.lesson import Pattern
from drumjam.lesson.grid import GridKind
from drumjam.lesson.pattern import PatternNote
from drumjam.model import BeatMap, Hit, Note, Voice


def refused(call, *words: str) -> InputError:
    """The InputError ``call`` raises, which must also be a ValueError and name ``words``."""
    with pytest.raises(InputError) as err:
        call()
    assert isinstance(err.value, DrumjamError) and isinstance(err.value, ValueError)
    for word in words:
        assert word in str(err.value), (word, str(err.value))
    return err.value


# ---------------------------------------------------------------- velocity
@pytest.mark.parametrize("given, kept", [(1, 1), (127, 127), (64.0, 64), (np.int16(90), 90),
                                         (np.float64(100.0), 100), (Fraction(80), 80)])
def test_a_whole_velocity_of_1_to_127_is_kept_as_int(given, kept) -> None:
    for event in (Hit(0.5, "snare", given), Note(0.5, "snare", given)):
        assert event.velocity == kept and type(event.velocity) is int


@pytest.mark.parametrize("given, words", [
    (0, ("velocity 0 is outside 1-127", "note-off")),
    (128, ("velocity 128 is outside 1-127",)),
    (-5, ("velocity -5 is outside 1-127",)),
    (64.9, ("velocity 64.9 is not a whole number", "round it")),
    (0.5, ("velocity 0.5 is not a whole number",)),
    (float("nan"), ("velocity nan is not a whole number",)),
    (float("inf"), ("velocity inf is not a whole number",)),
    (True, ("velocity True is not a whole number",)),
    ("64", ("velocity '64' is not a whole number", "such as 100")),
    (None, ("velocity None is not a whole number",)),
])
def test_a_velocity_that_is_no_stroke_is_refused_by_name(given, words) -> None:
    refused(lambda: Hit(0.5, "snare", given), *words)
    refused(lambda: Note(0.5, "snare", given), *words)


def test_the_velocity_check_does_not_shift_the_other_fields() -> None:
    hit = Hit(np.float64(1.25), "hihat_open", 64.0, 0.5)
    assert (hit.time_s, hit.voice, hit.velocity, hit.hihat_openness) == (
        1.25, Voice.HIHAT_OPEN, 64, 0.5)


# ---------------------------------------------------------------- metre
BEATS = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]


@pytest.mark.parametrize("meter", [4.7, 3.5, "4", True, None, float("nan"), 0, 33])
def test_from_dict_refuses_a_meter_that_is_not_whole_rather_than_truncating_it(meter) -> None:
    refused(lambda: BeatMap.from_dict({"beats": BEATS, "meter": meter}),
            "not a beat map: meter must be a whole number", repr(meter))


@pytest.mark.parametrize("meter", [4.7, "4", True])
def test_the_constructors_refuse_a_meter_that_is_not_whole(meter) -> None:
    words = ("meter must be a whole number", repr(meter))
    refused(lambda: BeatMap(np.array(BEATS), np.array([0.0]), meter=meter), *words)
    refused(lambda: BeatMap.from_beats(BEATS, meter=meter), *words)
    refused(lambda: BeatMap.constant(120, 4, meter=meter), *words)
    refused(lambda: BeatMap.from_beats(BEATS).rebarred(meter), *words)


@pytest.mark.parametrize("unit", [4.5, "4", True, 3])
def test_a_beat_unit_that_is_not_a_power_of_two_is_refused(unit) -> None:
    refused(lambda: BeatMap.from_dict({"beats": BEATS, "beat_unit": unit}),
            "not a beat map: beat unit must be a power of two", repr(unit))


def test_a_whole_float_meter_and_beat_unit_are_kept_as_int() -> None:
    bm = BeatMap.from_dict({"beats": BEATS, "meter": 3.0, "beat_unit": 8.0})
    assert (bm.meter, bm.beat_unit) == (3, 8)
    assert type(bm.meter) is int and type(bm.beat_unit) is int
    # from_dict put a downbeat every 3 beats, as to_dict round-trips it
    bm = BeatMap.from_beats(BEATS, meter=3.0, beat_unit=8.0)
    assert bm.downbeats_s.tolist() == [0.0, 1.5, 3.0]
    assert BeatMap.from_dict(bm.to_dict()) == bm


def test_from_dict_still_names_a_missing_field() -> None:
    refused(lambda: BeatMap.from_dict({"meter": 4}), "not a beat map", "'beats'")


# ---------------------------------------------------------------- pattern
@pytest.mark.parametrize("bars", ["2", 2.5, 0, -1, True, None, float("nan")])
def test_a_pattern_of_no_whole_number_of_bars_is_refused_by_name(bars) -> None:
    refused(lambda: Pattern((), bars=bars),
            f"pattern bars {bars!r} is not a whole number of bars from 1 up", "bars=1, 2 or 4")


@pytest.mark.parametrize("grid", ["x", "16", None, ["16th"]])
def test_a_pattern_on_an_unknown_grid_is_refused_by_name(grid) -> None:
    err = refused(lambda: Pattern((), bars=1, grid=grid), f"pattern grid {grid!r}",
                  "'16th', 'triplet', 'swing8'")
    assert err.__cause__ is None


@pytest.mark.parametrize("field, value, words", [
    ("meter", "4", "pattern meter must be a whole number of 1-32 beats per bar, got '4'"),
    ("meter", 4.7, "pattern meter must be a whole number of 1-32 beats per bar, got 4.7"),
    ("beat_unit", 3, "pattern beat unit must be a power of two up to 32"),
])
def test_a_pattern_refuses_a_bad_metre(field, value, words) -> None:
    refused(lambda: Pattern((), bars=1, **{field: value}), words)


def test_whole_floats_and_grid_names_make_the_same_pattern() -> None:
    notes = (PatternNote(Fraction(5), Voice.SNARE), PatternNote(Fraction(0), Voice.KICK))
    written = Pattern(notes, bars=2.0, meter=3.0, grid="triplet", beat_unit=4.0)
    exact = Pattern(notes, bars=2, meter=3, grid=GridKind.TRIPLETS, beat_unit=4)
    assert written == exact
    assert (written.bars, written.meter, written.length_beats) == (2, 3, 6)
    assert type(written.bars) is int and written.grid is GridKind.TRIPLETS
    # the note on beat 5 fits 2 bars of 3 beats; on 2 bars of 2 beats it would not
    refused(lambda: Pattern(notes, bars=2, meter=2), "notes[0] beat 5", "less than 4")


@pytest.mark.parametrize("field, value, words", [
    ("bars", 2.5, "pattern bars 2.5"), ("bars", "2", "pattern bars '2'"),
    ("meter", 4.7, "pattern meter must be"), ("grid", "x", "pattern grid 'x'"),
])
def test_from_dict_refuses_rather_than_truncates(field, value, words) -> None:
    data = {"bars": 1, "meter": 4, "notes": [{"beat": "0", "voice": "kick"}], field: value}
    refused(lambda: Pattern.from_dict(data), "not a lesson pattern: " + words)
