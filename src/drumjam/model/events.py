"""Hits a player plays (Take) and notes a player should play (Chart)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import pairwise
from numbers import Rational, Real
from typing import Iterable, Sequence

import numpy as np

from drumjam.errors import InputError
from drumjam.limits import MAX_EVENTS
from drumjam.model.beatmap import (
    BeatMap, check_seconds, is_whole_number, validate_times_s, value_text,
)
from drumjam.model.voices import Voice, VoiceGroup, parse_voice, voice_group


def check_velocity(velocity: int) -> int:
    """A stroke's MIDI velocity as int, checked to be a whole number of 1-127 (the rule of
    :class:`Hit`, :class:`Note` and a lesson's pattern notes).

    A struck note has a velocity of at least 1 (a MIDI note-on of velocity 0 is a note-off).
    Whole floats (``64.0``) are taken; a fraction is refused rather than truncated: whoever
    measures a velocity rounds it (as transcription does), so a fraction here is a mistake.

    Raises
    ------
    InputError
        If it is a bool, not a number, not whole (NaN and infinity included) or outside 1-127.
    """
    if not is_whole_number(velocity):
        fraction = (isinstance(velocity, Real) and not isinstance(velocity, bool)
                    and (isinstance(velocity, Rational) or np.isfinite(float(velocity))))
        fix = ("round it (MIDI velocities are whole numbers)" if fraction
               else "give a MIDI velocity such as 100")
        raise InputError(f"velocity {value_text(velocity)} is not a whole number 1-127; {fix}")
    v = int(velocity)
    if not 1 <= v <= 127:
        why = " (0 is a MIDI note-off, not a stroke)" if v == 0 else ""
        raise InputError(f"velocity {value_text(v)} is outside 1-127{why}; give 1 (softest) to "
                         "127 (hardest)")
    return v


def _normalise_event(event: Hit | Note) -> None:
    """Check and normalise the fields shared by hits and notes (after dataclass init)."""
    object.__setattr__(event, "voice", parse_voice(event.voice))
    object.__setattr__(event, "velocity", check_velocity(event.velocity))
    object.__setattr__(event, "time_s", check_seconds(event.time_s, "time"))


def _normalise_hit(hit: Hit) -> None:
    """Check a hit: the shared fields, and the hi-hat openness within 0-1."""
    _normalise_event(hit)
    openness = hit.hihat_openness
    if openness is not None:
        try:
            value = float(openness)
        except (TypeError, ValueError):
            value = float("nan")
        if not 0.0 <= value <= 1.0:
            raise InputError(f"hi-hat openness {openness!r} is not within 0 (closed) to 1 (open)")
        object.__setattr__(hit, "hihat_openness", value)


def _event_group(event: Hit | Note) -> VoiceGroup:
    """The voice group scoring compares."""
    return voice_group(event.voice)


@dataclass(frozen=True, slots=True)
class Hit:
    """One stroke played by a player.

    Parameters
    ----------
    time_s : float
        When it sounded, in seconds on the session clock.
    voice : Voice
        What was struck.
    velocity : int
        MIDI velocity 1-127 (how hard): a whole number (``64.0`` is taken as 64; 0, the
        MIDI note-off, a fraction such as 64.9 and a bool are refused).
    hihat_openness : float or None
        Hi-hat pedal openness from 0 (closed) to 1 (fully open), where the kit reports it.

    Raises
    ------
    InputError
        Naming the field and the value, if one is out of range or of the wrong kind.
    """

    time_s: float
    voice: Voice
    velocity: int = 100
    hihat_openness: float | None = None

    __post_init__ = _normalise_hit
    group = property(_event_group)


@dataclass(frozen=True, slots=True)
class Note:
    """One stroke a chart asks for: the same fields as a :class:`Hit`."""

    time_s: float
    voice: Voice
    velocity: int = 100

    __post_init__ = _normalise_event
    group = property(_event_group)


class _EventSequence:
    """Shared array views over a time-sorted tuple of hits or notes."""

    events: tuple

    def times_s(self) -> np.ndarray:
        """Event times in seconds."""
        return np.fromiter((e.time_s for e in self.events), dtype=np.float64, count=len(self.events))

    def velocities(self) -> np.ndarray:
        """MIDI velocities."""
        return np.fromiter((e.velocity for e in self.events), dtype=np.int16, count=len(self.events))

    def voices(self) -> list[Voice]:
        """Voice of each event."""
        return [e.voice for e in self.events]

    def groups(self) -> list[VoiceGroup]:
        """Voice group of each event."""
        return [voice_group(e.voice) for e in self.events]

    def __len__(self) -> int:
        return len(self.events)

    @property
    def duration_s(self) -> float:
        """Time of the last event (0 when empty)."""
        return self.events[-1].time_s if self.events else 0.0


def _sorted_events(events: Iterable, kind: str) -> tuple:
    """Events in a canonical order: by time, then voice, then velocity (so any arrival order of
    the same events gives the same sequence)."""
    events = tuple(events)
    wanted = Hit if kind == "hit" else Note
    stray = next((e for e in events if not isinstance(e, wanted)), None)
    if stray is not None:
        raise InputError(f"a {'take' if kind == 'hit' else 'chart'} holds {wanted.__name__} "
                         f"objects, got {type(stray).__name__} {str(stray)[:40]!r}")
    if len(events) > MAX_EVENTS:
        raise InputError(f"{len(events)} {kind}s are more than drumjam scores at once "
                         f"({MAX_EVENTS}); split the {'take' if kind == 'hit' else 'chart'}")
    def order(e: Hit | Note) -> tuple[float, str, int]:
        return (e.time_s, e.voice.value, e.velocity)

    # most sequences arrive sorted: checking costs no copy, sorting a long take does
    if any(order(a) > order(b) for a, b in pairwise(events)):
        events = tuple(sorted(events, key=order))
    validate_times_s(np.fromiter((e.time_s for e in events), np.float64, len(events)), f"{kind} times")
    return events


@dataclass(frozen=True)
class Take(_EventSequence):
    """What one player played: hits in time order.

    Parameters
    ----------
    hits : sequence of Hit
        Sorted by time on construction.
    player : str
        The player's name.
    beatmap : BeatMap or None
        The tempo map the take was recorded against (the click, the song), where known.
    """

    hits: tuple[Hit, ...]
    player: str = "player"
    beatmap: BeatMap | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hits", _sorted_events(self.hits, "hit"))
        if self.beatmap is not None and not isinstance(self.beatmap, BeatMap):
            raise InputError(f"a take's beat map is a BeatMap or None, got "
                             f"{type(self.beatmap).__name__}")

    @property
    def events(self) -> tuple[Hit, ...]:  # type: ignore[override]
        return self.hits

    def shifted(self, offset_s: float) -> Take:
        """Every hit moved by ``offset_s`` (e.g. to remove a measured latency)."""
        return replace(self, hits=tuple(replace(h, time_s=h.time_s + offset_s) for h in self.hits))


@dataclass(frozen=True)
class Chart(_EventSequence):
    """What should be played: notes in time order on a beat map.

    Parameters
    ----------
    notes : sequence of Note
        Sorted by time on construction.
    beatmap : BeatMap
        Beats, bars and tempo of the music the chart belongs to.
    title : str
        Name of the song or groove.
    """

    notes: tuple[Note, ...]
    beatmap: BeatMap
    title: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", _sorted_events(self.notes, "note"))
        if not isinstance(self.beatmap, BeatMap):
            raise InputError(f"a chart's notes stand on a BeatMap, got "
                             f"{type(self.beatmap).__name__}")

    @property
    def events(self) -> tuple[Note, ...]:  # type: ignore[override]
        return self.notes

    def notes_beats(self) -> np.ndarray:
        """Position of each note in beats on the chart's beat map."""
        return self.beatmap.to_beats(self.times_s())

    def scaled(self, speed: float) -> Chart:
        """The chart played at ``speed`` times its tempo (0.5 = half speed)."""
        bm = self.beatmap.scaled(speed)
        notes = tuple(replace(n, time_s=n.time_s / speed) for n in self.notes)
        return replace(self, notes=notes, beatmap=bm)

    def section(self, first_bar: int, last_bar: int) -> Chart:
        """The notes of bars ``first_bar``..``last_bar`` (0-based, inclusive), times unchanged."""
        bars = self.beatmap.bar_index(self.times_s())
        keep = [n for n, b in zip(self.notes, bars) if first_bar <= b <= last_bar]
        return replace(self, notes=tuple(keep))

    @classmethod
    def from_grid(
        cls, beatmap: BeatMap, subdivision: int, voices: Sequence[Voice | str], title: str = ""
    ) -> Chart:
        """A chart with a note of each voice at every grid position (a metronome chart)."""
        times = beatmap.grid(subdivision)
        if times.size * len(voices) > MAX_EVENTS:
            raise InputError(f"a grid chart of {times.size * len(voices)} notes is more than "
                             f"{MAX_EVENTS}; use fewer voices, a coarser grid or a shorter map")
        notes = [Note(t, parse_voice(v)) for t in times for v in voices]
        return cls(tuple(notes), beatmap, title=title or f"grid 1/{subdivision}")
