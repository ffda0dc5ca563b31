"""Practice settings: speed and a looped range of bars, applied to a chart and its beat map.

A practice timeline starts one bar (the lead-in, where the count-in clicks) before the music,
so an early hit on the very first note still has a time >= 0. After the lead-in it is the
song's own time (scaled by the speed); with a loop of bars ``first..last`` repeated
``repeats`` times it is that section played back to back, so a hit in the third pass is scored
against the third copy of the section's notes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from drumjam.errors import InputError
from drumjam.model import BeatMap, Chart

MAX_REPEATS = 64


@dataclass(frozen=True)
class Practice:
    """How a song is practised.

    Parameters
    ----------
    speed : float
        Playback speed, 1.0 = the song's tempo (the audio keeps its pitch).
    loop_bars : tuple of int or None
        First and last bar (0-based, inclusive) to loop; None plays the whole song.
    repeats : int
        How many times the loop plays.
    """

    speed: float = 1.0
    loop_bars: tuple[int, int] | None = None
    repeats: int = 4

    def __post_init__(self) -> None:
        if self.loop_bars is not None:
            first, last = (int(b) for b in self.loop_bars)
            if first < 0 or last < first:
                raise InputError(
                    f"loop bars {first}-{last} are not a range; give first <= last, from bar 0")
            object.__setattr__(self, "loop_bars", (first, last))
        if not 1 <= int(self.repeats) <= MAX_REPEATS:
            raise InputError(f"loop repeats {self.repeats} out of range; use 1-{MAX_REPEATS}")


@dataclass(frozen=True)
class PracticePlan:
    """A chart and beat map on the practice timeline, and the audio range that plays.

    Attributes
    ----------
    chart : Chart or None
        Notes on the practice timeline (None when the song is played on the grid).
    beatmap : BeatMap
        Beats on the practice timeline.
    lead_in_s : float
        Where the music starts on the timeline (one bar).
    audio_start_s, audio_end_s : float
        The range of the (speed-changed) backing track that plays from ``lead_in_s`` on;
        looped when ``looped``.
    looped : bool
        Whether the audio range repeats.
    duration_s : float
        Length of the whole practice timeline.
    """

    chart: Chart | None
    beatmap: BeatMap
    lead_in_s: float
    audio_start_s: float
    audio_end_s: float
    looped: bool
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON for the browser: notes, beats and the audio range."""
        notes = [] if self.chart is None else [
            {"time_s": round(n.time_s, 6), "voice": n.voice.value, "velocity": n.velocity}
            for n in self.chart.notes
        ]
        return {
            "notes": notes,
            "beatmap": self.beatmap.to_dict(),
            "lead_in_s": round(self.lead_in_s, 6),
            "audio_start_s": round(self.audio_start_s, 6),
            "audio_end_s": round(self.audio_end_s, 6),
            "looped": self.looped,
            "duration_s": round(self.duration_s, 6),
        }


def plan_practice(chart: Chart | None, beatmap: BeatMap, practice: Practice) -> PracticePlan:
    """Put a chart (or a bare beat map) on the practice timeline.

    Parameters
    ----------
    chart : Chart or None
        The song's chart on ``beatmap``; None for songs played on the grid.
    beatmap : BeatMap
        The song's beat map at its own tempo.
    practice : Practice
        Speed and loop.

    Returns
    -------
    PracticePlan
    """
    speed = practice.speed
    bm = beatmap.scaled(speed)
    ch = chart.scaled(speed) if chart is not None else None
    lead_s = bm.meter * float(bm.beats_s[1] - bm.beats_s[0])
    if practice.loop_bars is None:
        end_s = max(bm.end_s, ch.duration_s if ch is not None else 0.0)
        return PracticePlan(_shift_chart(ch, lead_s), bm.shifted(lead_s), lead_s, 0.0, end_s, False,
                            lead_s + end_s)
    first, last = practice.loop_bars
    downbeats = bm.downbeats_s
    if last + 1 >= downbeats.size:
        raise InputError(
            f"loop bars {first}-{last} go past the song's last bar {downbeats.size - 2}; "
            f"choose bars 0-{downbeats.size - 2}")
    start_s, end_s = float(downbeats[first]), float(downbeats[last + 1])
    length_s = end_s - start_s
    n = practice.repeats
    section_beats = bm.beats_s[(bm.beats_s >= start_s - 1e-9) & (bm.beats_s < end_s - 1e-9)] - start_s
    section_downbeats = downbeats[first:last + 1] - start_s
    passes = np.arange(n)[:, None] * length_s + lead_s
    beats = np.concatenate([(section_beats[None, :] + passes).ravel(), [lead_s + n * length_s]])
    bars = np.concatenate([(section_downbeats[None, :] + passes).ravel(), [lead_s + n * length_s]])
    loop_bm = BeatMap(beats, bars, meter=bm.meter, beat_unit=bm.beat_unit, confidence=bm.confidence)
    loop_chart = None
    if ch is not None:
        # by exact time, not Chart.section: a note just before the next downbeat (the last
        # sixteenth of the bar) belongs to this bar of the chart
        section = [note for note in ch.notes if start_s - 1e-6 <= note.time_s < end_s - 1e-6]
        notes = tuple(
            replace(note, time_s=lead_s + max(0.0, note.time_s - start_s) + k * length_s)
            for k in range(n) for note in section
        )
        loop_chart = replace(ch, notes=notes, beatmap=loop_bm)
    return PracticePlan(loop_chart, loop_bm, lead_s, start_s, end_s, True, lead_s + n * length_s)


def _shift_chart(chart: Chart | None, offset_s: float) -> Chart | None:
    if chart is None:
        return None
    notes = tuple(replace(n, time_s=n.time_s + offset_s) for n in chart.notes)
    return replace(chart, notes=notes, beatmap=chart.beatmap.shifted(offset_s))
