"""A teacher's groove as a pattern: the repeating bars, quantised, with dynamics and feel.

:func:`extract_pattern` reads a take against its beat map, removes the drummer's overall lead
or lag, chooses the grid (straight 16ths, triplets or swung eighths with the measured swing
ratio), snaps every hit to it, and finds the one-, two- or four-bar pattern that the bars
repeat (the groove most of them share, found from the most typical bar, so that a second
section or many fills do not blur it). Bars that differ too much from the pattern (fills) are
left out of it and reported.
Each pattern note keeps the teacher's velocity (accent, normal or ghost) and microtiming
(its median offset from the grid in ms: the "feel").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral, Rational, Real
from typing import Any

import numpy as np

from drumjam.errors import InputError
from drumjam.io.musicxml import MAX_NOTATION_BARS
from drumjam.lesson.config import check_tempo
from drumjam.lesson.grid import OFFBEAT_WINDOW, STEPS_PER_BEAT, GridKind, choose_grid, played_beat, snap
from drumjam.limits import MAX_BEATS, MIN_TEMPO_BPM
from drumjam.model import BeatMap, Chart, Note, Take, Voice, VoiceGroup, parse_voice, voice_group
from drumjam.model.beatmap import check_meter, is_whole_number, value_text
from drumjam.model.dynamics import dynamic_marks, loudness_reference
from drumjam.model.events import check_velocity

#: Pattern lengths tried, in bars.
PATTERN_LENGTHS_BARS = (1, 2, 4)
#: A bar whose notes agree with the pattern's by less than this F-measure is a fill.
FILL_THRESHOLD = 0.7
#: A longer pattern is chosen only if it fits the bars better by more than this.
LONGER_PATTERN_GAIN = 0.05
#: Voice groups that keep time (the swing is measured on whichever plays more).
TIMEKEEPERS = (VoiceGroup.HIHAT, VoiceGroup.RIDE)
#: How a pattern note is played against the loudness of its voice group.
DYNAMICS = ("accent", "normal", "ghost")
#: Largest feel (a note's offset from its grid point) in ms, either way: one beat at the slowest
#: tempo a beat map has. A note snapped to the grid is less than a beat from its grid point; one
#: further off is at another position, not played with a feel.
MAX_FEEL_MS = 60_000.0 / MIN_TEMPO_BPM


def _beat_text(beat: Fraction) -> str:
    """A position for a message, as ``3/2`` (a position too long to print is said so)."""
    try:
        return str(beat)
    except ValueError:
        return "a number too long to write out"


def _check_beat(beat: Any, voice: Voice) -> Fraction:
    """A note's written position as an exact Fraction of beats: a finite number from 0 up, less
    than the longest pattern (:data:`~drumjam.limits.MAX_BEATS` beats); ``voice`` names the
    note in the message."""
    if isinstance(beat, bool) or not isinstance(beat, Real):
        raise InputError(f"beat {value_text(beat)} ({voice.value}) is not a position in beats; "
                         "give a number or a Fraction such as Fraction(3, 2)")
    try:
        exact = Fraction(beat) if isinstance(beat, Rational) else Fraction(float(beat))
    except (ValueError, OverflowError):  # NaN, infinity
        raise InputError(f"beat {value_text(beat)} ({voice.value}) is not a finite position in "
                         "beats; give a number of beats from the pattern's start") from None
    if exact < 0:
        raise InputError(f"beat {_beat_text(exact)} ({voice.value}) is before the pattern's "
                         "start; give a position from 0 up, in beats from the pattern's first beat")
    if exact >= MAX_BEATS:
        raise InputError(f"beat {_beat_text(exact)} ({voice.value}) lies past the longest pattern "
                         f"({MAX_BEATS} beats, the most a beat map holds); give a beat within "
                         "the pattern")
    return exact


@dataclass(frozen=True)
class PatternNote:
    """One note of a pattern.

    Parameters
    ----------
    beat : Fraction
        Written position in beats from the start of the pattern, from 0 (an int or a float is
        taken as the exact Fraction it is).
    voice : Voice
        What to play (a voice name is taken).
    velocity : int
        The teacher's median velocity: a whole MIDI velocity 1-127, by the rule of
        :class:`~drumjam.model.Note` (64.9 is refused, not truncated).
    dynamic : str
        ``"accent"``, ``"normal"`` or ``"ghost"``.
    feel_ms : float
        The teacher's median offset from the grid (positive = behind the beat), finite and
        within :data:`MAX_FEEL_MS` either way.

    Raises
    ------
    InputError
        Naming the field, the value and the fix, if one is of the wrong kind or out of range.
    """

    beat: Fraction
    voice: Voice
    velocity: int = 100
    dynamic: str = "normal"
    feel_ms: float = 0.0

    def __post_init__(self) -> None:
        voice = parse_voice(self.voice)
        object.__setattr__(self, "voice", voice)
        object.__setattr__(self, "beat", _check_beat(self.beat, voice))
        object.__setattr__(self, "velocity", check_velocity(self.velocity))
        if not (isinstance(self.dynamic, str) and self.dynamic in DYNAMICS):
            raise InputError(f"dynamic {value_text(self.dynamic)} is not a dynamic drumjam "
                             f"writes; give one of {', '.join(map(repr, DYNAMICS))}")
        feel = self.feel_ms
        if isinstance(feel, bool) or not isinstance(feel, Real) or not abs(feel) <= MAX_FEEL_MS:
            raise InputError(f"feel_ms {value_text(feel)} is not an offset from the grid of "
                             f"-{MAX_FEEL_MS:.0f} to {MAX_FEEL_MS:.0f} ms; give the note's "
                             "offset in ms (positive = behind the beat), e.g. 0 or 12.5")
        object.__setattr__(self, "feel_ms", float(feel))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the beat as a ``"n/d"`` string, exact)."""
        return {
            "beat": f"{self.beat.numerator}/{self.beat.denominator}",
            "voice": self.voice.value,
            "velocity": self.velocity,
            "dynamic": self.dynamic,
            "feel_ms": round(self.feel_ms, 2),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PatternNote:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        InputError
            If the beat is not a finite number or fraction (``"3/2"``, ``"1/0"`` included), or
            a field is one the constructor refuses (a velocity of 64.9 is refused, not
            truncated).
        """
        try:
            beat = Fraction(data["beat"])
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            raise InputError(f"beat {value_text(data['beat'])} is not a position in beats; "
                             "write a number or a fraction such as '3/2'") from None
        return cls(  # every field is checked by the constructor
            beat,
            data["voice"],
            data.get("velocity", 100),
            data.get("dynamic", "normal"),
            data.get("feel_ms", 0.0),
        )


@dataclass(frozen=True)
class Pattern:
    """A groove to learn: notes on a grid over a whole number of bars.

    Parameters
    ----------
    notes : tuple of PatternNote
        Sorted by position.
    bars : int
        Length of the pattern in bars.
    meter : int
        Beats per bar.
    grid : GridKind
        The grid the notes are written on.
    swing_ratio : float
        Measured long-to-short ratio of the off-beat eighths (1.0 = straight, 2.0 = triplet
        shuffle); swung eighths are played with it.
    tempo_bpm : float
        The teacher's tempo, the target of the tempo trainer.
    source_bars : tuple of int
        Bars of the teacher's take (0-based) that the pattern was taken from.
    fill_bars : tuple of int
        Bars of the take left out as fills or variations.
    consistency : float
        Mean agreement (F-measure) of the source bars with the pattern, 0-1.
    beat_unit : int
        Note value of the beat (4 = quarter note).
    start_bar : int
        A bar of the take where the pattern starts (the take's bar ``start_bar + k * bars``
        is the pattern's first bar), from 0.

    Raises
    ------
    InputError
        Naming the field, the value and the fix: bars that are not a whole number from 1 or
        make more beats than a beat map holds (``bars * meter`` over
        :data:`~drumjam.limits.MAX_BEATS`), a bad metre or grid, a start bar that is not a
        whole bar of a take, or a note that is not a :class:`PatternNote` inside the pattern.
    """

    notes: tuple[PatternNote, ...]
    bars: int
    meter: int = 4
    grid: GridKind = GridKind.SIXTEENTHS
    swing_ratio: float = 1.0
    tempo_bpm: float = 120.0
    source_bars: tuple[int, ...] = ()
    fill_bars: tuple[int, ...] = ()
    consistency: float = 1.0
    beat_unit: int = 4
    start_bar: int = 0

    def __post_init__(self) -> None:
        bars = self.bars
        if not (is_whole_number(bars) and bars >= 1):
            raise InputError(f"pattern bars {bars!r} is not a whole number of bars from 1 up; "
                             "give the pattern's length, e.g. bars=1, 2 or 4")
        try:
            meter = check_meter(self.meter, self.beat_unit)
        except InputError as exc:
            raise InputError(f"pattern {exc}") from None
        if bars * meter > MAX_BEATS:
            raise InputError(f"pattern bars {value_text(bars)} of {meter} beats make more than "
                             f"the {MAX_BEATS} beats a beat map holds; give a shorter pattern, "
                             f"e.g. bars=1, 2 or 4 (at most {MAX_BEATS // meter} bars of "
                             f"{meter} beats)")
        start_bar = self.start_bar
        if not (is_whole_number(start_bar) and 0 <= start_bar <= MAX_BEATS):
            raise InputError(f"pattern start_bar {value_text(start_bar)} is not a bar of a take; "
                             f"give a whole bar number from 0 (the take's first bar) to "
                             f"{MAX_BEATS}")
        notes = tuple(self.notes)
        stray = next((n for n in notes if not isinstance(n, PatternNote)), None)
        if stray is not None:
            raise InputError(f"a pattern's notes are PatternNote objects, got "
                             f"{type(stray).__name__} {value_text(stray)}; make each with "
                             "PatternNote(beat, voice, ...)")
        try:
            grid = GridKind(self.grid)
        except (ValueError, TypeError):
            kinds = ", ".join(repr(k.value) for k in GridKind)
            raise InputError(f"pattern grid {self.grid!r} is not a grid drumjam writes; give "
                             f"one of {kinds}") from None
        self._check_measures()
        object.__setattr__(self, "bars", int(bars))
        object.__setattr__(self, "meter", meter)
        object.__setattr__(self, "beat_unit", int(self.beat_unit))
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "start_bar", int(start_bar))
        for i, note in enumerate(notes):
            if not 0 <= note.beat < self.length_beats:
                raise InputError(
                    f"notes[{i}] beat {note.beat} ({note.voice.value}) is outside the pattern's "
                    f"{self.bars} bar(s) of {self.meter} beats; give a beat from 0 to less "
                    f"than {self.length_beats}"
                )
        object.__setattr__(self, "notes", tuple(sorted(notes, key=lambda n: (n.beat, n.voice))))

    def _check_measures(self) -> None:
        """The teacher's tempo, swing, consistency and bars: numbers in their ranges, kept as
        float and int."""
        object.__setattr__(self, "tempo_bpm", check_tempo(self.tempo_bpm, "pattern tempo_bpm"))
        # the ratios a swung take can measure (its off-beats' window), to the 2 decimals shown
        lo, hi = (np.floor(100 * OFFBEAT_WINDOW[0] / (1 - OFFBEAT_WINDOW[0])) / 100,
                  np.ceil(100 * OFFBEAT_WINDOW[1] / (1 - OFFBEAT_WINDOW[1])) / 100)
        for name, low, high, meaning in (
                ("swing_ratio", lo, hi, "the long-to-short ratio of swung eighths (1.0 straight, "
                                        "2.0 a triplet shuffle)"),
                ("consistency", 0.0, 1.0, "the source bars' agreement with the pattern")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or not low <= value <= high:
                raise InputError(f"pattern {name} {value_text(value)} is not {meaning}; give a "
                                 f"number from {low:.2f} to {high:.2f}")
            object.__setattr__(self, name, float(value))
        for name in ("source_bars", "fill_bars"):
            bars = getattr(self, name)
            bars = tuple(bars) if isinstance(bars, (list, tuple)) else (bars,)
            bad = next((b for b in bars if not (is_whole_number(b) and 0 <= b <= MAX_BEATS)), None)
            if bad is not None or not isinstance(getattr(self, name), (list, tuple)):
                raise InputError(f"pattern {name} {value_text(getattr(self, name))} is not a list "
                                 f"of the take's bars; give whole bar numbers from 0, e.g. [0, 1, 2]")
            object.__setattr__(self, name, tuple(int(b) for b in bars))

    @property
    def length_beats(self) -> int:
        """Length of one loop in beats."""
        return self.bars * self.meter

    def played_beats(self) -> np.ndarray:
        """Played position of each note in beats (swung off-beats moved)."""
        return np.array([played_beat(n.beat, self.grid, self.swing_ratio) for n in self.notes])

    def feel_by_voice_ms(self) -> dict[str, float]:
        """The teacher's mean offset from the grid for each voice group, in ms."""
        by_group: dict[str, list[float]] = defaultdict(list)
        for n in self.notes:
            by_group[voice_group(n.voice).value].append(n.feel_ms)
        return {g: round(float(np.mean(v)), 1) for g, v in sorted(by_group.items())}

    def notes_per_voice(self) -> dict[str, int]:
        """How many notes each voice has in one loop."""
        return dict(sorted(Counter(n.voice.value for n in self.notes).items()))

    def beatmap(self, tempo_bpm: float, loops: int = 1, start_s: float = 0.0) -> BeatMap:
        """A constant-tempo beat map covering ``loops`` loops from ``start_s``."""
        period_s = 60.0 / check_tempo(tempo_bpm)
        return BeatMap.constant(
            tempo_bpm,
            start_s + loops * self.length_beats * period_s,
            self.meter,
            start_s,
            self.beat_unit,
        )

    def to_chart(
        self,
        tempo_bpm: float | None = None,
        loops: int = 1,
        start_s: float = 0.0,
        with_feel: bool = False,
    ) -> Chart:
        """The pattern looped ``loops`` times as a chart to play or score against.

        Parameters
        ----------
        tempo_bpm : float, optional
            Tempo (default: the teacher's).
        loops : int
            How many times the pattern repeats.
        start_s : float
            Time of the first beat (the first click).
        with_feel : bool
            Place each note at the teacher's microtiming instead of on the grid.
        """
        tempo = self.tempo_bpm if tempo_bpm is None else tempo_bpm
        times = self.note_times_s(tempo, loops, start_s, with_feel)
        notes = [
            Note(float(t), n.voice, n.velocity) for row in times for n, t in zip(self.notes, row)
        ]
        return Chart(
            tuple(notes),
            self.beatmap(tempo, loops, start_s),
            title=f"pattern x{loops} at {tempo:.0f} BPM",
        )

    def note_times_s(
        self, tempo_bpm: float, loops: int = 1, start_s: float = 0.0, with_feel: bool = False
    ) -> np.ndarray:
        """Time of every note in every loop: an array of shape (loops, notes)."""
        if not (is_whole_number(loops) and loops >= 1):
            raise InputError(f"loops must be a whole number from 1 up, got {value_text(loops)}; "
                             "give how many times the pattern repeats, e.g. loops=4")
        loops = int(loops)
        bm = self.beatmap(tempo_bpm, loops, start_s)
        beats = self.played_beats()[None, :] + self.length_beats * np.arange(loops)[:, None]
        times = bm.to_seconds(beats).reshape(loops, len(self.notes))
        if with_feel:
            times = np.maximum(0.0, times + np.array([n.feel_ms for n in self.notes]) / 1000.0)
        return times

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "bars": self.bars,
            "meter": self.meter,
            "beat_unit": self.beat_unit,
            "grid": self.grid.value,
            "swing_ratio": round(self.swing_ratio, 3),
            "tempo_bpm": round(self.tempo_bpm, 3),
            "source_bars": list(self.source_bars),
            "fill_bars": list(self.fill_bars),
            "consistency": round(self.consistency, 4),
            "start_bar": self.start_bar,
            "notes_per_voice": self.notes_per_voice(),
            "feel_ms": self.feel_by_voice_ms(),
            "notes": [n.to_dict() for n in self.notes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pattern:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        InputError
            Naming the field, if one is missing or malformed, or a note's beat is not a number
            or lies outside the pattern.
        """
        try:
            raw_notes = list(data["notes"])
        except (KeyError, TypeError) as exc:
            raise InputError(f"not a lesson pattern: missing or malformed field {exc}") from exc
        notes = []
        for i, raw in enumerate(raw_notes):
            try:
                notes.append(PatternNote.from_dict(raw))
            except InputError as exc:
                raise InputError(f"not a lesson pattern: notes[{i}] {exc}") from exc
            except (KeyError, ValueError, TypeError) as exc:
                raise InputError(f"not a lesson pattern: notes[{i}] has a missing or malformed "
                                 f"field {exc}") from exc
        try:
            fields = {  # every field is checked by the constructor
                "bars": data["bars"],
                "meter": data.get("meter", 4),
                "grid": data.get("grid", "16th"),
                "swing_ratio": data.get("swing_ratio", 1.0),
                "tempo_bpm": data.get("tempo_bpm", 120.0),
                "source_bars": data.get("source_bars", ()),
                "fill_bars": data.get("fill_bars", ()),
                "consistency": data.get("consistency", 1.0),
                "beat_unit": data.get("beat_unit", 4),
                "start_bar": data.get("start_bar", 0),
            }
        except (KeyError, ValueError, TypeError, OverflowError) as exc:
            raise InputError(f"not a lesson pattern: missing or malformed field {exc}") from exc
        try:
            return cls(notes=tuple(notes), **fields)
        except InputError as exc:
            raise InputError(f"not a lesson pattern: {exc}") from exc


# ---------------------------------------------------------------------------- extraction
@dataclass(frozen=True)
class _QuantisedHit:
    bar: int
    step: int  # grid step within the bar
    group: VoiceGroup
    voice: Voice
    velocity: int
    offset_ms: float


def _f_measure(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return 2.0 * len(a & b) / (len(a) + len(b))


def _consensus(bar_sets: Sequence[set]) -> set:
    """Keys present in more than half of the bars."""
    counts = Counter(k for s in bar_sets for k in s)
    return {k for k, c in counts.items() if c * 2 > len(bar_sets)}


def _groove_of(bar_sets: list[set]) -> set:
    """The groove most of these bars share, robust to a second section or many fills.

    Start from the most typical bar (highest mean agreement with the others), take the notes
    that more than half of the bars agreeing with it share, and repeat until it settles.
    """
    n = len(bar_sets)
    typical = max(range(n), key=lambda i: sum(_f_measure(bar_sets[i], s) for s in bar_sets))
    groove = bar_sets[typical]
    for _ in range(5):
        close = [s for s in bar_sets if _f_measure(s, groove) >= FILL_THRESHOLD]
        settled = _consensus(close) if close else groove
        if settled == groove:
            break
        groove = settled
    return groove


def _fit_length(
    bar_keys: dict[int, set], bars: list[int], length: int
) -> tuple[float, int, dict[int, set], list[int]]:
    """Best phase for a pattern of ``length`` bars: (score, phase, groove per phase, fills)."""
    best: tuple[float, int, dict[int, set], list[int]] | None = None
    for phase in range(length):
        groups: dict[int, list[int]] = defaultdict(list)
        for b in bars:
            groups[(b - bars[0] - phase) % length].append(b)
        grooves = {p: _groove_of([bar_keys[b] for b in members]) for p, members in groups.items()}
        fills = sorted(
            b
            for p, members in groups.items()
            for b in members
            if _f_measure(bar_keys[b], grooves[p]) < FILL_THRESHOLD
        )
        scores = [
            _f_measure(bar_keys[b], grooves[(b - bars[0] - phase) % length])
            for b in bars
            if b not in fills
        ]
        score = float(np.mean(scores)) if scores else 0.0
        if best is None or score > best[0]:
            best = (score, phase, grooves, fills)
    assert best is not None
    return best


def _dynamic_of(velocity: float, reference: tuple[float, float]) -> str:
    """Accent, ghost or normal, against the loudness of the note's voice group
    (:func:`drumjam.model.dynamics.dynamic_marks`)."""
    accents, ghosts = dynamic_marks(np.array([velocity]), reference=reference)
    return "ghost" if ghosts[0] else "accent" if accents[0] else "normal"


def _quantise(take: Take, bm: BeatMap) -> tuple[list[_QuantisedHit], GridKind, float]:
    """Every hit on the grid that fits the take, bar by bar from the first downbeat."""
    times = take.times_s()
    first_down = float(bm.to_beats(bm.downbeats_s[0])) if bm.downbeats_s.size else 0.0
    rel = bm.to_beats(times) - first_down
    # the drummer's overall lead or lag, from the hits near the beats
    near = np.abs(rel - np.round(rel)) < 0.15
    phase = float(np.median(rel[near] - np.round(rel[near]))) if near.any() else 0.0
    groups = take.groups()
    keeper_counts = Counter(g for g in groups if g in TIMEKEEPERS)
    keeper = keeper_counts.most_common(1)[0][0] if keeper_counts else None
    timekeeping = np.array([g == keeper for g in groups])
    kind, ratio = choose_grid(rel - phase, (rel - phase)[timekeeping])
    steps, played = snap(rel - phase, kind, ratio)
    offsets_ms = (rel - played) * bm.period_s_at(times) * 1000.0
    per_bar = STEPS_PER_BEAT[kind] * bm.meter
    hits = []
    for h, step, group, offset in zip(take.hits, steps, groups, offsets_ms):
        bar, step_in_bar = divmod(int(step), per_bar)
        if bar >= 0:
            hits.append(_QuantisedHit(bar, step_in_bar, group, h.voice, h.velocity, float(offset)))
    if not hits:
        raise InputError("no hit of the take falls in a bar of its beat map")
    return hits, kind, ratio


def _find_loop(
    bar_keys: dict[int, set], lengths_bars: Sequence[int]
) -> tuple[list[int], int, tuple[float, int, dict[int, set], list[int]]]:
    """The bars searched and the best (length, fit) of a repeating pattern among them.

    Raises
    ------
    InputError
        If no length fits: each is over half the bars (1 bar always fits).
    """
    bars = sorted(bar_keys)
    # drop a trailing bar holding only the final downbeat (how takes often end)
    if len(bars) > 1 and all(k[0] == 0 for k in bar_keys[bars[-1]]):
        bars = bars[:-1]
    fits = {n: _fit_length(bar_keys, bars, n) for n in lengths_bars if n == 1 or len(bars) >= 2 * n}
    if not fits:
        listed = ", ".join(map(str, lengths_bars))
        what = f"length {listed} bars is" if len(lengths_bars) == 1 else f"lengths {listed} bars are"
        raise InputError(
            f"pattern {what} too long for the take, which has {len(bars)} bar(s): a pattern of "
            f"n bars is found in at least 2n bars; give a length of 1-{max(1, len(bars) // 2)} "
            "bars, or choose the bars of the pattern"
        )
    best_score = max(f[0] for f in fits.values())
    length = min(n for n, f in fits.items() if f[0] >= best_score - LONGER_PATTERN_GAIN)
    return bars, length, fits[length]


def _check_lengths(lengths_bars: Sequence[int]) -> tuple[int, ...]:
    """The pattern lengths to try, each checked to be a whole number of bars, 1 or more.

    Raises
    ------
    InputError
        If there are none, or one is not a whole number of at least 1 bar.
    """
    try:
        lengths = tuple(lengths_bars)
    except TypeError:
        raise InputError(f"pattern lengths {lengths_bars!r} are not a list of bar counts; "
                         "give e.g. [1, 2, 4]") from None
    if not lengths:
        raise InputError("no pattern length to try; give one or more lengths in bars, "
                         "e.g. [1, 2, 4]")
    for n in lengths:
        if not (is_whole_number(n) and n >= 1):
            raise InputError(f"pattern length {n!r} is not a whole number of bars from 1 up; "
                             "give e.g. 1, 2 or 4")
    return tuple(int(n) for n in lengths)


def extract_pattern(
    take: Take,
    beatmap: BeatMap | None = None,
    bars: tuple[int, int] | None = None,
    lengths_bars: Sequence[int] = PATTERN_LENGTHS_BARS,
) -> Pattern:
    """Find the repeating pattern of a teacher's take.

    Parameters
    ----------
    take : Take
        The teacher's groove.
    beatmap : BeatMap, optional
        Beats and bars it was played to (default: the take's own).
    bars : (int, int), optional
        First and last bar (0-based, inclusive) chosen by the teacher: the pattern is exactly
        those bars. By default the whole take is searched for a repeating pattern.
    lengths_bars : sequence of int
        Pattern lengths to try, in bars (each 1 or more); the shortest one that fits about as
        well as the best (within ``LONGER_PATTERN_GAIN``) is chosen. A length of n bars is tried
        where the take has at least 2n bars (1 bar always).

    Returns
    -------
    Pattern

    Raises
    ------
    InputError
        If the take has no beat map or no hits, ``bars`` lies outside the take, a length is not
        a whole number of bars from 1, or none fits the take (the message says its bars).
    """
    lengths = _check_lengths(lengths_bars)
    bm = beatmap or take.beatmap
    if bm is None:
        raise InputError(
            "the take has no beat map; give the tempo (e.g. --tempo 100) or a MIDI file with one"
        )
    if len(take) == 0:
        raise InputError("the take has no hits; record a groove first")
    hits, kind, ratio = _quantise(take, bm)
    bar_keys: dict[int, set] = defaultdict(set)
    for q in hits:
        bar_keys[q.bar].add((q.step, q.group))
    for b in range(min(bar_keys), max(bar_keys) + 1):
        bar_keys.setdefault(b, set())

    if bars is not None:
        try:
            first, last = bars
        except (TypeError, ValueError):
            first = last = None
        if not all(isinstance(b, Integral) and not isinstance(b, bool) for b in (first, last)):
            raise InputError(f"bars {bars!r} is not a pair (first, last) of bar numbers from 0; "
                             "give e.g. (0, 1), or parse a teacher's '1-2' with parse_bars")
        if not 0 <= first <= last <= max(bar_keys):
            raise InputError(
                f"bars {first + 1}-{last + 1} are outside the take, which has bars "
                f"1-{max(bar_keys) + 1}"
            )
        chosen_bars = list(range(first, last + 1))
        length, phase_bars, fills, score = len(chosen_bars), 0, [], 1.0
        cons = {p: bar_keys[b] for p, b in enumerate(chosen_bars)}
    else:
        chosen_bars, length, (score, phase_bars, cons, fills) = _find_loop(bar_keys, lengths)

    used = [b for b in chosen_bars if b not in fills]
    per_beat = STEPS_PER_BEAT[kind]
    notes = _pattern_notes(
        [q for q in hits if q.bar in used],
        cons,
        chosen_bars[0] + phase_bars,
        length,
        per_beat,
        per_beat * bm.meter,
    )
    return Pattern(
        notes=tuple(notes),
        bars=length,
        meter=bm.meter,
        grid=kind,
        swing_ratio=ratio,
        tempo_bpm=round(bm.tempo_bpm, 3),
        source_bars=tuple(used),
        fill_bars=tuple(fills),
        consistency=round(score, 4),
        beat_unit=bm.beat_unit,
        start_bar=chosen_bars[0] + phase_bars,
    )


def _pattern_notes(
    hits: list[_QuantisedHit],
    cons: dict[int, set],
    start_bar: int,
    length: int,
    per_beat: int,
    per_bar: int,
) -> list[PatternNote]:
    """The notes of the loop from the hits of its bars that agree with it."""
    reference = {g: loudness_reference(np.array([q.velocity for q in hits if q.group == g]))
                 for g in {q.group for q in hits}}
    members: dict[tuple[int, int, VoiceGroup], list[_QuantisedHit]] = defaultdict(list)
    for q in hits:
        p = (q.bar - start_bar) % length
        if (q.step, q.group) in cons[p]:
            members[(p, q.step, q.group)].append(q)
    notes = []
    for (p, step, group), qs in members.items():
        velocity = float(np.median([q.velocity for q in qs]))
        notes.append(
            PatternNote(
                beat=Fraction(p * per_bar + step, per_beat),
                voice=Counter(q.voice for q in qs).most_common(1)[0][0],
                velocity=round(velocity),
                dynamic=_dynamic_of(velocity, reference[group]),
                feel_ms=float(np.median([q.offset_ms for q in qs])),
            )
        )
    return notes


def parse_bars(text: str | None) -> tuple[int, int] | None:
    """A bar range as a teacher writes it, ``"1-2"`` or ``"3"`` (from 1, inclusive), as 0-based
    (first, last); None for an empty text.

    Raises
    ------
    InputError
        If the text is not a range, or spans more bars than notation is written for at once
        (:data:`~drumjam.io.musicxml.MAX_NOTATION_BARS`) or starts past the last bar a beat map
        can have (:data:`~drumjam.limits.MAX_BEATS`).
    """
    if text is None or not text.strip():
        return None
    if len(text) > 40:
        raise InputError(f"bars {text[:40]!r}... is not a bar range; write e.g. 1-2 or 3 (bars count from 1)")
    parts = text.replace(" ", "").split("-")
    try:
        first, last = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (0, -1)
    except ValueError:
        first, last = 0, -1
    if not 1 <= first <= last:
        raise InputError(
            f"bars {text!r} is not a bar range; write e.g. 1-2 or 3 (bars count from 1)"
        )
    if last - first + 1 > MAX_NOTATION_BARS:
        raise InputError(f"bars {text!r} are {last - first + 1} bars; a lesson's pattern is "
                         f"written from at most {MAX_NOTATION_BARS} bars (give a shorter range)")
    if last > MAX_BEATS:
        raise InputError(f"bars {text!r} reach past bar {MAX_BEATS}, the last a song can have "
                         "(give the bars of the groove)")
    return first - 1, last - 1


def excerpt(take: Take, first_bar: int, n_bars: int) -> Take:
    """The hits of bars ``first_bar .. first_bar + n_bars - 1`` (0-based), times unchanged.

    A hit up to a sixteenth note before a bar line counts in the bar that follows.
    """
    if take.beatmap is None:
        raise InputError("the take has no beat map, so it has no bars")
    bars = take.beatmap.bar_index(take.times_s())
    keep = [h for h, b in zip(take.hits, bars) if first_bar <= b < first_bar + n_bars]
    return Take(tuple(keep), player=take.player, beatmap=take.beatmap)


def pattern_match(
    pattern: Pattern, bar_notes: dict[int, set[tuple[Fraction, VoiceGroup]]]
) -> float:
    """Share of a groove's notes that the looped pattern contains.

    Parameters
    ----------
    pattern : Pattern
        The pattern, with the bar numbering of the take it came from.
    bar_notes : dict
        Bar number -> set of (written position in the bar in beats, voice group) of the notes
        played in that bar, rounded to the pattern's grid. Bars the pattern marks as fills are
        left out.

    Returns
    -------
    float
        Matched notes / all notes (1.0 when there are none).
    """
    loop: dict[int, set] = defaultdict(set)
    for n in pattern.notes:
        bar, pos = divmod(n.beat, pattern.meter)
        loop[int(bar)].add((pos, voice_group(n.voice)))
    total = matched = 0
    for bar, keys in bar_notes.items():
        if bar in pattern.fill_bars:
            continue
        expected = loop[(bar - pattern.start_bar) % pattern.bars]
        total += len(keys)
        matched += len(keys & expected)
    return matched / total if total else 1.0
