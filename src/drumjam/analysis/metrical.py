"""Which of two interleaved pulses is the beat: a discriminant learned on drum grooves.

A tracker following the onsets may lock onto the off-beats (hi-hat eighths between the kick
and snare) as readily as onto the beats: both are equally regular. The beat differs by what
sounds on it: kick and bass, snare backbeats, against the lighter hats between. Each candidate
beat is described by the onset strength of three bands (low: kick and bass; mid: snare,
voice, chords; high: cymbals and hi-hats) on it and half a beat after it; :data:`BEAT_WEIGHTS`
is Fisher's linear discriminant between true beats and the off-beats half a beat later,
learned by :mod:`drumjam.analysis.learn_metrical` on the training split of the Groove MIDI
Dataset rendered with the AVL kits.
"""

from __future__ import annotations

import numpy as np

from drumjam.analysis.features import Envelope

PEAK_WINDOW_S = 0.03
FEATURES = ("low", "mid", "high", "low_half", "mid_half", "high_half")
#: Fisher discriminant of beats against off-beats over :data:`FEATURES`.
BEAT_WEIGHTS = np.array([0.573, 0.005, 0.451, -0.517, -0.096, -0.438])


def zscore(x: np.ndarray) -> np.ndarray:
    """Columns of ``x`` as z-scores (constant columns become 0)."""
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def pulse_features(env: Envelope, times_s: np.ndarray, period_s: np.ndarray) -> np.ndarray:
    """``(times, len(FEATURES))`` band onset strengths on each time and half a period later."""
    cols = [env.peak_near(band, times_s, PEAK_WINDOW_S) for band in env.bands]
    cols += [env.peak_near(band, times_s + 0.5 * period_s, PEAK_WINDOW_S) for band in env.bands]
    return np.stack(cols, axis=1)


def offbeat_margin(env: Envelope, beats_s: np.ndarray) -> float:
    """How much more the points half-way between the beats look like beats than the beats do.

    The discriminant of :data:`BEAT_WEIGHTS` averaged over the midpoints less that over the
    beats, on features z-scored over both (in units of the discriminant's spread).
    Positive: the tracker has probably locked onto the off-beats.
    """
    period = np.diff(beats_s)
    on = pulse_features(env, beats_s[:-1], period)
    off = pulse_features(env, beats_s[:-1] + 0.5 * period, period)
    z = zscore(np.concatenate([on, off])) @ BEAT_WEIGHTS
    spread = float(z.std()) or 1.0
    return float(z[on.shape[0]:].mean() - z[:on.shape[0]].mean()) / spread
