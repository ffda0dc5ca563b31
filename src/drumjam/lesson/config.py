"""The tempo trainer's settings (:class:`TrainerConfig`) and when an attempt passes
(:class:`PassCriteria`): plain values, read by the command line for its option defaults
without the scoring stack (:mod:`drumjam.lesson.trainer` uses them); :func:`check_tempo`
checks a lesson's tempo where a person gives one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from numbers import Real
from typing import Any

from drumjam.errors import InputError
from drumjam.limits import MAX_TEMPO_BPM, MIN_TEMPO_BPM, tempo_in_range


def check_tempo(tempo_bpm: float, name: str = "tempo") -> float:
    """A lesson's tempo checked: finite and within the tempi drumjam handles.

    Parameters
    ----------
    tempo_bpm : float
        Beats per minute.
    name : str
        What the tempo is called in the message (``"--tempo"`` on the command line).

    Returns
    -------
    float
        The tempo.

    Raises
    ------
    InputError
        Naming ``name``, the value and the range, for 0, a negative, NaN, infinite or absurd tempo.
    """
    if isinstance(tempo_bpm, bool) or not isinstance(tempo_bpm, Real):
        raise InputError(f"{name} {repr(tempo_bpm)[:60]} is not a tempo; give beats per minute "
                         f"as a number, {MIN_TEMPO_BPM:.0f}-{MAX_TEMPO_BPM:.0f} BPM")
    bpm = float(tempo_bpm)
    if not tempo_in_range(bpm):  # NaN fails too
        raise InputError(f"{name} {bpm:g} BPM is out of range; give "
                         f"{MIN_TEMPO_BPM:.0f}-{MAX_TEMPO_BPM:.0f} BPM")
    return bpm


@dataclass(frozen=True)
class PassCriteria:
    """When an attempt passes: every one of these holds.

    Parameters
    ----------
    min_played_pct : float
        Share of the pattern's notes that must be played, % (default 90).
    on_time_ms : float
        A played note is on time within this many ms of its target (default 30).
    min_on_time_pct : float
        Share of the notes that must be played on time, % (default 80).
    max_extra_pct : float
        Extra hits allowed, % of the notes (default 10).
    max_mean_offset_ms : float
        Largest mean offset, early or late, in ms (default 25): no passing while rushing or
        dragging throughout.
    """

    min_played_pct: float = 90.0
    on_time_ms: float = 30.0
    min_on_time_pct: float = 80.0
    max_extra_pct: float = 10.0
    max_mean_offset_ms: float = 25.0

    def __post_init__(self) -> None:
        shares = {"min_played_pct": "the notes played", "min_on_time_pct": "the notes on time",
                  "max_extra_pct": "the extra hits allowed"}
        for name, what in shares.items():
            value = getattr(self, name)
            if not 0.0 <= value <= 100.0:  # NaN fails too
                raise InputError(f"to pass, {what} ({name}) must be 0-100 % of the notes, "
                                 f"got {value:g}")
        windows = {"on_time_ms": "a note is on time within", "max_mean_offset_ms":
                   "the mean offset, early or late, is at most"}
        for name, what in windows.items():
            value = getattr(self, name)
            if not 0.0 < value <= 500.0:
                raise InputError(f"to pass, {what} {value:g} ms ({name}): give more than 0 "
                                 "and at most 500 ms")


@dataclass(frozen=True)
class TrainerConfig:
    """How the tempo trainer moves and judges.

    Parameters
    ----------
    start_fraction : float
        First tempo as a fraction of the target (default 0.6).
    step_up_pct, step_down_pct : float
        Tempo change after a pass / after ``failures_before_down`` failures, % of the target
        (default 5 each).
    failures_before_down : int
        Failures in a row before the tempo drops (default 2).
    min_fraction : float
        The tempo never drops below this fraction of the target (default 0.4).
    with_feel : bool
        Aim at the teacher's microtiming instead of the grid (default False).
    criteria : PassCriteria
        When an attempt passes.
    """

    start_fraction: float = 0.6
    step_up_pct: float = 5.0
    step_down_pct: float = 5.0
    failures_before_down: int = 2
    min_fraction: float = 0.4
    with_feel: bool = False
    criteria: PassCriteria = field(default_factory=PassCriteria)

    def __post_init__(self) -> None:
        if not 0.1 <= self.start_fraction <= 1.0:  # NaN fails too
            raise InputError(f"the first tempo (start_fraction) must be 10-100 % of the "
                             f"teacher's, got {100 * self.start_fraction:g} %")
        if not 0.1 <= self.min_fraction <= self.start_fraction:
            raise InputError(f"the lowest tempo (min_fraction) must be 10 % of the teacher's "
                             f"or more and at most the first tempo, got "
                             f"{100 * self.min_fraction:g} %")
        for name in ("step_up_pct", "step_down_pct"):
            value = getattr(self, name)
            if not 0 < value <= 50:
                raise InputError(f"a tempo step ({name}) must be more than 0 and at most 50 % "
                                 f"of the teacher's tempo, got {value:g} %")
        if self.failures_before_down < 1:
            raise InputError(f"the failed attempts before the tempo drops "
                             f"(failures_before_down) must be 1 or more, got "
                             f"{self.failures_before_down}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainerConfig:
        """Inverse of :meth:`to_dict` (missing fields take their defaults)."""
        data = dict(data)
        try:
            return cls(criteria=PassCriteria(**data.pop("criteria", {})), **data)
        except TypeError as exc:
            raise InputError(f"unknown trainer setting: {exc}") from exc
