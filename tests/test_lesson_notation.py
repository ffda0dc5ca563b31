"""Drum notation: MusicXML that music21 reads back note for note, and engraved images."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
from lesson_reference import GROOVES
from music21 import clef, converter, note, percussion
from PIL import Image

from drumjam.errors import InputError
from drumjam.io.midi import read_take
from drumjam.io.musicxml import FEET, STAFF_POSITION, DrumNote, read_musicxml, write_musicxml
from drumjam.lesson import (
    excerpt,
    extract_pattern,
    pattern_musicxml,
    pattern_svg,
    render_pattern_files,
)
from drumjam.lesson.notation import drum_notes

GROOVES_FOR_NOTATION = [
    ("drummer1/eval_session/3_soul-groove3_86_beat_4-4.mid", 0),  # straight 16ths, ghosts
    ("drummer1/eval_session/8_rock-groove8_65_beat_4-4.mid", 0),  # two bars
    ("drummer1/session1/239_funk-purdieshuffle_130_beat_4-4.mid", 24),  # triplets
    ("drummer1/session1/51_rock-shuffle_125_beat_4-4.mid", 40),  # swung eighths
]


def lesson_pattern(name: str, first_bar: int):
    return extract_pattern(excerpt(read_take(GROOVES / name), first_bar, 8))


@pytest.mark.parametrize(("name", "first_bar"), GROOVES_FOR_NOTATION)
def test_musicxml_opens_in_music21_and_round_trips_the_notes(tmp_path, name, first_bar):
    pattern = lesson_pattern(name, first_bar)
    path = tmp_path / "pattern.musicxml"
    path.write_text(pattern_musicxml(pattern, "groove"), encoding="utf-8")
    score = converter.parse(str(path))
    assert isinstance(score.recurse().getElementsByClass(clef.Clef).first(), clef.PercussionClef)
    measures = score.parts[0].getElementsByClass("Measure")
    assert len(measures) == pattern.bars
    # every bar is full: voices add up to the time signature
    for m in measures:
        for v in m.voices:
            assert v.duration.quarterLength == pytest.approx(4.0)
    unpitched = [
        u
        for el in score.recurse().notes
        for u in (el.notes if isinstance(el, percussion.PercussionChord) else [el])
    ]
    assert all(isinstance(u, note.Unpitched) for u in unpitched)
    assert len(unpitched) == len(pattern.notes)
    cymbal_heads = {
        u.notehead for u in unpitched if u.displayStep in "GAF" and u.displayOctave == 5
    }
    assert cymbal_heads <= {"x", "circle-x", "diamond"}
    back = read_musicxml(path)
    expected = sorted(drum_notes(pattern), key=lambda d: (d.beat, d.voice.value))
    assert [(d.beat, d.voice) for d in back] == [(d.beat, d.voice) for d in expected]
    assert [d.dynamic == "ghost" for d in back] == [d.dynamic == "ghost" for d in expected]

    # an accent is marked on the stroke (the hands' or the feet's chord) that holds it
    def accented_strokes(notes):
        return {(d.beat, d.voice in FEET) for d in notes if d.dynamic == "accent"}

    assert accented_strokes(back) == accented_strokes(expected)


def test_known_notes_land_on_standard_positions(tmp_path):
    from drumjam.model import Voice

    notes = [
        DrumNote(Fraction(0), Voice.KICK),
        DrumNote(Fraction(1), Voice.SNARE, "accent"),
        DrumNote(Fraction(1, 3), Voice.SNARE, "ghost"),
        DrumNote(Fraction(5, 2), Voice.HIHAT_OPEN),
        DrumNote(Fraction(4), Voice.CRASH),
        DrumNote(Fraction(23, 4), Voice.HIHAT_PEDAL),
    ]
    path = write_musicxml(tmp_path / "known.musicxml", notes, bars=2, title="known")
    text = path.read_text()
    assert "<display-step>F</display-step>" in text and "<display-octave>4</display-octave>" in text
    assert re.search(r"<notehead[^>]*>circle-x</notehead>", text)
    assert re.search(r'<notehead parentheses="yes"', text)
    assert "<accent" in text
    assert read_musicxml(path) == sorted(notes, key=lambda d: (d.beat, d.voice.value))
    with pytest.raises(InputError, match="outside"):
        write_musicxml(tmp_path / "bad.musicxml", [DrumNote(Fraction(9), Voice.KICK)], bars=2)
    assert len(set(STAFF_POSITION.values())) == len(STAFF_POSITION)  # each voice readable back


def test_rendering_is_an_image_with_note_heads(tmp_path):
    pattern = lesson_pattern(*GROOVES_FOR_NOTATION[0])
    svg_path, png_path = render_pattern_files(
        pattern, "soul", tmp_path / "p.svg", tmp_path / "p.png", width_px=1000
    )
    svg = svg_path.read_text()
    assert svg.startswith("<svg") or "<svg" in svg[:200]
    # verovio draws one notehead group per note
    assert len(re.findall(r'class="notehead', svg)) == len(pattern.notes)
    image = Image.open(png_path).convert("L")
    assert image.size[0] == 1000 and 100 < image.size[1] < 1000
    ink = np.asarray(image) < 128
    assert 0.01 < ink.mean() < 0.3
    # the music is spread over the width, not a blank page with a title
    columns = ink.any(axis=0)
    assert columns[int(0.2 * columns.size) : int(0.9 * columns.size)].mean() > 0.5


@pytest.mark.parametrize(("name", "first_bar"), GROOVES_FOR_NOTATION)
def test_svg_engraves_every_bar_and_note(name, first_bar):
    pattern = lesson_pattern(name, first_bar)
    svg = pattern_svg(pattern)
    assert len(re.findall(r'class="measure"', svg)) == pattern.bars
    assert len(re.findall(r'class="notehead', svg)) == len(pattern.notes)


def test_engraving_works_from_any_thread():
    # the web app engraves on its worker threads; verovio's fonts belong to one thread
    from concurrent.futures import ThreadPoolExecutor

    pattern = lesson_pattern(*GROOVES_FOR_NOTATION[0])
    here = pattern_svg(pattern)
    with ThreadPoolExecutor(max_workers=2) as pool:
        there = list(pool.map(lambda _: pattern_svg(pattern), range(3)))
    for svg in [here, *there]:
        assert len(re.findall(r'class="notehead', svg)) == len(pattern.notes)
