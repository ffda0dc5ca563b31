"""What a page plays, rebuilt on the server: the backing track and the click on a timeline.

A microphone without headphones hears both, so the bleed canceller
(:class:`~drumjam.analysis.bleed.BleedCanceller`) subtracts them; it needs them sample for
sample as the page's audio engine (``static/js/engine.js``) schedules them: the count-in and
the song's beats from ``static/js/timeline.js``'s ``clickSchedule`` (:func:`click_schedule`
here), each click a short sine (1760 Hz on a bar's first beat, 1175 Hz on the others) with an
exponential attack to its peak in 2 ms and decay to -80 dB at 60 ms (:func:`click_sound`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drumjam.analysis.bleed import Signal
from drumjam.errors import InputError
from drumjam.session.practice import PracticePlan

#: The page's click: (frequency Hz, peak) for an accented and a plain click; attack and
#: decay ends, the oscillator's stop (s), and the envelope's floor.
ACCENT = (1760.0, 0.6)
PLAIN = (1175.0, 0.35)
ATTACK_S, DECAY_S, STOP_S = 0.002, 0.06, 0.08
FLOOR = 1e-4
#: Most count-in bars a page plays.
MAX_COUNT_IN_BARS = 8


@dataclass(frozen=True)
class Click:
    """One click: when (timeline seconds), whether accented, its count-in number (None for a
    song beat's click, which the page's Click switch mutes)."""

    time_s: float
    accent: bool
    count: int | None


def click_schedule(beats_s: np.ndarray, downbeats_s: np.ndarray, *, meter: int, first_s: float,
                   end_s: float, count_in_bars: int) -> list[Click]:
    """Every click of a run as the page schedules it (``clickSchedule`` of timeline.js).

    Parameters
    ----------
    beats_s, downbeats_s : numpy.ndarray
        The timeline's beats and downbeats, in seconds.
    meter : int
        Beats per bar.
    first_s : float
        Where the music starts (the count-in ends there).
    end_s : float
        No song beat clicks after this time.
    count_in_bars : int
        Bars counted in before ``first_s``, at the first beat period.

    Returns
    -------
    list of Click
        In time order.
    """
    if not 0 <= int(count_in_bars) <= MAX_COUNT_IN_BARS:
        raise InputError(f"count-in of {count_in_bars} bars is out of range; use "
                         f"0-{MAX_COUNT_IN_BARS}")
    beats = np.asarray(beats_s, dtype=float)
    period = float(beats[1] - beats[0]) if beats.size > 1 else 0.5
    count_in = int(count_in_bars) * int(meter)
    clicks = [Click(first_s - k * period, (count_in - k) % meter == 0, (count_in - k) % meter + 1)
              for k in range(count_in, 0, -1)]
    down = {f"{t:.6f}" for t in np.asarray(downbeats_s, dtype=float)}
    for t in beats:
        if t > end_s + 1e-6:
            break
        if count_in and first_s - count_in * period - 1e-3 <= t < first_s - 1e-3:
            continue
        clicks.append(Click(float(t), f"{t:.6f}" in down, None))
    return sorted(clicks, key=lambda c: c.time_s)


def click_sound(*, accent: bool, sample_rate: int, delay_s: float = 0.0) -> np.ndarray:
    """One click as the page's oscillator plays it, starting ``delay_s`` (under a sample) late."""
    freq, peak = ACCENT if accent else PLAIN
    t = np.arange(int(np.ceil((STOP_S + delay_s) * sample_rate))) / sample_rate - delay_s
    attack = FLOOR * (peak / FLOOR) ** np.clip(t / ATTACK_S, 0.0, 1.0)
    decay = peak * (FLOOR / peak) ** np.clip((t - ATTACK_S) / (DECAY_S - ATTACK_S), 0.0, 1.0)
    env = np.where(t < ATTACK_S, attack, decay)
    return np.where((t >= 0) & (t < STOP_S), env * np.sin(2 * np.pi * freq * t), 0.0).astype(np.float32)


