"""Drum notation: MusicXML out and back in (music21), SVG and PNG rendering (verovio, cairosvg).

The staff is a five-line percussion staff with the usual drum-set positions (kick in the first
space, snare in the third, hi-hat above the staff with an x notehead, cymbals with x noteheads;
pedal hi-hat below with an x). Hands are written stems up in voice 1, feet stems down in
voice 2. Accents get an accent mark, ghost notes parenthesised noteheads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from drumjam.errors import FileFormatError, InputError
from drumjam.limits import BEAT_UNITS, MAX_METER
from drumjam.model import Voice

#: Voice -> (display step and octave on the percussion staff, notehead).
STAFF_POSITION: dict[Voice, tuple[str, str]] = {
    Voice.KICK: ("F4", "normal"),
    Voice.SNARE: ("C5", "normal"),
    Voice.SNARE_RIM: ("C5", "diamond"),
    Voice.SIDE_STICK: ("C5", "circle-x"),
    Voice.HIHAT_CLOSED: ("G5", "x"),
    Voice.HIHAT_OPEN: ("G5", "circle-x"),
    Voice.HIHAT_PEDAL: ("D4", "x"),
    Voice.TOM_HIGH: ("E5", "normal"),
    Voice.TOM_MID: ("D5", "normal"),
    Voice.TOM_FLOOR: ("A4", "normal"),
    Voice.CRASH: ("A5", "x"),
    Voice.RIDE: ("F5", "x"),
    Voice.RIDE_BELL: ("F5", "diamond"),
    Voice.CHINA: ("B5", "x"),
    Voice.SPLASH: ("B5", "circle-x"),
    Voice.COWBELL: ("E5", "triangle"),
    Voice.TAMBOURINE: ("A5", "triangle"),
    Voice.CLAP: ("B4", "x"),
}
_VOICE_AT = {pos: voice for voice, pos in STAFF_POSITION.items()}
#: Voices played with the feet: written in voice 2, stems down.
FEET = frozenset({Voice.KICK, Voice.HIHAT_PEDAL})
#: Most bars written as notation at once (a lesson's groove, or a song's part in pages).
MAX_NOTATION_BARS = 256


@dataclass(frozen=True)
class DrumNote:
    """A note on the drum staff.

    Parameters
    ----------
    beat : Fraction
        Written position in beats from the start of the first bar.
    voice : Voice
        The drum.
    dynamic : str
        ``"accent"``, ``"normal"`` or ``"ghost"``.
    """

    beat: Fraction
    voice: Voice
    dynamic: str = "normal"


def _split_at_beats(start: Fraction, end: Fraction) -> list[tuple[Fraction, Fraction]]:
    """Pieces of ``[start, end)`` that do not cross a beat line."""
    pieces = []
    while start < end:
        boundary = min(end, Fraction(int(start) + 1))
        pieces.append((start, boundary))
        start = boundary
    return pieces


def _fill_voice(
    measure_voice,
    onsets: dict[Fraction, list[DrumNote]],
    bar_beats: int,
    stem: str,
    quarter_per_beat: Fraction,
) -> None:
    """Write chords at the onsets and rests between them, never across a beat line."""
    from music21 import articulations, note, percussion

    times = sorted(onsets)
    cursor = Fraction(0)
    for i, onset in enumerate(times):
        for a, b in _split_at_beats(cursor, onset):
            measure_voice.append(note.Rest(quarterLength=(b - a) * quarter_per_beat))
        nxt = times[i + 1] if i + 1 < len(times) else Fraction(bar_beats)
        end = min(nxt, Fraction(int(onset) + 1))
        members = []
        for dn in sorted(onsets[onset], key=lambda d: d.voice.value):
            display, head = STAFF_POSITION[dn.voice]
            u = note.Unpitched(displayName=display)
            u.notehead = head
            u.stemDirection = stem
            if dn.dynamic == "ghost":
                u.noteheadParenthesis = True
            members.append(u)
        chord = percussion.PercussionChord(members) if len(members) > 1 else members[0]
        chord.quarterLength = (end - onset) * quarter_per_beat
        chord.stemDirection = stem
        if any(d.dynamic == "accent" for d in onsets[onset]):
            chord.articulations.append(articulations.Accent())
        measure_voice.append(chord)
        cursor = end
    for a, b in _split_at_beats(cursor, Fraction(bar_beats)):
        measure_voice.append(note.Rest(quarterLength=(b - a) * quarter_per_beat))


def to_score(
    notes: Iterable[DrumNote],
    bars: int,
    meter: int = 4,
    beat_unit: int = 4,
    title: str = "",
    tempo_bpm: float | None = None,
    swing_ratio: float | None = None,
):
    """A music21 score of drum notes.

    Parameters
    ----------
    notes : iterable of DrumNote
        The notes, positions in beats from the first bar line.
    bars : int
        Number of bars to write.
    meter, beat_unit : int
        Time signature (``meter``/``beat_unit``).
    title : str
        Title of the piece.
    tempo_bpm : float, optional
        Metronome mark.
    swing_ratio : float, optional
        Written as "Swing r:1" above the first bar (eighths are written straight).

    Returns
    -------
    music21.stream.Score
    """
    from music21 import clef, expressions, instrument, metadata, stream, tempo
    from music21 import meter as m21meter

    if not 1 <= bars <= MAX_NOTATION_BARS:
        raise InputError(f"{bars} bars of notation: write 1-{MAX_NOTATION_BARS} bars at a time")
    if not 1 <= meter <= MAX_METER or beat_unit not in BEAT_UNITS:
        raise InputError(f"time signature {meter}/{beat_unit} cannot be written; use 1-{MAX_METER} "
                         "beats of a whole, half, quarter ... 32nd note")
    quarter_per_beat = Fraction(4, beat_unit)
    by_bar: dict[int, dict[bool, dict[Fraction, list[DrumNote]]]] = {}
    for dn in notes:
        if dn.voice not in STAFF_POSITION:
            raise InputError(f"voice {dn.voice} has no place on the drum staff")
        bar, pos = divmod(Fraction(dn.beat), meter)
        if not 0 <= bar < bars:
            raise InputError(f"note at beat {dn.beat} lies outside the {bars} bars written")
        by_bar.setdefault(int(bar), {True: {}, False: {}})[dn.voice in FEET].setdefault(
            pos, []
        ).append(dn)
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title or "Drum pattern")
    part = stream.Part()
    part.partName = "Drum set"
    part.insert(0, instrument.UnpitchedPercussion())
    for b in range(bars):
        measure = stream.Measure(number=b + 1)
        if b == 0:
            measure.insert(0, clef.PercussionClef())
            measure.insert(0, m21meter.TimeSignature(f"{meter}/{beat_unit}"))
            if tempo_bpm:
                measure.insert(0, tempo.MetronomeMark(number=round(tempo_bpm)))
            if swing_ratio and swing_ratio > 1.0:
                measure.insert(0, expressions.TextExpression(f"Swing {swing_ratio:.2f}:1"))
        content = by_bar.get(b, {True: {}, False: {}})
        hands, feet = stream.Voice(id="1"), stream.Voice(id="2")
        _fill_voice(hands, content[False], meter, "up", quarter_per_beat)
        measure.insert(0, hands)
        if content[True]:
            _fill_voice(feet, content[True], meter, "down", quarter_per_beat)
            measure.insert(0, feet)
        part.append(measure)
    score.insert(0, part)
    return score


def musicxml_string(notes: Iterable[DrumNote], bars: int, **kwargs) -> str:
    """The MusicXML text of :func:`to_score` (same parameters)."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    data = GeneralObjectExporter(to_score(notes, bars, **kwargs)).parse()
    return data.decode("utf-8")


