"""BeatMap: where the beats and bars of a song are, in seconds.

A beat map is a strictly increasing array of beat times plus the downbeats and the metre.
Tempo may change anywhere: between two beats time is linear, so seconds <-> beats is a
piecewise-linear map, extrapolated beyond both ends with the nearest beat period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral, Rational, Real
from typing import Any

import numpy as np

from drumjam.errors import InputError
from drumjam.limits import (
    BEAT_UNITS, MAX_BEATS, MAX_DURATION_S, MAX_METER, MAX_TEMPO_BPM, MIN_TEMPO_BPM, tempo_in_range,
)

#: Tempo corrections of :meth:`BeatMap.corrected`.
TEMPO_CORRECTIONS = ("double", "half")
#: :attr:`BeatMap.tempo_bpm` reads the beat period over spans of this many beats.
TEMPO_SPAN_BEATS = 4

#: Grid subdivisions understood by :meth:`BeatMap.grid`, per beat of a 4/4 bar (so 16 means
#: sixteenth notes, 12 eighth-note triplets, 24 sixteenth-note triplets).
SUBDIVISIONS = (1, 2, 4, 8, 12, 16, 24, 32)


def validate_times_s(times_s: Any, name: str = "times") -> np.ndarray:
    """Check an array of event times in seconds and return it as float64.

    Parameters
    ----------
    times_s : array_like
        Event times in seconds.
    name : str
        What the times are, for the error message.

    Returns
    -------
    numpy.ndarray
        One-dimensional float64 array.

    Raises
    ------
    InputError
        If the times are not one-dimensional, not finite, negative, or so large that they are
        probably milliseconds or samples rather than seconds.
    """
    arr = np.asarray(times_s, dtype=np.float64)
    if arr.ndim != 1:
        raise InputError(f"{name} must be a 1-D array of seconds, got shape {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contain NaN or infinity; give finite times in seconds")
    if arr.size and arr.min() < 0:
        raise InputError(f"{name} contain a negative time ({arr.min():.3f} s); times start at 0")
    if arr.size and arr.max() > MAX_DURATION_S:
        raise InputError(
            f"{name} reach {arr.max():.0f} s, more than {MAX_DURATION_S / 3600:.0f} hours: "
            "did you supply milliseconds or samples instead of seconds?"
        )
    return arr


def value_text(value: Any) -> str:
    """A value as a message shows it: its ``repr``, cut to 60 characters, and a whole number too
    long to print (``10**5000``) by its size."""
    if isinstance(value, Integral) and not isinstance(value, bool) and abs(value) >= 10**60:
        digits = int(abs(int(value)).bit_length() * 0.30103)
        return f"{'-' if value < 0 else ''}a number of about 10^{digits}"
    try:
        text = repr(value)
    except ValueError:  # a Fraction of numbers past Python's 4300-digit printing limit
        return "a number too long to write out"
    return text if len(text) <= 60 else text[:57] + "..."


def check_seconds(value: float, name: str) -> float:
    """One time in seconds, checked to be a finite number within the longest song, as float.

    Times come in as numbers: the CLI's options are parsed into floats by Typer and the web's
    messages typed by Pydantic before they reach the model, so text here (``"0.5"``) is a
    mistake, as is a bool (``True`` is not 1 s).

    Raises
    ------
    InputError
        If it is text, a bool or not a number, not finite, or further than ``MAX_DURATION_S``
        from 0.
    """
    if isinstance(value, (str, bytes, bytearray, bool, np.bool_)):
        raise InputError(f"{name} {value_text(value)} is not a number of seconds; give seconds "
                         "as a number (e.g. 0.5, not '0.5' or True)")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} {value_text(value)} is not a number of seconds; give seconds "
                         "as a number (e.g. 0.5)") from None
    if not abs(x) <= MAX_DURATION_S:
        raise InputError(f"{name} {value_text(value)} is not a finite time within "
                         f"{MAX_DURATION_S / 3600:.0f} hours; give seconds (not milliseconds or "
                         "samples)")
    return x


def is_whole_number(value: Any) -> bool:
    """True for a real number (not a bool) with no fraction: 4 and 4.0, not 4.7, "4", True or
    NaN (the check of counts given as numbers: beats per bar, bars, velocities)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    if isinstance(value, Integral):  # ints past float's range included
        return True
    if isinstance(value, Rational):  # exactly: a Fraction past float's range too
        return value.denominator == 1
    return float(value).is_integer()


