"""A lesson's pattern refuses bad lengths and bad note positions with a message, not a crash.

``extract_pattern(take, lengths_bars=[0])`` raised a bare AssertionError, ``[]`` or a length
longer than the take ``max() arg is an empty sequence``; ``Pattern.from_dict`` let a beat of
``"1/0"`` raise ZeroDivisionError and kept beats past the pattern's end.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from drumjam.errors import InputError
from drumjam.lesson import Pattern, extract_pattern
from drumjam.lesson.pattern import PatternNote
from drumjam.model import BeatMap, Hit, Take, Voice

BAR_S = 2.0  # 120 BPM, 4/4


def groove(n_bars: int) -> Take:
    """A rock beat: kick on 1 and 3, snare on 2 and 4, eighth-note hi-hats."""
    hits = []
    for bar in range(n_bars):
        t0 = bar * BAR_S
        hits += [Hit(t0 + 0.25 * k, "hihat_closed", 80) for k in range(8)]
        hits += [Hit(t0, "kick", 110), Hit(t0 + 1.0, "kick", 110)]
        hits += [Hit(t0 + 0.5, "snare", 110), Hit(t0 + 1.5, "snare", 110)]
    hits.sort(key=lambda h: h.time_s)
    return Take(tuple(hits), beatmap=BeatMap.constant(120, n_bars * BAR_S))


@pytest.mark.parametrize(("lengths", "bad"), [
    ([0], "0"), ([-1], "-1"), ([1.5], "1.5"), (["2"], "'2'"), ([True], "True"),
    ([float("nan")], "nan"), ([1, 0], "0"),
])
def test_a_length_that_is_not_a_whole_number_of_bars_is_refused(lengths, bad):
    message = rf"^pattern length {bad} is not a whole number of bars from 1 up"
    with pytest.raises(InputError, match=message):
        extract_pattern(groove(4), lengths_bars=lengths)


def test_no_length_at_all_is_refused():
    with pytest.raises(InputError, match="no pattern length to try"):
        extract_pattern(groove(4), lengths_bars=[])
    with pytest.raises(InputError, match="not a list of bar counts"):
        extract_pattern(groove(4), lengths_bars=2)


@pytest.mark.parametrize(("lengths", "words"), [([3], "pattern length 3 bars is"),
                                                ([1000], "pattern length 1000 bars is"),
                                                ([3, 8], "pattern lengths 3, 8 bars are")])
def test_lengths_longer_than_the_take_say_how_long_the_take_is(lengths, words):
    with pytest.raises(InputError) as err:
        extract_pattern(groove(4), lengths_bars=lengths)
    message = str(err.value)
    assert message.startswith(f"{words} too long for the take, which has 4 bar(s)")
    assert "give a length of 1-2 bars" in message


def test_lengths_that_fit_still_work_and_too_long_ones_among_them_are_skipped():
    assert extract_pattern(groove(4), lengths_bars=[2]).bars == 2
    pattern = extract_pattern(groove(4), lengths_bars=(1, 2, 4))
    assert pattern.bars == 1 and len(pattern.notes) == 12


@pytest.mark.parametrize("bars", ["1-2", (1,), (0.5, 1), (True, 1)])
def test_bars_that_are_not_a_pair_of_bar_numbers_are_refused(bars):
    with pytest.raises(InputError, match="is not a pair"):
        extract_pattern(groove(4), bars=bars)


def pattern_dict(*beats: str) -> dict:
    return {"bars": 1, "meter": 4, "notes": [{"beat": b, "voice": "kick"} for b in beats]}


@pytest.mark.parametrize("beat", ["1/0", "x", "inf", None, float("inf"), float("nan")])
def test_from_dict_refuses_a_beat_that_is_not_a_number_naming_the_field(beat):
    with pytest.raises(InputError) as err:
        Pattern.from_dict(pattern_dict("0", beat))
    assert str(err.value).startswith(
        f"not a lesson pattern: notes[1] beat {beat!r} is not a position in beats")
    assert not isinstance(err.value.__cause__, ZeroDivisionError)


@pytest.mark.parametrize("beat", ["4", "99", "17/4"])  # -1: PatternNote refuses it when made
def test_from_dict_refuses_a_beat_outside_the_pattern(beat):  # (tests/test_pattern_values.py)
    message = (rf"^not a lesson pattern: notes\[1\] beat {beat} \(kick\) is outside the "
               r"pattern's 1 bar\(s\) of 4 beats; give a beat from 0 to less than 4$")
    with pytest.raises(InputError, match=message):
        Pattern.from_dict(pattern_dict("0", beat))


def test_a_pattern_built_directly_refuses_a_note_past_its_end():
    message = r"notes\[0\] beat 8 \(snare\) is outside the pattern's 2 bar"
    with pytest.raises(InputError, match=message):
        Pattern((PatternNote(Fraction(8), Voice.SNARE),), bars=2)


def test_beats_inside_the_pattern_round_trip():
    pattern = Pattern.from_dict(pattern_dict("0", "15/4", "1/2"))
    assert [n.beat for n in pattern.notes] == [0, Fraction(1, 2), Fraction(15, 4)]
    assert Pattern.from_dict(pattern.to_dict()) == pattern


def test_a_missing_voice_or_field_is_named():
    with pytest.raises(InputError, match=r"notes\[0\] has a missing or malformed field 'voice'"):
        Pattern.from_dict({"bars": 1, "notes": [{"beat": "0"}]})
    with pytest.raises(InputError, match="missing or malformed field 'bars'"):
        Pattern.from_dict({"notes": []})