def write_musicxml(path: str | Path, notes: Iterable[DrumNote], bars: int, **kwargs) -> Path:
    """Write drum notes as a MusicXML file (parameters as :func:`to_score`)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(musicxml_string(notes, bars, **kwargs), encoding="utf-8")
    return out


def read_musicxml(path: str | Path) -> list[DrumNote]:
    """Read the drum notes of a MusicXML file written by :func:`write_musicxml`.

    Notes are identified by staff position and notehead (:data:`STAFF_POSITION`); positions
    come back in beats from the first bar line.
    """
    from music21 import articulations, converter, note, percussion

    try:
        score = converter.parse(str(path), format="musicxml")
    except Exception as exc:  # music21 raises many kinds for a bad file
        raise FileFormatError(
            path, f"not readable as MusicXML ({exc})", "export it again with drumjam lesson export"
        ) from exc
    ts = score.recurse().getElementsByClass("TimeSignature").first()
    beats_per_quarter = Fraction(ts.denominator, 4) if ts is not None else Fraction(1)
    out = []
    for element in score.recurse().notes:
        members = element.notes if isinstance(element, percussion.PercussionChord) else [element]
        beat = Fraction(element.getOffsetInHierarchy(score)).limit_denominator(96)
        accent = any(isinstance(a, articulations.Accent) for a in element.articulations)
        for u in members:
            if not isinstance(u, note.Unpitched):
                continue
            key = (f"{u.displayStep}{u.displayOctave}", u.notehead or "normal")
            voice = _VOICE_AT.get(key)
            if voice is None:
                raise FileFormatError(
                    path,
                    f"no drum voice is written as {key[0]} with a {key[1]} notehead",
                    "use drumjam's drum staff positions",
                )
            dynamic = "ghost" if u.noteheadParenthesis else ("accent" if accent else "normal")
            out.append(DrumNote(beat * beats_per_quarter, voice, dynamic))
    return sorted(out, key=lambda d: (d.beat, d.voice.value))


#: verovio loads its fonts for the first thread that uses it and fails on any other, so every
#: engraving runs on this one thread (which also keeps verovio from running twice at once).
_ENGRAVER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verovio")


def render_svg(musicxml: str, scale_pct: int = 40, max_width_px: int = 2400) -> str:
    """Engrave MusicXML text as SVG with verovio (first page, fitted to the music).

    Parameters
    ----------
    musicxml : str
        The MusicXML text.
    scale_pct : int
        Engraving scale (verovio's ``scale``).
    max_width_px : int
        Longest system before the music wraps to a new line.
    """
    return _ENGRAVER.submit(_engrave, musicxml, scale_pct, max_width_px).result()


def _engrave(musicxml: str, scale_pct: int, max_width_px: int) -> str:
    import verovio

    tk = verovio.toolkit()
    tk.setOptions(
        {
            "pageWidth": int(max_width_px * 100 / scale_pct),
            "scale": int(scale_pct),
            "adjustPageHeight": True,
            "adjustPageWidth": True,
            "breaks": "auto",
            "footer": "none",
            "header": "auto",
        }
    )
    if not tk.loadData(musicxml):
        raise InputError("verovio could not read the MusicXML")
    return tk.renderToSVG(1)


#: SMuFL glyphs verovio writes as text in its embedded web font, which cairo cannot load,
#: with the Unicode character to draw instead (the metronome mark's quarter note).
_TEXT_GLYPHS = {"\ueca5": "\u2669", "\ueca7": "\u266a"}


def render_png(svg: str, path: str | Path, width_px: int | None = None) -> Path:
    """Rasterise SVG notation to a PNG on a white background (cairosvg).

    Parameters
    ----------
    svg : str
        SVG from :func:`render_svg`.
    path : str or Path
        Where to write the PNG.
    width_px : int, optional
        Width of the image (default: the SVG's own).
    """
    import cairosvg

    def plain(match: re.Match) -> str:
        size = int(match.group(1)) * 3 // 4
        return (
            f'<tspan font-family="DejaVu Sans" font-size="{size}px">'
            f"{_TEXT_GLYPHS[match.group(2)]}</tspan>"
        )

    glyphs = "".join(_TEXT_GLYPHS)
    svg = re.sub(
        rf'<tspan font-family="Leipzig" font-size="(\d+)px">([{glyphs}])</tspan>', plain, svg
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    cairosvg.svg2png(
        bytestring=svg.encode("utf-8"),
        write_to=str(out),
        output_width=width_px,
        background_color="white",
    )
    return out
