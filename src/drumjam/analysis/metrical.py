"""Which pulse is the beat: the off-beats told from the beats, and the metrical level.

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

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from drumjam.analysis.features import Envelope, window_max
from drumjam.analysis.tempo import MAX_BPM, MIN_BPM

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


# --- the metrical level: which multiple of the tracked pulse is the beat ---------------------

#: Tempo ratios (new / tracked) of the metrical levels a tracked beat sequence may be moved to.
LEVELS = ((1, 1), (2, 1), (1, 2), (3, 2), (2, 3))
#: Shares of a beat by which the tracked beats may lie off the beat at their own tempo: a
#: tracker may follow a swung off-beat (two thirds into the beat) instead of the beat. Such a
#: phase must win as another level must (:func:`pick_level`).
SWING_SHIFTS = (1 / 3, 2 / 3)
#: Half-width of the window in which a beat takes the network's largest beat probability.
NET_WINDOW_S = 0.04
#: Log-normal tempo prior (as in Ellis 2007 and madmom's tempo estimators): centre and weight
#: of ``-log2(tempo / centre) ** 2``.
PRIOR_CENTRE_BPM = 120.0
PRIOR_WEIGHT = 1.0
#: Weight of the log of the onsets' periodicity at a level's tempo.
SALIENCE_WEIGHT = 2.0
#: A level replaces the tracked one only when its score is this much higher. The weights and
#: this margin were chosen on rendered training-split grooves of the Groove MIDI Dataset
#: (``python -m drumjam.analysis.learn_metrical GMD --levels``), not on the benchmark files.
LEVEL_MARGIN = 0.7
MIN_LEVEL_BEATS = 4
#: Another level must also be heard clearly better by the network: the share of its beats on
#: the network's beat probability this much higher. A song's drum-less backing (bass and
#: chords in sixteenths) is heard about as well at twice its tempo, so "as well" is no reason
#: to double it.
MIN_PRECISION_GAIN = 0.1
#: ... unless the drums say so: a level twice or half the tracked one is also taken when the
#: drum pattern's log-odds that it is the beat (:func:`drumjam.analysis.drumpattern.faster_is_beat_logit`)
#: exceed this, and the network hears its beats at least as well (precision no lower). On 105
#: rendered training-split grooves (``learn_metrical --levels``) margins 0.5-3 gave the same
#: levels and 0 one more right; 1 (odds of e to 1) is taken so that a near tie of the drums
#: never decides (a check on the held-out grooves afterwards agreed: 0 lost one of them).
DRUM_LEVEL_MARGIN = 1.0


def level_candidates(beats_s: np.ndarray) -> list[tuple[tuple[int, int], np.ndarray]]:
    """Every level of :data:`LEVELS` and phase on the lattice of the tracked beats.

    The times are interpolated between the tracked beats (so a level follows the tracked
    tempo's drift): the double tempo adds the midpoints; half the tempo keeps every other
    beat (two phases); 3/2 puts three beats over every two (two phases), 2/3 two over every
    three (three phases); last, the tracked tempo moved by each of :data:`SWING_SHIFTS`.
    Returns ``((numerator, denominator), times_s)`` pairs, the tracked level first.
    """
    index = np.arange(beats_s.size, dtype=np.float64)
    positions = [((num, den), np.arange(phase, beats_s.size - 1 + 1e-9, den / num))
                 for num, den in LEVELS for phase in range(den)]
    positions += [((1, 1), np.arange(shift, beats_s.size - 1, 1.0)) for shift in SWING_SHIFTS]
    return [(level, np.interp(pos, index, beats_s)) for level, pos in positions
            if pos.size >= MIN_LEVEL_BEATS]


def network_fit(beat_prob: np.ndarray, fps: float, times_s: np.ndarray) -> tuple[float, float]:
    """How well beats explain a network's beat probability: precision and recall.

    Precision is the mean probability at the beats (the largest within
    :data:`NET_WINDOW_S`); recall the share of the probability summed between the first and
    the last beat that lies within that window of a beat. A level too slow leaves beats the
    network hears uncovered (low recall); one too fast puts beats where it hears none (low
    precision).
    """
    half = round(NET_WINDOW_S * fps)
    centres = np.round(times_s * fps).astype(int)
    precision = float(window_max(beat_prob, centres, half).mean())
    lo, hi = max(0, centres[0] - half), min(beat_prob.size, centres[-1] + half + 1)
    marks = np.zeros(beat_prob.size + 2 * half + 1)
    np.add.at(marks, np.clip(centres, -half, beat_prob.size + half - 1) + half, 1.0)
    covered = np.convolve(marks, np.ones(2 * half + 1), mode="same")[half:half + beat_prob.size] > 0
    total = float(beat_prob[lo:hi].sum())
    recall = float(beat_prob[lo:hi][covered[lo:hi]].sum()) / total if total > 0 else 0.0
    return precision, recall


class LevelEvidence(NamedTuple):
    """What speaks for one metrical level (see :func:`level_evidence`)."""

    level: tuple[int, int]
    beats_s: np.ndarray
    precision: float
    network: float  # log precision + log recall of the network's beat probability
    salience: float  # log periodicity of the onsets at the level's tempo
    prior: float  # -log2(tempo / PRIOR_CENTRE_BPM) ** 2
    drums: float = 0.0  # log-odds from the drum pattern that this level, not the tracked one, is the beat


FasterIsBeat = Callable[[np.ndarray, np.ndarray], float]


def level_evidence(beats_s: np.ndarray, beat_prob: np.ndarray, fps: float,
                   salience_at: Callable[[float], float],
                   faster_is_beat: FasterIsBeat | None = None) -> list[LevelEvidence]:
    """The evidence for every level of :func:`level_candidates` within the tempo range.

    ``faster_is_beat(slow_s, fast_s)``, where drums are heard, gives the log-odds that of two
    grids, one twice as fast as the other, the faster is the beat; it speaks for the double
    and half levels.
    """
    out = []
    for level, times in level_candidates(beats_s):
        bpm = 60.0 / float(np.median(np.diff(times)))
        if not MIN_BPM <= bpm <= MAX_BPM:
            continue
        precision, recall = network_fit(beat_prob, fps, times)
        drums = 0.0
        if faster_is_beat is not None and level == (2, 1):
            drums = faster_is_beat(beats_s, times)
        elif faster_is_beat is not None and level == (1, 2):
            drums = -faster_is_beat(times, beats_s)
        out.append(LevelEvidence(level, times, precision, np.log(precision + 1e-3) + np.log(recall + 1e-3),
                                 float(np.log(salience_at(bpm) + 1e-3)),
                                 -float(np.log2(bpm / PRIOR_CENTRE_BPM) ** 2), drums))
    return out


def pick_level(evidence: list[LevelEvidence], prior_weight: float = PRIOR_WEIGHT,
               salience_weight: float = SALIENCE_WEIGHT, margin: float = LEVEL_MARGIN,
               drum_margin: float = DRUM_LEVEL_MARGIN) -> int:
    """Index of the chosen level in ``evidence`` (0, the tracked level, unless another wins)."""
    scores = [e.network + salience_weight * e.salience + prior_weight * e.prior for e in evidence]
    best = int(np.argmax(scores))
    chosen, tracked = evidence[best], evidence[0]
    clearer = chosen.precision >= tracked.precision + MIN_PRECISION_GAIN or (
        chosen.drums > drum_margin and chosen.precision >= tracked.precision)
    if scores[best] > scores[0] + margin and clearer:
        return best
    return 0


def nearest_level(beats_s: np.ndarray, beat_prob: np.ndarray, fps: float,
                  tempo_bpm: float) -> tuple[tuple[int, int], np.ndarray]:
    """The level of :func:`level_candidates` whose tempo is nearest ``tempo_bpm`` (the tracked
    one on a tie), in the phase the network's beat probability fits best (for the tracked
    level, the beats or the points half-way between them: the tracker may have followed the
    off-beats)."""
    candidates = level_candidates(beats_s)
    if beats_s.size < MIN_LEVEL_BEATS or not candidates:
        return (1, 1), beats_s
    candidates.append(((1, 1), beats_s[:-1] + 0.5 * np.diff(beats_s)))
    distance = [abs(np.log2(60.0 / float(np.median(np.diff(t))) / tempo_bpm)) for _, t in candidates]
    level = candidates[int(np.argmin(distance))][0]
    phases = [t for lv, t in candidates if lv == level]
    fits = [sum(np.log(np.asarray(network_fit(beat_prob, fps, t)) + 1e-3)) for t in phases]
    return level, phases[int(np.argmax(fits))]


def choose_level(beats_s: np.ndarray, beat_prob: np.ndarray, fps: float,
                 salience_at: Callable[[float], float],
                 faster_is_beat: FasterIsBeat | None = None) -> tuple[tuple[int, int], np.ndarray]:
    """The metrical level of the beat: the tracked one, or a multiple (or, at the tracked
    tempo, a phase a third of a beat off: a swung off-beat tracked) the evidence prefers.

    Each level of :func:`level_candidates` scores ``log precision + log recall`` of the
    network's beat probability (:func:`network_fit`), plus :data:`SALIENCE_WEIGHT` times the
    log of the onsets' periodicity at its tempo, plus :data:`PRIOR_WEIGHT` times the
    log-normal tempo prior. Another level replaces the tracked one only if it scores
    :data:`LEVEL_MARGIN` more and the network hears its beats clearly better (precision higher
    by :data:`MIN_PRECISION_GAIN`), so the recall gained by adding beats cannot by itself
    double a tempo; or, for twice or half the tracked tempo, when the drum pattern says it is
    the beat (log-odds above :data:`DRUM_LEVEL_MARGIN`) and the network hears it no worse.

    Parameters
    ----------
    beats_s : numpy.ndarray
        Tracked beats.
    beat_prob : numpy.ndarray
        The network's probability of a beat (any beat, downbeats included) per frame.
    fps : float
        Its frame rate.
    salience_at : callable
        Periodicity of the onsets at a tempo in BPM (:meth:`TempoCurve.salience_at`).
    faster_is_beat : callable, optional
        The drum pattern's say on a 2:1 pair of grids (see :func:`level_evidence`); none
        where no drums are heard.

    Returns
    -------
    level : tuple of int
        ``(numerator, denominator)`` of the chosen tempo over the tracked one.
    beats_s : numpy.ndarray
        The beats at that level (the tracked beats for ``(1, 1)``).
    """
    if beats_s.size < MIN_LEVEL_BEATS:
        return (1, 1), beats_s
    evidence = level_evidence(beats_s, beat_prob, fps, salience_at, faster_is_beat)
    if not evidence or evidence[0].level != (1, 1):
        return (1, 1), beats_s
    chosen = evidence[pick_level(evidence)]
    return chosen.level, chosen.beats_s
