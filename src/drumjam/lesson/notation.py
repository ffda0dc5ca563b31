"""A pattern as drum notation: MusicXML, SVG and PNG (see :mod:`drumjam.io.musicxml`)."""

from __future__ import annotations

from pathlib import Path

from drumjam.io.musicxml import DrumNote, musicxml_string, render_png, render_svg
from drumjam.lesson.grid import GridKind
from drumjam.lesson.pattern import Pattern


def drum_notes(pattern: Pattern) -> list[DrumNote]:
    """The pattern's notes as notation (written positions, dynamics kept)."""
    return [DrumNote(n.beat, n.voice, n.dynamic) for n in pattern.notes]


def pattern_musicxml(pattern: Pattern, title: str = "") -> str:
    """MusicXML text of one loop of the pattern, with its tempo and (when swung) its swing."""
    return musicxml_string(
        drum_notes(pattern),
        pattern.bars,
        meter=pattern.meter,
        beat_unit=pattern.beat_unit,
        title=title,
        tempo_bpm=pattern.tempo_bpm,
        swing_ratio=pattern.swing_ratio if pattern.grid is GridKind.SWUNG_EIGHTHS else None,
    )


def pattern_svg(pattern: Pattern, title: str = "", scale_pct: int = 40) -> str:
    """The pattern engraved as SVG (``scale_pct``: engraving size, verovio's scale)."""
    return render_svg(pattern_musicxml(pattern, title), scale_pct=scale_pct)


def render_pattern_files(
    pattern: Pattern,
    title: str = "",
    svg_path: str | Path | None = None,
    png_path: str | Path | None = None,
    width_px: int = 1200,
) -> list[Path]:
    """Write the engraved pattern as SVG and/or PNG (``width_px`` wide); the paths written."""
    if svg_path is None and png_path is None:
        return []
    svg = pattern_svg(pattern, title)
    written = []
    if svg_path is not None:
        out = Path(svg_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(svg, encoding="utf-8")
        written.append(out)
    if png_path is not None:
        written.append(render_png(svg, png_path, width_px=width_px))
    return written