def check_meter(meter: int, beat_unit: int = 4) -> int:
    """Beats per bar as int, with the beat unit checked too.

    Parameters
    ----------
    meter : int
        Beats per bar, a whole number of 1-``MAX_METER`` (``4.0`` is taken as 4).
    beat_unit : int
        Note value of one beat, a power of two up to 32.

    Returns
    -------
    int
        The metre.

    Raises
    ------
    InputError
        Naming the value, if either is not a whole number in range (4.7 is refused, not
        truncated; so are bools and text).
    """
    if not (is_whole_number(meter) and 1 <= meter <= MAX_METER):
        raise InputError(f"meter must be a whole number of 1-{MAX_METER} beats per bar, got "
                         f"{value_text(meter)}")
    if not (is_whole_number(beat_unit) and beat_unit in BEAT_UNITS):
        raise InputError(f"beat unit must be a power of two up to 32 (4 = quarter note), got "
                         f"{value_text(beat_unit)}")
    return int(meter)


@dataclass(frozen=True, eq=False)
class BeatMap:
    """Beats, downbeats and metre of a piece of music.

    Parameters
    ----------
    beats_s : numpy.ndarray
        Beat times in seconds, strictly increasing, at least two.
    downbeats_s : numpy.ndarray
        Times of the first beat of each bar (each one a beat time).
    meter : int
        Beats per bar (the most common one where the metre changes).
    beat_unit : int
        Note value of one beat (4 = quarter note, 8 = eighth note).
    confidence : float or None
        How sure the analysis that made this map is, from 0 to 1 (None for maps read from
        MIDI or built by hand, which are exact).
    """

    beats_s: np.ndarray
    downbeats_s: np.ndarray
    meter: int = 4
    beat_unit: int = 4
    confidence: float | None = None
    _beat_index: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        meter = check_meter(self.meter, self.beat_unit)
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise InputError(f"beat map confidence {self.confidence!r} is not within 0-1")
        beats = validate_times_s(self.beats_s, "beat times")
        if beats.size < 2:
            raise InputError("a beat map needs at least two beats")
        periods = np.diff(beats)
        if np.any(periods <= 0):
            i = int(np.argmax(periods <= 0))
            raise InputError(f"beat times must increase; beat {i + 1} at {beats[i + 1]:.3f} s does not")
        tempo = 60.0 / periods
        if not (tempo_in_range(tempo.max()) and tempo_in_range(tempo.min())):
            bad = tempo.min() if tempo_in_range(tempo.max()) else tempo.max()
            raise InputError(
                f"absurd tempo {bad:.1f} BPM; drumjam handles {MIN_TEMPO_BPM:.0f}-"
                f"{MAX_TEMPO_BPM:.0f} BPM (check the tempo or the beat times)"
            )
        downbeats = validate_times_s(self.downbeats_s, "downbeat times")
        beats.setflags(write=False)
        downbeats = np.sort(downbeats)
        downbeats.setflags(write=False)
        object.__setattr__(self, "beats_s", beats)
        object.__setattr__(self, "downbeats_s", downbeats)
        object.__setattr__(self, "meter", meter)
        object.__setattr__(self, "beat_unit", int(self.beat_unit))
        object.__setattr__(self, "_beat_index", np.arange(beats.size, dtype=np.float64))

    # ------------------------------------------------------------------ construction
    @classmethod
    def constant(
        cls,
        tempo_bpm: float,
        duration_s: float,
        meter: int = 4,
        start_s: float = 0.0,
        beat_unit: int = 4,
    ) -> BeatMap:
        """A beat map at one tempo from ``start_s`` until at least ``duration_s``.

        Parameters
        ----------
        tempo_bpm : float
            Beats per minute, 20-400 (both included).
        duration_s : float
            The map covers ``[start_s, duration_s]``, rounded up to whole bars (at least one).
        meter : int
            Beats per bar; the first beat is a downbeat.
        start_s : float
            Time of the first beat.
        beat_unit : int
            Note value of the beat.

        Raises
        ------
        InputError
            If the tempo is not a number within 20-400 BPM, the metre is not one drumjam
            handles, or ``duration_s`` is not a finite time at or after ``start_s``.
        """
        if isinstance(tempo_bpm, bool) or not isinstance(tempo_bpm, Real):
            raise InputError(f"tempo {value_text(tempo_bpm)} is not a number; give beats per "
                             f"minute as a number, {MIN_TEMPO_BPM:.0f}-{MAX_TEMPO_BPM:.0f} BPM")
        tempo = float(tempo_bpm)
        if not tempo_in_range(tempo):
            raise InputError(
                f"absurd tempo {tempo:g} BPM; use {MIN_TEMPO_BPM:.0f}-{MAX_TEMPO_BPM:.0f} BPM"
            )
        meter = check_meter(meter, beat_unit)
        start_s = check_seconds(start_s, "start")
        duration_s = check_seconds(duration_s, "duration")
        if duration_s < start_s:
            raise InputError(f"duration {duration_s:g} s ends before the start at {start_s:g} s; "
                             "give the time the beat map should reach, in seconds")
        period = 60.0 / tempo
        n_bars = max(1, int(np.ceil((duration_s - start_s) / (period * meter) - 1e-9)))
        beats = start_s + period * np.arange(n_bars * meter + 1)
        return cls(beats, beats[::meter], meter=meter, beat_unit=beat_unit)

    @classmethod
    def from_beats(
        cls,
        beats_s: Any,
        meter: int = 4,
        first_downbeat_index: int = 0,
        beat_unit: int = 4,
        confidence: float | None = None,
    ) -> BeatMap:
        """A beat map from beat times, with a downbeat every ``meter`` beats."""
        meter = check_meter(meter, beat_unit)
        beats = validate_times_s(beats_s, "beat times")
        downbeats = beats[first_downbeat_index % max(meter, 1) :: meter]
        return cls(beats, downbeats, meter=meter, beat_unit=beat_unit, confidence=confidence)

    # ------------------------------------------------------------------ conversion
    def to_beats(self, times_s: Any) -> np.ndarray:
        """Convert times in seconds to positions in beats (beat 0 is the first beat)."""
        t = np.asarray(times_s, dtype=np.float64)
        b = self.beats_s
        pos = np.interp(t, b, self._beat_index)
        first_period = b[1] - b[0]
        last_period = b[-1] - b[-2]
        pos = np.where(t < b[0], (t - b[0]) / first_period, pos)
        pos = np.where(t > b[-1], b.size - 1 + (t - b[-1]) / last_period, pos)
        return pos

    def to_seconds(self, beats: Any) -> np.ndarray:
        """Convert positions in beats to times in seconds (inverse of :meth:`to_beats`)."""
        x = np.asarray(beats, dtype=np.float64)
        b = self.beats_s
        t = np.interp(x, self._beat_index, b)
        t = np.where(x < 0, b[0] + x * (b[1] - b[0]), t)
        t = np.where(x > b.size - 1, b[-1] + (x - (b.size - 1)) * (b[-1] - b[-2]), t)
        return t

    def period_s_at(self, times_s: Any) -> np.ndarray:
        """Beat period (seconds per beat) in force at each time."""
        t = np.asarray(times_s, dtype=np.float64)
        periods = np.diff(self.beats_s)
        idx = np.clip(np.searchsorted(self.beats_s, t, side="right") - 1, 0, periods.size - 1)
        return periods[idx]

    # ------------------------------------------------------------------ tempo and bars
    @property
    def tempo_bpm(self) -> float:
        """The representative tempo: beats per minute from the median period over spans of
        :data:`TEMPO_SPAN_BEATS` beats (a played beat's push or drag spreads over the span)."""
        span = max(1, min(TEMPO_SPAN_BEATS, (self.beats_s.size - 1) // 2))
        return float(60.0 * span / np.median(self.beats_s[span:] - self.beats_s[:-span]))

    def tempo_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Local tempo: (time of each beat interval's start in s, tempo in BPM)."""
        return self.beats_s[:-1].copy(), 60.0 / np.diff(self.beats_s)

    @property
    def start_s(self) -> float:
        """Time of the first beat."""
        return float(self.beats_s[0])

    @property
    def end_s(self) -> float:
        """Time of the last beat."""
        return float(self.beats_s[-1])

    def bar_index(self, times_s: Any) -> np.ndarray:
        """Bar number (0 = first bar; -1 before the first downbeat) of each time.

        Times up to a sixteenth note before a downbeat count in the new bar, so an early hit on
        "one" is counted with its bar.
        """
        t = np.asarray(times_s, dtype=np.float64)
        if self.downbeats_s.size == 0:
            return np.floor(self.to_beats(t + 0.25 * self.period_s_at(t)) / self.meter).astype(int)
        slack = 0.25 * self.period_s_at(t)
        return np.searchsorted(self.downbeats_s, t + slack, side="right").astype(int) - 1

    def grid(self, subdivision: int, start_s: float | None = None, end_s: float | None = None) -> np.ndarray:
        """Times of every grid position at a subdivision of the bar.

        Parameters
        ----------
        subdivision : int
            Positions per whole note as in "16th notes": 4 (quarters), 8, 16, 32, or
            12 / 24 for eighth / sixteenth triplets.
        start_s, end_s : float, optional
            Limits of the grid (default: first and last beat).
        """
        if subdivision not in SUBDIVISIONS:
            raise InputError(
                f"grid subdivision {subdivision} is not one of {', '.join(map(str, SUBDIVISIONS))}"
            )
        steps_per_beat = subdivision / self.beat_unit
        if steps_per_beat < 1:
            finer = ", ".join(str(s) for s in SUBDIVISIONS if s >= self.beat_unit)
            raise InputError(f"grid subdivision {subdivision} is coarser than the beat "
                             f"(1/{self.beat_unit}); give one of {finer}")
        lo = self.to_beats(self.start_s if start_s is None else check_seconds(start_s, "grid start"))
        hi = self.to_beats(self.end_s if end_s is None else check_seconds(end_s, "grid end"))
        step = 1.0 / steps_per_beat
        if (hi - lo) * steps_per_beat > MAX_BEATS * max(SUBDIVISIONS):
            raise InputError(f"a grid of {(hi - lo) * steps_per_beat:.0f} positions is too long; "
                             f"scoring covers at most {MAX_DURATION_S / 3600:.0f} hours")
        positions = np.arange(np.ceil(lo / step - 1e-9), np.floor(hi / step + 1e-9) + 1) * step
        return self.to_seconds(positions)

    # ------------------------------------------------------------------ transformations
    def scaled(self, speed: float) -> BeatMap:
        """The same map played at ``speed`` times the tempo (0.5 = half speed)."""
        if not 0.1 <= speed <= 4.0:
            raise InputError(f"speed {speed} is out of range; use 0.1-4.0 (1.0 = original)")
        return BeatMap(
            self.beats_s / speed,
            self.downbeats_s / speed,
            meter=self.meter,
            beat_unit=self.beat_unit,
            confidence=self.confidence,
        )

    def shifted(self, offset_s: float) -> BeatMap:
        """The same map moved later by ``offset_s`` seconds (earlier if negative; beats that
        would fall before 0 s are left out).

        Raises
        ------
        InputError
            If ``offset_s`` is not a finite number of seconds, or leaves fewer than two beats.
        """
        if isinstance(offset_s, (float, np.floating)) and not np.isfinite(offset_s):
            raise InputError(f"beat map shift {offset_s} s is NaN or infinity; give a finite "
                             "number of seconds")
        offset_s = check_seconds(offset_s, "beat map shift")
        beats, downbeats = self.beats_s + offset_s, self.downbeats_s + offset_s
        return BeatMap(
            beats[beats >= 0],
            downbeats[downbeats >= 0],
            meter=self.meter,
            beat_unit=self.beat_unit,
            confidence=self.confidence,
        )

    # ------------------------------------------------------------------ corrections
    @property
    def first_downbeat_index(self) -> int:
        """Index of the beat the first downbeat falls on (0 if there is none)."""
        if self.downbeats_s.size == 0:
            return 0
        return int(np.argmin(np.abs(self.beats_s - self.downbeats_s[0])))

    def rebarred(self, meter: int | None = None, downbeat_shift: int = 0) -> BeatMap:
        """The same beats in bars of ``meter`` beats, the downbeats moved ``downbeat_shift``
        beats later (negative: earlier), e.g. when an analysis put "one" on beat 2.

        Raises
        ------
        InputError
            Naming the value, if the meter is not one :func:`check_meter` takes or the shift is
            not a whole number of beats (1.5 is refused, not truncated; so are bools and text).
        """
        meter = self.meter if meter is None else check_meter(meter, self.beat_unit)
        if not is_whole_number(downbeat_shift):
            raise InputError(f"downbeat shift {value_text(downbeat_shift)} is not a whole number "
                             "of beats; give e.g. 1 (\"one\" a beat later) or -1 (a beat earlier)")
        first = (self.first_downbeat_index + int(downbeat_shift)) % max(meter, 1)
        return BeatMap.from_beats(self.beats_s, meter, first, self.beat_unit, self.confidence)

    def doubled(self) -> BeatMap:
        """Twice the tempo: a beat half-way between every two, bars of the same metre from the
        same first downbeat (for a map that found half the real tempo)."""
        mids = self.beats_s[:-1] + 0.5 * np.diff(self.beats_s)
        beats = np.empty(2 * self.beats_s.size - 1)
        beats[0::2], beats[1::2] = self.beats_s, mids
        return BeatMap.from_beats(beats, self.meter, 2 * self.first_downbeat_index,
                                  self.beat_unit, self.confidence)

    def halved(self, keep_downbeats: bool = True) -> BeatMap:
        """Half the tempo: every other beat, those on the downbeats kept (or, with
        ``keep_downbeats=False``, the ones between), bars of the same metre."""
        phase = self.first_downbeat_index % 2 if keep_downbeats else 1 - self.first_downbeat_index % 2
        beats = self.beats_s[phase::2]
        if beats.size < 2:
            raise InputError("too few beats to halve the tempo")
        first = (self.first_downbeat_index - phase) // 2 if keep_downbeats else 0
        return BeatMap.from_beats(beats, self.meter, first, self.beat_unit, self.confidence)

    def corrected(self, tempo: str | None = None, meter: int | None = None,
                  downbeat_shift: int = 0, offset_s: float = 0.0) -> BeatMap:
        """The map as a listener corrects it by ear.

        Parameters
        ----------
        tempo : {"double", "half"}, optional
            The map found half (``"double"``) or twice (``"half"``) the real tempo.
        meter : int, optional
            Beats per bar.
        downbeat_shift : int
            Move "one" this many beats later (negative: earlier).
        offset_s : float
            Move every beat this much later (negative: earlier).
        """
        if tempo not in (None, *TEMPO_CORRECTIONS):
            raise InputError(f"tempo correction {tempo!r} is unknown; use double or half")
        bm = self.doubled() if tempo == "double" else self.halved() if tempo == "half" else self
        if meter is not None or not (is_whole_number(downbeat_shift) and downbeat_shift == 0):
            bm = bm.rebarred(meter, downbeat_shift)  # which refuses a shift of 1.5 or "1"
        return bm.shifted(offset_s) if offset_s else bm

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (times in seconds)."""
        return {
            "tempo_bpm": round(self.tempo_bpm, 3),
            "beats": [round(float(x), 6) for x in self.beats_s],
            "downbeats": [round(float(x), 6) for x in self.downbeats_s],
            "meter": self.meter,
            "beat_unit": self.beat_unit,
            "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BeatMap:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        InputError
            Starting "not a beat map", if a field is missing or malformed, or the map is not
            one :class:`BeatMap` takes (e.g. a meter of 4.7, refused rather than truncated).
        """
        try:
            beats = np.asarray(data["beats"], dtype=float)
            downbeats = np.asarray(data.get("downbeats", []), dtype=float)
            meter, beat_unit = data.get("meter", 4), data.get("beat_unit", 4)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InputError(f"not a beat map: missing or malformed field {exc}") from exc
        try:
            return cls(beats, downbeats, meter=meter, beat_unit=beat_unit,
                       confidence=data.get("confidence"))
        except InputError as exc:
            raise InputError(f"not a beat map: {exc}") from exc
        except (TypeError, ValueError) as exc:
            raise InputError(f"not a beat map: malformed field {exc}") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BeatMap):
            return NotImplemented
        return (
            np.array_equal(self.beats_s, other.beats_s)
            and np.array_equal(self.downbeats_s, other.downbeats_s)
            and self.meter == other.meter
            and self.beat_unit == other.beat_unit
        )

    __hash__ = None  # type: ignore[assignment]
