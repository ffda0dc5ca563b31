"""Pattern extraction on real grooves (Groove MIDI Dataset) and on grooves with known answers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from lesson_reference import GROOVES, quantised_bars, swing_ratio_direct

from drumjam.errors import InputError
from drumjam.io.midi import read_take
from drumjam.lesson import GridKind, Pattern, excerpt, extract_pattern, pattern_match
from drumjam.lesson.grid import swing_position
from drumjam.model import BeatMap, Hit, Take, Voice, voice_group

# (file, first bar of the teacher's 8-bar excerpt, expected grid)
STRAIGHT = [
    ("drummer1/eval_session/3_soul-groove3_86_beat_4-4.mid", 0, GridKind.SIXTEENTHS),
    ("drummer1/eval_session/8_rock-groove8_65_beat_4-4.mid", 0, GridKind.SIXTEENTHS),
    ("drummer1/session3/15_funk_117_beat_4-4.mid", 0, GridKind.SIXTEENTHS),
]
SWUNG = [
    ("drummer1/session1/51_rock-shuffle_125_beat_4-4.mid", 24, GridKind.SWUNG_EIGHTHS),
    ("drummer1/session1/51_rock-shuffle_125_beat_4-4.mid", 40, GridKind.SWUNG_EIGHTHS),
    ("drummer1/session1/239_funk-purdieshuffle_130_beat_4-4.mid", 24, GridKind.TRIPLETS),
]


def teacher_take(name: str, first_bar: int, n_bars: int = 8) -> Take:
    return excerpt(read_take(GROOVES / name), first_bar, n_bars)


@pytest.mark.parametrize(("name", "first_bar", "grid"), STRAIGHT + SWUNG)
def test_pattern_matches_the_grooves_own_quantised_notes(name, first_bar, grid):
    pattern = extract_pattern(teacher_take(name, first_bar))
    assert pattern.grid is grid
    direct = swing_ratio_direct(GROOVES / name, first_bar, 8)
    reference = quantised_bars(GROOVES / name, grid.value, first_bar, 8, swing_ratio=direct)
    assert pattern_match(pattern, reference) >= 0.95
    # most of the excerpt is groove, not fill
    assert len(pattern.source_bars) >= 6


@pytest.mark.parametrize(("name", "first_bar", "grid"), STRAIGHT + SWUNG)
def test_swing_ratio_matches_the_one_computed_from_the_ticks(name, first_bar, grid):
    pattern = extract_pattern(teacher_take(name, first_bar))
    direct = swing_ratio_direct(GROOVES / name, first_bar, 8)
    assert pattern.swing_ratio == pytest.approx(direct, rel=0.04)
    if grid is GridKind.SIXTEENTHS:
        assert 0.9 < pattern.swing_ratio < 1.15
    else:
        assert pattern.swing_ratio > 1.7


def test_ghost_notes_and_accents_of_the_purdie_shuffle_are_kept():
    pattern = extract_pattern(
        teacher_take("drummer1/session1/239_funk-purdieshuffle_130_beat_4-4.mid", 24)
    )
    snares = {n.beat % 1: n.dynamic for n in pattern.notes if voice_group(n.voice) == "snare"}
    # the ghost notes sit on the middle triplet; the half-time backbeat on 3 is loud
    assert snares.get(Fraction(1, 3)) == "ghost"
    backbeats = [n for n in pattern.notes if voice_group(n.voice) == "snare" and n.beat == 2]
    assert backbeats and all(n.dynamic != "ghost" for n in backbeats)
    assert max(n.velocity for n in backbeats) > 2 * min(
        n.velocity for n in pattern.notes if n.dynamic == "ghost"
    )


def _splice_fill(groove: Take, fill_name: str, bar: int) -> Take:
    """The groove with bar ``bar`` replaced by the busiest bar of a real fill."""
    bm = groove.beatmap
    bars = bm.bar_index(groove.times_s())
    kept = [h for h, b in zip(groove.hits, bars) if b != bar]
    fill = read_take(GROOVES / fill_name)
    fill_beats = fill.beatmap.to_beats(fill.times_s())
    fill_bar = np.bincount(np.floor(fill_beats / 4).astype(int)).argmax()
    start_beat = bm.to_beats(bm.downbeats_s[bar])
    new = [
        Hit(float(bm.to_seconds(start_beat + b - 4 * fill_bar)), h.voice, h.velocity)
        for h, b in zip(fill.hits, fill_beats)
        if 0 <= b - 4 * fill_bar < 3.9
    ]
    assert len(new) >= 8
    return Take(tuple(kept + new), player=groove.player, beatmap=bm)


@pytest.mark.parametrize(
    ("name", "first_bar", "fill"),
    [
        (
            "drummer1/eval_session/3_soul-groove3_86_beat_4-4.mid",
            0,
            "drummer1/session1/105_funk_95_fill_4-4.mid",
        ),
        (
            "drummer1/session1/239_funk-purdieshuffle_130_beat_4-4.mid",
            24,
            "drummer1/session1/246_funk-purdieshuffle_130_fill_4-4.mid",
        ),
    ],
)
def test_fills_are_not_mistaken_for_the_pattern(name, first_bar, fill):
    groove = teacher_take(name, first_bar)
    fill_bar = first_bar + 4
    # the same groove with that bar left silent: the pattern a fill must not change
    bars = groove.beatmap.bar_index(groove.times_s())
    clean = extract_pattern(
        Take(tuple(h for h, b in zip(groove.hits, bars) if b != fill_bar), beatmap=groove.beatmap)
    )
    with_fill = extract_pattern(_splice_fill(groove, fill, fill_bar))
    assert fill_bar in with_fill.fill_bars
    assert fill_bar not in with_fill.source_bars
    def keys(p):
        return {(n.beat, voice_group(n.voice)) for n in p.notes}

    assert keys(with_fill) == keys(clean)


# ------------------------------------------------------------------ known answers
def synthetic_take(
    bars: list[list[tuple[float, Voice, int]]],
    tempo_bpm: float = 100.0,
    swing_ratio: float = 1.0,
    offsets_ms: dict[Voice, float] | None = None,
    jitter_ms: float = 0.0,
    seed: int = 0,
) -> Take:
    """A take from bars of (beat in bar, voice, velocity), swung and shifted as asked."""
    rng = np.random.default_rng(seed)
    bm = BeatMap.constant(tempo_bpm, (len(bars) + 1) * 4 * 60.0 / tempo_bpm)
    hits = []
    for b, notes in enumerate(bars):
        for beat, voice, velocity in notes:
            whole = np.floor(beat)
            played = whole + swing_position(swing_ratio) if beat - whole == 0.5 else beat
            t = float(bm.to_seconds(b * 4 + played))
            t += ((offsets_ms or {}).get(voice, 0.0) + rng.normal(0, jitter_ms)) / 1000.0
            hits.append(Hit(max(0.0, t), voice, velocity))
    return Take(tuple(hits), beatmap=bm)


ROCK = [(b / 2, Voice.HIHAT_CLOSED, 120 if b % 2 == 0 else 80) for b in range(8)] + [
    (0, Voice.KICK, 100),
    (2, Voice.KICK, 100),
    (2.5, Voice.KICK, 90),
    (1, Voice.SNARE, 110),
    (3, Voice.SNARE, 110),
    (3.75, Voice.SNARE, 35),
]


def test_straight_groove_with_known_dynamics_and_feel():
    take = synthetic_take(
        [ROCK] * 8, offsets_ms={Voice.KICK: 15.0, Voice.HIHAT_CLOSED: -10.0}, jitter_ms=3.0
    )
    pattern = extract_pattern(take)
    assert (pattern.grid, pattern.bars, len(pattern.notes)) == (GridKind.SIXTEENTHS, 1, len(ROCK))
    assert pattern.fill_bars == ()
    feel = pattern.feel_by_voice_ms()
    assert feel["kick"] == pytest.approx(15.0, abs=3.0)
    assert feel["hihat"] == pytest.approx(-10.0, abs=3.0)
    assert feel["snare"] == pytest.approx(0.0, abs=3.0)
    dyn = {(n.beat, n.voice): n.dynamic for n in pattern.notes}
    assert dyn[(Fraction(15, 4), Voice.SNARE)] == "ghost"
    assert dyn[(Fraction(0), Voice.HIHAT_CLOSED)] == "accent"
    assert dyn[(Fraction(1, 2), Voice.HIHAT_CLOSED)] == "normal"


@pytest.mark.parametrize("ratio", [1.5, 2.0, 2.6])
def test_swung_eighths_are_found_with_their_swing_ratio(ratio):
    bar = [(b / 2, Voice.RIDE, 90) for b in range(8)] + [
        (0, Voice.KICK, 100),
        (2, Voice.KICK, 100),
        (1, Voice.SNARE, 100),
        (3, Voice.SNARE, 100),
    ]
    pattern = extract_pattern(synthetic_take([bar] * 6, swing_ratio=ratio, jitter_ms=4.0))
    assert pattern.grid is GridKind.SWUNG_EIGHTHS
    assert pattern.swing_ratio == pytest.approx(ratio, rel=0.06)
    # written straight: the off-beats sit at .5 in the notation, played swung
    assert {n.beat % 1 for n in pattern.notes} == {Fraction(0), Fraction(1, 2)}
    played = pattern.played_beats() % 1
    assert np.max(played) == pytest.approx(pattern.swing_ratio / (1 + pattern.swing_ratio))


def test_triplet_groove_is_written_on_triplets():
    bar = [(k / 3, Voice.HIHAT_CLOSED, 90) for k in range(12) if k % 3 != 1]
    bar += [(k + 1 / 3, Voice.SNARE, 30) for k in range(4)] + [
        (0, Voice.KICK, 100),
        (1, Voice.SNARE, 110),
    ]
    pattern = extract_pattern(synthetic_take([bar] * 4, jitter_ms=3.0))
    assert pattern.grid is GridKind.TRIPLETS
    assert {n.beat % 1 for n in pattern.notes} == {Fraction(0), Fraction(1, 3), Fraction(2, 3)}


def test_two_bar_pattern_and_a_fill_bar():
    bar_a = ROCK
    bar_b = [n for n in ROCK if n[1] != Voice.KICK] + [
        (0, Voice.KICK, 100),
        (1.5, Voice.KICK, 100),
        (3.5, Voice.KICK, 100),
    ]
    fill = [(k / 4, Voice.TOM_HIGH if k < 8 else Voice.TOM_FLOOR, 100) for k in range(16)]
    bars = [bar_a, bar_b, bar_a, bar_b, bar_a, bar_b, bar_a, fill]
    pattern = extract_pattern(synthetic_take(bars, jitter_ms=3.0))
    assert pattern.bars == 2
    assert pattern.fill_bars == (7,)
    loop = {(n.beat, n.voice) for n in pattern.notes}
    assert (Fraction(5, 2), Voice.KICK) in loop and (Fraction(13, 2), Voice.KICK) not in loop
    assert (Fraction(11, 2), Voice.KICK) in loop and (Fraction(3, 2), Voice.KICK) not in loop
    assert not any(voice_group(n.voice) in ("tom_high", "tom_floor") for n in pattern.notes)


def test_teacher_picks_the_bars():
    bars = [ROCK, ROCK, [(k / 2, Voice.RIDE, 90) for k in range(8)] + [(0, Voice.KICK, 100)], ROCK]
    take = synthetic_take(bars)
    pattern = extract_pattern(take, bars=(2, 2))
    assert pattern.bars == 1 and pattern.source_bars == (2,)
    assert {n.voice for n in pattern.notes} == {Voice.RIDE, Voice.KICK}
    with pytest.raises(InputError, match="outside the take"):
        extract_pattern(take, bars=(3, 6))


def test_pattern_to_dict_round_trip_and_chart():
    pattern = extract_pattern(synthetic_take([ROCK] * 4, swing_ratio=1.0))
    again = Pattern.from_dict(pattern.to_dict())
    assert again == pattern
    chart = pattern.to_chart(tempo_bpm=60.0, loops=3)
    assert len(chart) == 3 * len(pattern.notes)
    # at 60 BPM a loop is 4 s; the second loop's notes are the first loop's plus 4 s
    times = chart.times_s()
    assert times[len(pattern.notes)] == pytest.approx(times[0] + 4.0)


def test_take_without_beat_map_is_refused():
    with pytest.raises(InputError, match="beat map"):
        extract_pattern(Take((Hit(0.5, Voice.KICK),)))


def test_every_groove_of_the_evaluation_session():
    """The ten grooves as three drummers play them: patterns and swing across real takes."""
    matches = []
    for path in sorted(GROOVES.glob("drummer*/eval_session/*.mid")):
        pattern = extract_pattern(excerpt(read_take(path), 0, 8))
        assert pattern.grid is GridKind.SIXTEENTHS, path.name  # all ten grooves are straight
        direct = swing_ratio_direct(path, 0, 8)
        if np.isfinite(direct):
            assert pattern.swing_ratio == pytest.approx(direct, rel=0.03), path.name
        matches.append(pattern_match(pattern, quantised_bars(path, "16th", 0, 8)))
    assert len(matches) == 30
    # drummers vary their grooves a little from bar to bar, so not every note is in the loop
    assert np.median(matches) >= 0.93
    assert np.mean(np.array(matches) >= 0.9) >= 0.75
    assert min(matches) >= 0.7
