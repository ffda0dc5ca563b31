"""Feedback per voice and per position in the bar: "hi-hat on the 'and' of 2 is 15 ms early"."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from drumjam.lesson.grid import GridKind
from drumjam.lesson.pattern import Pattern
from drumjam.model import voice_group

#: A position whose mean offset is at least this far off (ms) gets a remark.
DEFAULT_REMARK_MS = 10.0
#: A ghost note played at this fraction of the player's loud notes of the voice is too loud.
GHOST_TOO_LOUD = 0.75
#: Velocities of a voice that span less than this carry no dynamics (a computer keyboard).
MIN_VELOCITY_RANGE = 20

VOICE_NAMES = {
    "kick": "kick",
    "snare": "snare",
    "hihat": "hi-hat",
    "hihat_pedal": "hi-hat pedal",
    "tom_high": "high tom",
    "tom_mid": "mid tom",
    "tom_floor": "floor tom",
    "crash": "crash",
    "ride": "ride",
    "percussion": "percussion",
}

_SYLLABLES = {
    GridKind.SIXTEENTHS: {Fraction(1, 4): "e", Fraction(1, 2): "and", Fraction(3, 4): "a"},
    GridKind.TRIPLETS: {Fraction(1, 3): "trip", Fraction(2, 3): "let"},
    GridKind.SWUNG_EIGHTHS: {Fraction(1, 2): "and"},
}


def position_name(beat_in_bar: Fraction, grid: GridKind) -> str:
    """How a drummer counts a position: ``"2"``, ``"the 'and' of 2"``, ``"the 'trip' of 3"``."""
    whole = int(beat_in_bar)
    frac = beat_in_bar - whole
    if frac == 0:
        return str(whole + 1)
    syllable = _SYLLABLES[grid].get(frac)
    if syllable is None:
        return f"{whole + 1} + {frac}"
    return f"the '{syllable}' of {whole + 1}"


@dataclass(frozen=True)
class Remark:
    """What one voice does at one position of the pattern, over every loop of an attempt.

    Attributes
    ----------
    voice : str
        Voice group.
    bar : int
        Bar of the pattern, 1-based.
    position : str
        The counted position, e.g. ``"the 'and' of 2"``.
    mean_offset_ms : float or None
        Mean offset of the played notes from their targets (positive = late).
    played, missed : int
        Notes played and not played at this position.
    message : str
        The remark in words.
    kind : str
        ``"missed"``, ``"timing"`` or ``"dynamics"``.
    """

    voice: str
    bar: int
    position: str
    mean_offset_ms: float | None
    played: int
    missed: int
    message: str
    kind: str = "timing"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _where(voice: str, position: str, bar: int, bars: int) -> str:
    name = VOICE_NAMES.get(voice, voice)
    return f"{name} on {position}" + (f" (bar {bar})" if bars > 1 else "")


def _loudness(velocities: Sequence[float]) -> tuple[float, float] | None:
    """(loud, median) velocity of a voice when the player varies it at all, else None.

    A keyboard sends one velocity for every hit: then there is nothing to say on dynamics.
    """
    if len(velocities) < 2 or max(velocities) - min(velocities) < MIN_VELOCITY_RANGE:
        return None
    return float(np.percentile(velocities, 90)), float(np.median(velocities))


def remarks(
    pattern: Pattern,
    note_offsets_ms: Sequence[Sequence[float | None]],
    remark_ms: float = DEFAULT_REMARK_MS,
    note_velocities: Sequence[Sequence[int | None]] | None = None,
) -> list[Remark]:
    """Remarks on an attempt, worst first.

    Parameters
    ----------
    pattern : Pattern
        The pattern played.
    note_offsets_ms : sequence of sequences
        For each note of the pattern, the offset of the hit that played it in each loop
        (None where it was not played).
    remark_ms : float
        Offsets smaller than this (in absolute value) are not remarked on.
    note_velocities : sequence of sequences, optional
        The velocity of those hits (None where not played), for remarks on dynamics.

    Returns
    -------
    list of Remark
        Positions missed in half the loops or more, played too early or late (mean over the
        loops), and ghost notes played loud or accents played soft; notes of one voice group
        at one position are taken together.
    """
    velocities = note_velocities or [[None] * len(o) for o in note_offsets_ms]
    cells: dict[tuple[str, int, Fraction], dict[str, list]] = defaultdict(
        lambda: {"offsets": [], "velocities": [], "dynamics": set()}
    )
    by_voice: dict[str, list[int]] = defaultdict(list)
    for note, offsets, vels in zip(pattern.notes, note_offsets_ms, velocities):
        bar, beat_in_bar = divmod(note.beat, pattern.meter)
        group = voice_group(note.voice).value
        cell = cells[(group, int(bar), beat_in_bar)]
        cell["offsets"].extend(offsets)
        cell["velocities"].extend(v for v in vels if v is not None)
        cell["dynamics"].add(note.dynamic)
        by_voice[group].extend(v for v in vels if v is not None)
    loudness = {g: _loudness(v) for g, v in by_voice.items()}
    out: list[tuple[float, Remark]] = []
    for (voice, bar, beat_in_bar), cell in cells.items():
        offsets = cell["offsets"]
        played = [o for o in offsets if o is not None]
        missed = len(offsets) - len(played)
        mean = float(np.mean(played)) if played else None
        position = position_name(beat_in_bar, pattern.grid)
        where = _where(voice, position, bar + 1, pattern.bars)
        said: list[tuple[float, str, str]] = []  # (severity, message, kind)
        if missed * 2 >= len(offsets) and missed:
            said.append(
                (1000.0 + missed, f"{where} was missed {missed} of {len(offsets)} times", "missed")
            )
        elif mean is not None and abs(mean) >= remark_ms:
            said.append(
                (
                    abs(mean),
                    f"{where} is {abs(mean):.0f} ms {'late' if mean > 0 else 'early'}",
                    "timing",
                )
            )
        level = loudness.get(voice)
        if level is not None and cell["velocities"]:
            loud, median = level
            played_velocity = float(np.median(cell["velocities"]))
            if cell["dynamics"] == {"ghost"} and played_velocity >= GHOST_TOO_LOUD * loud:
                said.append((remark_ms / 2, f"{where} is a ghost note: play it softer", "dynamics"))
            elif "accent" in cell["dynamics"] and played_velocity <= median:
                said.append((remark_ms / 2, f"{where} is accented: play it louder", "dynamics"))
        mean_ms = None if mean is None else round(mean, 1)
        out += [
            (
                severity,
                Remark(voice, bar + 1, position, mean_ms, len(played), missed, message, kind),
            )
            for severity, message, kind in said
        ]
    out.sort(key=lambda item: -item[0])
    return [r for _, r in out]


def voice_summary(
    pattern: Pattern, note_offsets_ms: Sequence[Sequence[float | None]], remark_ms: float
) -> list[str]:
    """One sentence per voice group that sits early or late on the whole."""
    by_voice: dict[str, list[float]] = defaultdict(list)
    for note, offsets in zip(pattern.notes, note_offsets_ms):
        by_voice[voice_group(note.voice).value].extend(o for o in offsets if o is not None)
    lines = []
    for voice, offsets in sorted(by_voice.items()):
        if offsets and abs(np.mean(offsets)) >= remark_ms:
            mean = float(np.mean(offsets))
            lines.append(
                f"{VOICE_NAMES.get(voice, voice)} is {abs(mean):.0f} ms "
                f"{'late' if mean > 0 else 'early'} on average"
            )
    return lines