class ClickSignal:
    """The clicks as heard, rendered a piece at a time (a :class:`~drumjam.analysis.bleed.Signal`).

    Parameters
    ----------
    clicks : list of Click
        The run's clicks (:func:`click_schedule`).
    sample_rate : int
        In Hz.
    start_s : float
        Timeline time of sample 0.
    beat_clicks : bool
        Whether the song beats' clicks sound (the page's Click switch; the count-in always
        sounds).
    """

    def __init__(self, clicks: list[Click], *, sample_rate: int, start_s: float,
                 beat_clicks: bool = True) -> None:
        self.sample_rate = int(sample_rate)
        kept = [c for c in clicks if beat_clicks or c.count is not None]
        self._at = np.array([(c.time_s - start_s) * sample_rate for c in kept], dtype=float)
        self._accent = [c.accent for c in kept]
        self._length = int(np.ceil(STOP_S * sample_rate)) + 1

    def samples(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)``: every click sounding there."""
        out = np.zeros(max(stop - start, 0), np.float32)
        first, last = np.searchsorted(self._at, [start - self._length, stop])
        for k in range(first, last):
            i = int(np.floor(self._at[k]))
            sound = click_sound(accent=self._accent[k], sample_rate=self.sample_rate,
                                delay_s=(self._at[k] - i) / self.sample_rate)
            lo, hi = max(i, start), min(i + sound.size, stop)
            if hi > lo:
                out[lo - start:hi - start] += sound[lo - i:hi - i]
        return out


class BackingSignal:
    """The backing track as a session plays it, on its timeline, read a piece at a time from
    the decoded song (never copied; a :class:`~drumjam.analysis.bleed.Signal`): silence for the
    lead-in, then the audio range, repeated to the end of the timeline when looped (the fields
    of :class:`~drumjam.session.practice.PracticePlan`).

    Parameters
    ----------
    audio : numpy.ndarray
        The song, mono float32, at ``sample_rate``.
    sample_rate : int
        In Hz.
    first_s : float
        Timeline time of sample 0 (0 s, or earlier for a count-in longer than the lead-in).
    """

    def __init__(self, audio: np.ndarray, *, sample_rate: int, lead_in_s: float,
                 audio_start_s: float, audio_end_s: float, looped: bool, duration_s: float,
                 first_s: float = 0.0) -> None:
        a, b = (int(round(t * sample_rate)) for t in (audio_start_s, audio_end_s))
        self._part = np.asarray(audio, dtype=np.float32)[a:b]  # a view
        self._looped = looped
        # sample 0 of the part is at index `lead` here; nothing is played from index `end` on
        self._lead = int(round((lead_in_s - first_s) * sample_rate))
        self._end = int(round((duration_s - first_s) * sample_rate))

    def samples(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)``, zeros where nothing plays."""
        out = np.zeros(max(stop - start, 0), np.float32)
        size = self._part.size
        if not size:
            return out
        idx = np.arange(max(start, self._lead), min(stop, self._end)) - self._lead
        if idx.size:
            if self._looped:
                idx %= size
            else:
                idx = idx[idx < size]
            first = max(start, self._lead) - start
            out[first:first + idx.size] = self._part[idx]
        return out


@dataclass(frozen=True)
class Played:
    """What the page plays for a run, on its timeline.

    Attributes
    ----------
    backing, clicks : Signal
        The backing track (silence when there is none) and the clicks, lined up, read a
        piece at a time (:class:`BackingSignal`, :class:`ClickSignal`, or any
        :class:`~drumjam.analysis.bleed.Signal`).
    start_s : float
        Timeline time of their first sample (0 s, or earlier for a count-in longer than the
        lead-in), a whole number of samples.
    music_s : float
        Where the music starts: before it the microphone hears the count-in alone.
    """

    backing: Signal
    clicks: Signal
    start_s: float
    music_s: float


def played_reference(plan: PracticePlan, audio: np.ndarray | None, *, sample_rate: int,
                     count_in_bars: int, beat_clicks: bool) -> Played:
    """What the page plays for a run of ``plan``, from its first count-in click on: the
    backing track (``audio``, held as it is, not copied; None: none) and the clicks."""
    bm = plan.beatmap
    clicks = click_schedule(bm.beats_s, bm.downbeats_s, meter=bm.meter, first_s=plan.lead_in_s,
                            end_s=plan.duration_s, count_in_bars=count_in_bars)
    pre = int(np.ceil(max(0.0, -min((c.time_s for c in clicks), default=0.0)) * sample_rate))
    start_s = -pre / sample_rate
    ticks = ClickSignal(clicks, sample_rate=sample_rate, start_s=start_s, beat_clicks=beat_clicks)
    if audio is None:
        audio = np.zeros(0, np.float32)
    backing = BackingSignal(audio, sample_rate=sample_rate, lead_in_s=plan.lead_in_s,
                            audio_start_s=plan.audio_start_s, audio_end_s=plan.audio_end_s,
                            looped=plan.looped, duration_s=plan.duration_s, first_s=start_s)
    return Played(backing, ticks, start_s, plan.lead_in_s)
