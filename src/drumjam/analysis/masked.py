"""Strokes under strokes: a due note's drum sounding together with another drum.

The network hears 30 Hz to 11 kHz. A soft hi-hat struck with a loud snare is covered there by
the snare (on a sampled kit a velocity-40 closed hi-hat lies 11 to 26 dB under a velocity-64
snare below 6 kHz) while above 12 kHz it is the louder of the two; a ghost snare under a
hi-hat is heard in the low bands the hi-hat leaves free. The kit check knows the spectrum each
drum of the kit adds at its onset, up to 20 kHz, and how loud its checked strokes were
(:class:`DrumSpectrum`, learned by :func:`learn_spectra`).

Where a chart has a note due together with a stroke the network heard of another drum, and no
stroke of the note's own drum was heard, the spectrum added at that onset is explained as a
non-negative mix of the heard drums' spectra and the due drum's (:func:`masked_part`: least
squares on each band's error relative to what was heard there, so that the quiet high bands
count as much as the loud low ones). The due drum was played when its part reaches
:data:`MASKED_FLOOR_DB` of its checked strokes' level and explains at least
:data:`MASKED_EXPLAINED_MIN` of what the heard drums leave unexplained. The stroke is placed at
the heard stroke's time.

Both bounds were chosen on the renders of one sampled kit (AVL Black Pearl: three Groove MIDI
grooves, each note sounding with another drum's stroke played and skipped) and checked on two
others (``python benchmarks/kitcheck.py --masked-levels``): the floor at a round level under
most played notes (their median lies near -20 dB); the share at 0.1, twice the smallest that
left no more than 1 in 100 skipped notes credited on that kit (without it, 3 in 100).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from drumjam.analysis.transcribe import EXPECTED_WINDOW_S
from drumjam.model import Hit, Voice, parse_voice, voice_group

#: Bands of the added spectrum, in Hz (those above a stream's Nyquist frequency stay empty).
EDGES_HZ = tuple(float(f) for f in np.geomspace(40.0, 20000.0, 31))
#: The spectrum a stroke adds: this long from just before its onset, against as long before.
WINDOW_S = 0.04
LEAD_S = 0.003
#: A due drum's part of a shared onset, relative to its checked strokes' median level, from
#: which it counts as played.
MASKED_FLOOR_DB = -30.0
#: ... and explains at least this share of what the heard drums leave unexplained
#: (:func:`masked_part`).
MASKED_EXPLAINED_MIN = 0.1
#: Strokes this close sound together (their spectra add in one onset).
TOGETHER_S = 0.02


@dataclass(frozen=True)
class DrumSpectrum:
    """What one drum of a checked kit adds at its onset.

    Attributes
    ----------
    shape : tuple of float
        Power per band of :data:`EDGES_HZ`, summing to 1 (the mean over its checked strokes).
    level : float
        Median total added power of its checked strokes (after the profile's input gain).
    velocity : float
        Median velocity the network gave its checked strokes.
    """

    shape: tuple[float, ...]
    level: float
    velocity: float

    def to_list(self) -> list[float]:
        """JSON-ready form: the level, the velocity, then the shape."""
        return [float(f"{self.level:.6g}"), round(self.velocity, 1),
                *(float(f"{x:.5g}") for x in self.shape)]

    @classmethod
    def from_list(cls, values: Sequence[float]) -> DrumSpectrum:
        """From :meth:`to_list`'s form; ValueError if it does not fit the bands."""
        values = [float(v) for v in values]
        if len(values) != len(EDGES_HZ) + 1 or not all(np.isfinite(values)) or values[0] <= 0:
            raise ValueError(f"a drum spectrum needs {len(EDGES_HZ) + 1} finite numbers")
        return cls(tuple(values[2:]), values[0], values[1])


def added_power(x: np.ndarray, t_s: float, *, sample_rate: int,
                edges_hz: Sequence[float] = EDGES_HZ) -> np.ndarray | None:
    """Power added per band (``edges_hz``) at an onset at ``t_s`` (seconds of ``x``):
    :data:`WINDOW_S` after the onset minus as long before it, negative parts dropped; None
    where ``x`` does not reach."""
    n = int(round(WINDOW_S * sample_rate))
    a = int(round((t_s - LEAD_S) * sample_rate))
    if a - n < 0 or a + n > x.size:
        return None
    window = np.hanning(n)
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    band = np.searchsorted(edges_hz, freqs, side="right") - 1
    ok = (band >= 0) & (band < len(edges_hz) - 1)
    after = np.abs(np.fft.rfft(x[a:a + n] * window)) ** 2
    before = np.abs(np.fft.rfft(x[a - n:a] * window)) ** 2
    return np.bincount(band[ok], weights=np.maximum(after - before, 0.0)[ok],
                       minlength=len(edges_hz) - 1)


def learn_spectra(x: np.ndarray, strokes: Iterable[tuple[str, float, float]], *,
                  sample_rate: int) -> dict[str, DrumSpectrum]:
    """Each drum's :class:`DrumSpectrum` from the check's strokes.

    Parameters
    ----------
    x : numpy.ndarray
        The check's audio, after the input gain.
    strokes : iterable of (voice, time_s, velocity)
        Each check stroke: the drum asked for, its onset and the network's velocity (1-127).
    sample_rate : int
        Of ``x``, in Hz.
    """
    heard: dict[str, list[tuple[np.ndarray, float]]] = {}
    for voice, t_s, velocity in strokes:
        p = added_power(x, t_s, sample_rate=sample_rate)
        if p is not None and p.sum() > 0:
            heard.setdefault(voice, []).append((p, velocity))
    out = {}
    for voice, got in heard.items():
        shape = np.mean([p / p.sum() for p, _ in got], axis=0)
        out[voice] = DrumSpectrum(tuple(float(s) for s in shape / shape.sum()),
                                  float(np.median([p.sum() for p, _ in got])),
                                  float(np.median([v for _, v in got])))
    return out


def masked_part(added: np.ndarray, heard: Sequence[DrumSpectrum], due: DrumSpectrum, *,
                sample_rate: int | None = None) -> tuple[float, float]:
    """The due drum's part of a shared onset.

    ``added`` (from :func:`added_power`) is fitted as a non-negative mix of the heard drums'
    shapes and the due drum's, each band's error taken relative to the power heard there
    (the bands below the Nyquist frequency of ``sample_rate``, the audio's, where given).

    Returns
    -------
    level_db : float
        The due drum's part relative to its checked strokes' level, in dB (-inf: none).
    explained : float
        The share of what the heard drums alone leave unexplained that the due drum explains
        (0 to 1): a heard stroke a little unlike its checked ones leaves a residue that any
        shape fits a little of; a drum that was played leaves one its own shape fits well.
    """
    p = np.asarray(added, float)
    if not p.any():
        return float("-inf"), 0.0
    basis = np.stack([np.asarray(s.shape) for s in (*heard, due)], axis=1)
    if sample_rate is not None:  # a band the audio cannot hold says nothing
        below = np.asarray(EDGES_HZ[1:]) <= 0.5 * sample_rate
        p, basis = p[below], basis[below]
    weight = 1.0 / (p + 1e-3 * p.max())
    gains, residual = nnls(basis * weight[:, None], p * weight)
    _, alone = nnls(basis[:, :-1] * weight[:, None], p * weight)
    if gains[-1] <= 0 or alone <= 0:
        return float("-inf"), 0.0
    return float(10 * np.log10(gains[-1] / due.level)), float(1.0 - (residual / alone) ** 2)


def masked_velocity(level_db: float, due: DrumSpectrum) -> int:
    """MIDI velocity of a stroke ``level_db`` from its drum's checked level (velocity taken
    as 40·log10 of amplitude, from the checked strokes' median velocity)."""
    return int(np.clip(round(due.velocity * 10 ** (level_db / 40)), 1, 127))


class UnderListener:
    """Notes due, listened for under the strokes a stream's transcription hears.

    Parameters
    ----------
    notes : iterable of (float, Voice or str)
        The notes due (seconds of the stream's audio, voice).
    spectra : dict
        The checked kit's :class:`DrumSpectrum` per drum; a note whose drum (or a drum of its
        voice group) was not checked is not listened for.
    sample_rate : int
        Of the stream, in Hz.
    late : callable, optional
        How many seconds later than given a note due at second ``t`` is heard (see
        :class:`~drumjam.analysis.transcribe.DrumTranscriber`'s ``expected_late``).
    """

    def __init__(self, notes: Iterable[tuple[float, Voice | str]],
                 spectra: dict[str, DrumSpectrum], *, sample_rate: int,
                 late: Callable[[float], float] | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self._late = late
        self._spectra = dict(spectra)
        due = []
        for t_s, voice in notes:
            v = parse_voice(voice).value
            if self._spectrum(v) is not None:
                due.append((float(t_s), v))
        self._due = sorted(due)
        self._next = 0
        self._heard: deque[tuple[float, str]] = deque()  # hits of the stream, in time order

    def heard(self, hits: Iterable[Hit]) -> None:
        """The stream's hits, as they are released."""
        for h in sorted(hits, key=lambda h: h.time_s):
            self._heard.append((h.time_s, h.voice.value))

    def listen(self, audio: np.ndarray, audio_start_s: float, complete_s: float) -> list[Hit]:
        """The due notes played under other strokes, among those whose every nearby hit is
        known (every hit before ``complete_s`` has been passed to :meth:`heard`).

        Parameters
        ----------
        audio : numpy.ndarray
            The stream's recent audio (as the transcription heard it), from
            ``audio_start_s`` on; it must reach :data:`WINDOW_S` past ``complete_s``.
        """
        out = []
        while (self._next < len(self._due)
               and self._heard_at(self._next) + EXPECTED_WINDOW_S + TOGETHER_S < complete_s):
            t_s, voice = self._heard_at(self._next), self._due[self._next][1]
            self._next += 1
            hit = self._under(t_s, voice, audio, audio_start_s)
            if hit is not None:
                out.append(hit)
                self.heard([hit])
        while self._heard and self._heard[0][0] < complete_s - 2.0:
            self._heard.popleft()
        return out

    def _heard_at(self, i: int) -> float:
        """Where due note ``i`` is heard, in seconds of the stream."""
        t_s = self._due[i][0]
        return t_s if self._late is None else t_s + self._late(t_s)

    def _under(self, t_s: float, voice: str, audio: np.ndarray, audio_start_s: float) -> Hit | None:
        near = [(t, v) for t, v in self._heard if abs(t - t_s) <= EXPECTED_WINDOW_S]
        group = voice_group(voice)
        if not near or any(voice_group(v) == group for _, v in near):
            return None  # nothing heard there, or the drum itself was
        at = min(near, key=lambda h: abs(h[0] - t_s))[0]
        heard = [self._spectrum(v) for t, v in near if abs(t - at) <= TOGETHER_S]
        if any(s is None for s in heard):
            return None  # a drum the check did not learn: its part cannot be told
        p = added_power(audio, at - audio_start_s, sample_rate=self.sample_rate)
        if p is None:
            return None
        due = self._spectrum(voice)
        level_db, explained = masked_part(p, heard, due, sample_rate=self.sample_rate)
        if level_db < MASKED_FLOOR_DB or explained < MASKED_EXPLAINED_MIN:
            return None
        return Hit(at, voice, masked_velocity(level_db, due))

    def _spectrum(self, voice: str) -> DrumSpectrum | None:
        if voice in self._spectra:
            return self._spectra[voice]
        group = voice_group(voice)
        return next((s for v, s in sorted(self._spectra.items()) if voice_group(v) == group), None)
