"""The limits drumjam holds every input to, checked before any work is done.

Each reader checks what a file claims (its size, resolution, tempo, last tick, frames and
channels) against these numbers before it allocates anything, and names the file, the value
and the fix when a limit is passed. ``docs/limits.md`` explains each one.
"""

from __future__ import annotations

#: Slowest and fastest tempo of any beat map, in beats per minute.
MIN_TEMPO_BPM = 20.0
MAX_TEMPO_BPM = 400.0
#: Relative slack of the tempo limits for floating-point rounding: beats 60/400 s apart, placed
#: by multiplying and subtracting seconds, read back as 400.00000000006 BPM and were refused.
TEMPO_TOLERANCE = 1e-6
#: Latest time of any hit, note or beat (a long live set, not a day).
MAX_DURATION_S = 6 * 3600.0
#: Most beats of one beat map: the longest song at the fastest tempo.
MAX_BEATS = int(MAX_DURATION_S * MAX_TEMPO_BPM / 60.0)
#: Most hits in one take, or notes in one chart (six hours at 23 strokes a second).
MAX_EVENTS = 500_000
#: Largest MIDI file read: 500,000 notes with their note-offs fit in 3.5 MB, and mido holds a
#: file of this size in about half a gigabyte while it is read.
MAX_MIDI_BYTES = 4 * 1024 * 1024
#: Largest Clone Hero ``notes.chart`` read.
MAX_CHART_BYTES = 8 * 1024 * 1024
#: Finest tick resolution (ticks per quarter note) of a MIDI file or chart.
MAX_TICKS_PER_BEAT = 32767
#: Beats per bar and note values of a beat that a time signature may have.
MAX_METER = 32
BEAT_UNITS = (1, 2, 4, 8, 16, 32)
#: Longest audio read.
MAX_AUDIO_DURATION_S = 2 * 3600.0
#: Most samples of decoded audio held at once (all channels kept): two hours of mono audio at
#: 24 kHz, 691 MB as float32. Longer or wider audio is read in blocks.
MAX_AUDIO_SAMPLES = int(MAX_AUDIO_DURATION_S * 24_000)
#: Most channels of an audio file.
MAX_AUDIO_CHANNELS = 32
#: Sample rates read and written, in Hz.
MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 384000


def tempo_in_range(tempo_bpm: float) -> bool:
    """Whether a tempo is within ``MIN_TEMPO_BPM``-``MAX_TEMPO_BPM``, both included, give or take
    ``TEMPO_TOLERANCE`` (NaN is not).

    Parameters
    ----------
    tempo_bpm : float
        Beats per minute.

    Returns
    -------
    bool
    """
    return (MIN_TEMPO_BPM * (1.0 - TEMPO_TOLERANCE) <= tempo_bpm
            <= MAX_TEMPO_BPM * (1.0 + TEMPO_TOLERANCE))


def duration_text(seconds: float) -> str:
    """A duration for people: ``"41 min"``, ``"7.5 h"`` or ``"3.2e+08 h"``."""
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 1e6 else f"{hours:.2g} h"
