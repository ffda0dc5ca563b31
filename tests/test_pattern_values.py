"""A lesson pattern's values are checked when made, refused by name rather than truncated.

``PatternNote.from_dict`` truncated a velocity of 64.9 to 64 and kept a dynamic of ``None`` as
the text ``"None"``; ``PatternNote`` itself checked nothing, so a bad velocity surfaced only in
``to_chart``. ``Pattern.from_dict`` truncated ``start_bar`` 2.5 to 2, ``BeatMap.rebarred``
a downbeat shift of 1.5 to 1; ``Pattern(bars=10**400)`` was taken until a beat map was built;
times in seconds were taken as text (``Hit("0.5", ...)``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from test_model_value_checks import refused  # an InputError and ValueError naming the words

from drumjam.lesson import Pattern
from drumjam.lesson.pattern import DYNAMICS, MAX_FEEL_MS, PatternNote
from drumjam.limits import MAX_BEATS, MAX_DURATION_S, MAX_METER, MAX_TEMPO_BPM, MIN_TEMPO_BPM
from drumjam.model import BeatMap, Hit, Note, Voice


def pattern_dict(note: dict | None = None, **fields) -> dict:
    """A one-bar pattern with a kick on beat 0, ``note``'s fields replacing the kick's."""
    return {"bars": 1, "meter": 4, **fields,
            "notes": [{"beat": "0", "voice": "kick", **(note or {})}]}


# ---------------------------------------------------------------- note velocity
@pytest.mark.parametrize("velocity, words", [
    (64.9, "velocity 64.9 is not a whole number 1-127; round it"),
    (0, "velocity 0 is outside 1-127 (0 is a MIDI note-off"),
    (128, "velocity 128 is outside 1-127"),
    (True, "velocity True is not a whole number"),
    ("100", "velocity '100' is not a whole number"),
    (float("nan"), "velocity nan is not a whole number"),
    pytest.param(10**5000, "velocity a number of about 10^5000 is outside 1-127", id="10**5000"),
    pytest.param(Fraction(10**5000, 3), "velocity a number too long to write out is not a whole "
                 "number 1-127; round it", id="Fraction(10**5000, 3)"),
])
def test_a_pattern_note_refuses_a_velocity_as_a_note_does(velocity, words) -> None:
    refused(lambda: PatternNote(Fraction(0), Voice.KICK, velocity), words)
    refused(lambda: Note(0.0, Voice.KICK, velocity), words)  # the same rule, the same words


def test_from_dict_refuses_a_fractional_velocity_rather_than_truncating() -> None:
    refused(lambda: Pattern.from_dict(pattern_dict({"velocity": 64.9})),
            "not a lesson pattern: notes[0] velocity 64.9 is not a whole number 1-127")
    refused(lambda: Pattern.from_dict(pattern_dict({"velocity": 0})),
            "not a lesson pattern: notes[0] velocity 0 is outside 1-127")


@pytest.mark.parametrize("given, kept", [(64.0, 64), (np.int16(90), 90), (Fraction(127), 127),
                                         (1, 1)])
def test_a_whole_velocity_is_kept_as_int_and_reaches_the_chart(given, kept) -> None:
    note = PatternNote(Fraction(1, 2), Voice.SNARE, given)
    assert note.velocity == kept and type(note.velocity) is int
    assert Pattern.from_dict(pattern_dict({"velocity": given})).notes[0].velocity == kept
    chart = Pattern((note,), bars=1).to_chart(loops=3)
    assert [n.velocity for n in chart.notes] == [kept] * 3


# ---------------------------------------------------------------- note position and fields
@pytest.mark.parametrize("given, exact", [
    (3, Fraction(3)), (0.5, Fraction(1, 2)), (np.float32(0.25), Fraction(1, 4)),
    (np.int64(2), Fraction(2)), (Fraction(15, 4), Fraction(15, 4)),
])
def test_a_beat_given_as_a_number_is_kept_as_the_exact_fraction(given, exact) -> None:
    note = PatternNote(given, Voice.KICK)
    assert note.beat == exact and type(note.beat) is Fraction


@pytest.mark.parametrize("beat, words", [
    (-1, "beat -1 (kick) is before the pattern's start; give a position from 0 up"),
    (Fraction(-1, 4), "beat -1/4 (kick) is before the pattern's start"),
    (MAX_BEATS, f"beat {MAX_BEATS} (kick) lies past the longest pattern ({MAX_BEATS} beats"),
    pytest.param(Fraction(10**5000), "beat a number too long to write out (kick) lies past "
                 "the longest pattern", id="Fraction(10**5000)"),
    (float("nan"), "beat nan (kick) is not a finite position in beats"),
    (float("inf"), "beat inf (kick) is not a finite position in beats"),
    ("3/2", "beat '3/2' (kick) is not a position in beats"),
    (True, "beat True (kick) is not a position in beats"),
    (None, "beat None (kick) is not a position in beats"),
])
def test_a_beat_that_is_no_position_in_a_pattern_is_refused_by_name(beat, words) -> None:
    refused(lambda: PatternNote(beat, Voice.KICK), words)


def test_a_negative_beat_from_a_file_is_refused_when_the_note_is_made() -> None:
    refused(lambda: Pattern.from_dict(pattern_dict({"beat": "-3/4"})),
            "not a lesson pattern: notes[0] beat -3/4 (kick) is before the pattern's start; "
            "give a position from 0 up")


def test_a_voice_name_is_taken_and_an_unknown_voice_refused() -> None:
    assert PatternNote(0, " Snare").voice is Voice.SNARE
    refused(lambda: PatternNote(0, "cowbell2"), "unknown drum voice 'cowbell2'")
    refused(lambda: Pattern.from_dict(pattern_dict({"voice": "gong"})),
            "not a lesson pattern: notes[0] unknown drum voice 'gong'")


@pytest.mark.parametrize("dynamic", [None, "loud", "Ghost", 1])
def test_a_dynamic_drumjam_does_not_write_is_refused(dynamic) -> None:
    words = (f"dynamic {dynamic!r} is not a dynamic drumjam writes; give one of "
             "'accent', 'normal', 'ghost'")
    refused(lambda: PatternNote(0, Voice.SNARE, dynamic=dynamic), words)
    refused(lambda: Pattern.from_dict(pattern_dict({"dynamic": dynamic})),
            "not a lesson pattern: notes[0] " + words)


@pytest.mark.parametrize("dynamic", DYNAMICS)
def test_each_dynamic_round_trips(dynamic) -> None:
    pattern = Pattern((PatternNote(1, Voice.SNARE, 40, dynamic),), bars=1)
    assert Pattern.from_dict(pattern.to_dict()).notes[0].dynamic == dynamic


@pytest.mark.parametrize("feel", [float("nan"), float("inf"), "5", True, None,
                                  MAX_FEEL_MS + 0.5, -MAX_FEEL_MS - 0.5, 10**400])
def test_a_feel_that_is_no_offset_from_the_grid_is_refused(feel) -> None:
    shown = "a number of about 10^400" if feel == 10**400 else repr(feel)
    refused(lambda: PatternNote(0, Voice.KICK, feel_ms=feel), f"feel_ms {shown} is not an offset",
            f"-{MAX_FEEL_MS:.0f} to {MAX_FEEL_MS:.0f} ms")


def test_the_feel_limit_is_a_beat_at_the_slowest_tempo_and_the_limit_itself_is_kept() -> None:
    assert MAX_FEEL_MS == pytest.approx(60_000.0 / MIN_TEMPO_BPM)
    for feel in (MAX_FEEL_MS, -MAX_FEEL_MS, -12.5, np.float32(7.5), 3):
        note = PatternNote(0, Voice.KICK, feel_ms=feel)
        assert note.feel_ms == float(feel) and type(note.feel_ms) is float


def test_a_pattern_of_things_that_are_not_pattern_notes_is_refused() -> None:
    refused(lambda: Pattern(({"beat": 0, "voice": "kick"},), bars=1),
            "a pattern's notes are PatternNote objects, got dict")


# ---------------------------------------------------------------- start bar
@pytest.mark.parametrize("start_bar", [2.5, "2", -1, True, None, float("nan"), MAX_BEATS + 1])
def test_a_start_bar_that_is_no_bar_of_a_take_is_refused(start_bar) -> None:
    words = f"pattern start_bar {start_bar!r} is not a bar of a take; give a whole bar number"
    refused(lambda: Pattern((), bars=1, start_bar=start_bar), words)
    refused(lambda: Pattern.from_dict(pattern_dict(start_bar=start_bar)),
            "not a lesson pattern: " + words)


def test_a_whole_start_bar_is_kept_as_int_and_round_trips() -> None:
    pattern = Pattern.from_dict(pattern_dict(start_bar=3.0, bars=2))
    assert pattern.start_bar == 3 and type(pattern.start_bar) is int
    assert Pattern.from_dict(pattern.to_dict()) == pattern
    assert Pattern((), bars=1, start_bar=MAX_BEATS).start_bar == MAX_BEATS


# ---------------------------------------------------------------- bars bound
@pytest.mark.parametrize("meter", [1, 4, 7, MAX_METER])
def test_bars_are_bounded_by_the_beats_a_beat_map_holds(meter) -> None:
    most = MAX_BEATS // meter
    assert Pattern((), bars=most, meter=meter).length_beats <= MAX_BEATS
    refused(lambda: Pattern((), bars=most + 1, meter=meter),
            f"pattern bars {most + 1} of {meter} beats make more than the {MAX_BEATS} beats",
            f"at most {most} bars of {meter} beats")
    refused(lambda: Pattern.from_dict(pattern_dict(bars=most + 1, meter=meter)),
            f"not a lesson pattern: pattern bars {most + 1} of {meter} beats")


@pytest.mark.parametrize("bars, shown", [
    (10**400, "a number of about 10^400"), (1e300, "1e+300"),
    pytest.param(10**5000, "a number of about 10^5000", id="10**5000"),
])
def test_absurd_bars_are_refused_before_any_beat_map_is_built(bars, shown) -> None:
    refused(lambda: Pattern((), bars=bars), f"pattern bars {shown} of 4 beats make more than")


def test_the_longest_pattern_plays_at_the_fastest_tempo_within_the_longest_song() -> None:
    meter = 4
    bars = MAX_BEATS // meter
    last = Fraction(bars * meter) - Fraction(1, 4)
    pattern = Pattern((PatternNote(last, Voice.KICK),), bars=bars, meter=meter)
    chart = pattern.to_chart(MAX_TEMPO_BPM)
    assert chart.notes[-1].time_s == pytest.approx(float(last) * 60.0 / MAX_TEMPO_BPM)
    assert chart.notes[-1].time_s <= MAX_DURATION_S


@pytest.mark.parametrize("loops", [2.5, 0, "2", True])
def test_loops_that_are_not_a_whole_count_are_refused(loops) -> None:
    pattern = Pattern((PatternNote(0, Voice.KICK),), bars=1)
    refused(lambda: pattern.to_chart(loops=loops), f"loops must be a whole number from 1 up, "
            f"got {loops!r}")


def test_a_whole_float_loop_count_makes_the_same_chart() -> None:
    pattern = Pattern((PatternNote(0, Voice.KICK), PatternNote(Fraction(5, 2), Voice.SNARE)),
                      bars=1)
    chart = pattern.to_chart(loops=3.0)
    assert chart.times_s().tolist() == pattern.to_chart(loops=3).times_s().tolist()
    assert len(chart) == 6 and chart.times_s()[-1] == pytest.approx(2 * 2.0 + 1.25)


# ---------------------------------------------------------------- downbeat shift
@pytest.mark.parametrize("shift", [1.5, "1", True, float("nan"), None])
def test_a_downbeat_shift_that_is_not_whole_beats_is_refused(shift) -> None:
    bm = BeatMap.constant(120, 8)
    words = f"downbeat shift {shift!r} is not a whole number of beats"
    refused(lambda: bm.rebarred(4, shift), words)
    refused(lambda: bm.corrected(downbeat_shift=shift), words)


def test_a_whole_downbeat_shift_moves_one_and_a_whole_float_is_the_same() -> None:
    bm = BeatMap.constant(120, 8)  # 0.5 s beats, downbeats on 0, 2, 4 ... s
    later = bm.rebarred(downbeat_shift=1)
    assert later.downbeats_s[0] == pytest.approx(0.5)
    assert np.diff(later.downbeats_s) == pytest.approx(2.0)
    assert bm.rebarred(downbeat_shift=1.0) == later
    assert bm.corrected(downbeat_shift=-3.0) == bm.corrected(downbeat_shift=-3) == later
    assert bm.corrected(downbeat_shift=0.0) is bm


# ---------------------------------------------------------------- seconds as numbers
SECONDS_USES = {
    "hit": lambda v: Hit(v, Voice.KICK),
    "note": lambda v: Note(v, Voice.KICK),
    "start": lambda v: BeatMap.constant(120, 8, start_s=v),
    "duration": lambda v: BeatMap.constant(120, v),
    "beat map shift": lambda v: BeatMap.constant(120, 8).shifted(v),
    "grid start": lambda v: BeatMap.constant(120, 8).grid(4, start_s=v),
}


@pytest.mark.parametrize("use", SECONDS_USES)
@pytest.mark.parametrize("value", ["0.5", b"0.5", True, np.True_, "later"])
def test_seconds_given_as_text_or_a_bool_are_refused(use, value) -> None:
    name = "time" if use in ("hit", "note") else use
    refused(lambda: SECONDS_USES[use](value), f"{name} {value!r} is not a number of seconds",
            "give seconds as a number")


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), np.float64(0.5), np.int64(1),
                                   Fraction(1, 2)])
def test_seconds_given_as_any_kind_of_number_are_taken_as_float(value) -> None:
    hit = Hit(value, Voice.KICK)
    assert hit.time_s == float(value) and type(hit.time_s) is float
    assert BeatMap.constant(120, 8).shifted(value).beats_s[0] == pytest.approx(float(value))


@pytest.mark.parametrize(("field", "value", "words"), [
    ("swing_ratio", "1.5", "swing_ratio '1.5' is not the long-to-short ratio"),
    ("swing_ratio", float("nan"), "give a number from 0.72 to 5.67"),
    ("swing_ratio", 9.0, "swing_ratio 9.0"),
    ("swing_ratio", True, "swing_ratio True"),
    ("tempo_bpm", "120", "tempo_bpm '120' is not a tempo"),
    ("tempo_bpm", 0.0, "tempo_bpm 0 BPM is out of range"),
    ("consistency", 1.5, "consistency 1.5 is not the source bars' agreement"),
    ("consistency", "1", "consistency '1'"),
    ("source_bars", "12", "source_bars '12' is not a list of the take's bars"),
    ("fill_bars", [0.5], "fill_bars [0.5]"),
    ("fill_bars", [-1], "fill_bars [-1]"),
])
def test_a_pattern_s_tempo_swing_consistency_and_bars_are_numbers_in_range(
        field: str, value: object, words: str) -> None:
    refused(lambda: Pattern(notes=(), bars=1, **{field: value}), words)
    data = Pattern(notes=(), bars=1).to_dict()
    data[field] = value
    refused(lambda: Pattern.from_dict(data), "not a lesson pattern: ", words)


def test_a_pattern_s_measures_are_kept_as_float_and_int_and_survive_a_round_trip() -> None:
    p = Pattern(notes=(), bars=2, swing_ratio=2, tempo_bpm=90, consistency=1,
                source_bars=[np.int64(0), 1.0], fill_bars=(3,))
    assert (p.swing_ratio, p.tempo_bpm, p.consistency) == (2.0, 90.0, 1.0)
    assert all(type(v) is float for v in (p.swing_ratio, p.tempo_bpm, p.consistency))
    assert p.source_bars == (0, 1) and all(type(b) is int for b in p.source_bars)
    # the widest swing a take can measure, rounded as to_dict stores it, reads back
    edge = Pattern(notes=(), bars=1, swing_ratio=0.42 / 0.58, grid="swing8")
    assert Pattern.from_dict(edge.to_dict()).swing_ratio == pytest.approx(0.724)
