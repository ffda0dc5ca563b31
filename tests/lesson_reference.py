"""Reference measurements of Groove MIDI files, made straight from the MIDI ticks with mido.

They share no code with :mod:`drumjam.lesson`: the tests and the benchmark compare what the
lesson code extracts with what these direct computations find in the file itself.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from pathlib import Path

import mido
import numpy as np

from drumjam.model import get_kit_map, voice_group
from drumjam.model.voices import VoiceGroup

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GROOVES = DATA / "groove-midi"

#: Steps per beat of the written grid of each grid kind.
WRITTEN_STEPS = {"16th": 4, "triplet": 3, "swing8": 2}


def note_onsets(path: Path) -> tuple[np.ndarray, list[VoiceGroup], int]:
    """Positions in beats (ticks / ticks per beat) and voice groups of every drum note-on."""
    midi = mido.MidiFile(path)
    kit = get_kit_map("roland")
    positions, groups = [], []
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                voice = kit.voice_of(msg.note)
                if voice is not None:
                    positions.append(tick / midi.ticks_per_beat)
                    groups.append(voice_group(voice))
    order = np.argsort(positions, kind="stable")
    return np.asarray(positions)[order], [groups[i] for i in order], midi.ticks_per_beat


def quantised_bars(
    path: Path,
    grid: str,
    first_bar: int,
    n_bars: int,
    meter: int = 4,
    swing_ratio: float = 1.0,
) -> dict[int, set[tuple[Fraction, VoiceGroup]]]:
    """The file's notes in bars ``first_bar ..`` rounded to the written grid: bar -> keys.

    On the ``swing8`` grid a note goes to the nearest of the beat, the swung off-beat (at
    ``swing_ratio / (1 + swing_ratio)`` of the beat) and the next beat, and is written on the
    beat or the straight off-beat.
    """
    positions, groups, _ = note_onsets(path)
    steps = WRITTEN_STEPS[grid]
    bars: dict[int, set] = {b: set() for b in range(first_bar, first_bar + n_bars)}
    swung = np.array([0.0, swing_ratio / (1.0 + swing_ratio), 1.0])
    for pos, group in zip(positions, groups):
        if grid == "swing8":
            k = int(np.floor(pos))
            q = k + Fraction(int(np.argmin(np.abs(pos - k - swung))), 2)
        else:
            q = Fraction(round(pos * steps), steps)
        bar = int(q // meter)
        if bar in bars:
            bars[bar].add((q - bar * meter, group))
    return bars


def swing_ratio_direct(path: Path, first_bar: int = 0, n_bars: int | None = None) -> float:
    """Long-to-short ratio of the time-keeper's eighths, from onset pairs within each beat.

    For every beat where the hi-hat (or the ride, whichever plays more in those bars) has a
    note on the beat and one between the beats, the ratio is (off-beat - on-beat) / (next
    beat - off-beat), all in beats as the drummer played them; the median over the beats is
    returned (NaN when no beat has such a pair).
    """
    positions, groups, _ = note_onsets(path)
    lo = first_bar * 4
    hi = np.inf if n_bars is None else (first_bar + n_bars) * 4
    inside = (positions >= lo - 0.2) & (positions < hi + 0.2)
    counts = Counter(
        g for g, keep in zip(groups, inside) if keep and g in (VoiceGroup.HIHAT, VoiceGroup.RIDE)
    )
    if not counts:
        return float("nan")
    keeper = counts.most_common(1)[0][0]
    pos = np.array([p for p, g in zip(positions, groups) if g == keeper])
    ratios = []
    for k in range(int(lo), int(min(hi, pos.max() + 1))):
        on = pos[np.abs(pos - k) < 0.15]
        nxt = pos[np.abs(pos - (k + 1)) < 0.15]
        off = pos[(pos > k + 0.4) & (pos < k + 0.85)]
        if on.size and nxt.size and off.size:
            ratios.append((off[0] - on[0]) / (nxt[0] - off[0]))
    return float(np.median(ratios)) if ratios else float("nan")
