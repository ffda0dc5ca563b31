"""Metre and downbeats of a tracked beat sequence.

Two kinds of evidence say how strongly each beat sounds like a "one":

- **Accent** (from the onset envelope): the downbeat carries low-band onset energy (kick drum,
  bass notes) for its overall strength (snare backbeats are loud but not low) and the largest
  change of spectrum (new chord, crash cymbal); without a low band (a click track) it is the
  loudest beat.
- **Learned** (:mod:`drumjam.analysis.beatnet`): the downbeat probability of BeatNet's network,
  trained on annotated popular music, which hears what marks a bar in full mixes: harmony
  changing, a bass line starting over, a vocal phrase beginning.
- **Drums** (:mod:`drumjam.analysis.drumpattern`): where drums are heard, what the kit plays
  around each beat (kick on the one, backbeats, fills and crashes), read by a network drumjam
  trained on drum grooves.

All are z-scored over the beats and added, the learned one at :data:`LEARNED_WEIGHT` and the
drums at :data:`DRUM_WEIGHT`. Each
metre (3 or 4) and phase splits the beats into would-be downbeats and the rest; the metre and
phase whose downbeats stand out most above the other beats win.
"""

from __future__ import annotations

import itertools

import numpy as np

from drumjam.analysis.features import Envelope, window_max
from drumjam.analysis.metrical import zscore

METERS = (3, 4)
PEAK_WINDOW_S = 0.04
LOW_SHARE_MIN = 0.15
#: Weight of the learned evidence against the accent evidence (both z-scores). Chosen on 64
#: rendered training-split grooves of the Groove MIDI Dataset (0.25-0.5 did best there); the
#: held-out grooves and the real files of ``benchmarks/beats.py`` were not used to choose it.
LEARNED_WEIGHT = 0.5
#: Weight of the drum pattern's evidence (:mod:`drumjam.analysis.drumpattern`), a z-score too.
#: Chosen on 26 rendered training-split grooves in 4/4 (``learn_metrical --downbeats``: bar phase
#: right in 0.58 of them without it, 0.65 at 0.5, 0.73 at 1-2, 0.77 at 4). The drum pattern was
#: learned from other renders of the same split, so this favours it somewhat; music without
#: drums never hears from it (:data:`drumjam.analysis.drumpattern.PRESENCE_MIN`).
DRUM_WEIGHT = 4.0
#: Half-width of the window in which a beat takes the network's largest downbeat probability.
LEARNED_WINDOW_S = 0.04


def beat_spectra(env: Envelope, beats_s: np.ndarray) -> np.ndarray:
    """Mean log-mel spectrum of each beat interval less the song's mean, unit norm.

    Returns an array of shape ``(beats - 1, n_mels)``.
    """
    frames = np.clip(np.round(env.frames_of(beats_s)).astype(int), 0, env.mel_db.shape[1] - 1)
    spectra = np.stack([
        env.mel_db[:, a:max(b, a + 1)].mean(axis=1) for a, b in itertools.pairwise(frames)
    ])
    # what changes from beat to beat, not the song's overall timbre
    spectra = spectra - spectra.mean(axis=0, keepdims=True)
    norm = np.linalg.norm(spectra, axis=1, keepdims=True)
    return spectra / np.maximum(norm, 1e-9)


def accent_evidence(env: Envelope, beats_s: np.ndarray) -> np.ndarray:
    """How much each beat sounds like a downbeat by its onsets and spectrum (z-score sum)."""
    spectra = beat_spectra(env, beats_s)
    low = zscore(env.peak_near(env.low, beats_s, PEAK_WINDOW_S))
    change = np.zeros(beats_s.size)
    if spectra.shape[0] >= 2:
        # change at beat i: distance between the spectra of the intervals before and after it
        change[1:-1] = 1.0 - np.sum(spectra[:-1] * spectra[1:], axis=1)
    change = zscore(change)
    strength = zscore(env.peak_near(env.onset, beats_s, PEAK_WINDOW_S))
    if env.low_share < LOW_SHARE_MIN:
        # no kick or bass to go by (a click track, a hand clap): the accented beat is the loud one
        return strength + 0.5 * change
    # kick and bass on "one", snare backbeats loud on the other beats
    return low - strength + 0.5 * change


def learned_evidence(downbeat_prob: np.ndarray, fps: float, beats_s: np.ndarray) -> np.ndarray:
    """The largest network downbeat probability within :data:`LEARNED_WINDOW_S` of each beat.

    Parameters
    ----------
    downbeat_prob : numpy.ndarray
        Downbeat probability per frame (frame ``i`` at ``i / fps`` s).
    fps : float
        Its frame rate.
    beats_s : numpy.ndarray
        Beat times.
    """
    return window_max(downbeat_prob, np.round(beats_s * fps).astype(int), round(LEARNED_WINDOW_S * fps))


def phase_margins(evidence: np.ndarray, meter: int) -> np.ndarray:
    """For each phase, the mean evidence of its would-be downbeats less that of the other beats."""
    out = np.full(meter, -np.inf)
    for p in range(min(meter, evidence.size)):
        mask = np.zeros(evidence.size, bool)
        mask[p::meter] = True
        if mask.all():
            continue
        out[p] = evidence[mask].mean() - evidence[~mask].mean()
    return out


def downbeats(env: Envelope, beats_s: np.ndarray, meter: int | None = None,
              learned: np.ndarray | None = None, drums: np.ndarray | None = None) -> tuple[int, int]:
    """Metre and the index of the first downbeat among the beats.

    Parameters
    ----------
    env : Envelope
        The song's onset envelope.
    beats_s : numpy.ndarray
        Beat times.
    meter : int, optional
        Force the metre instead of estimating it.
    learned : numpy.ndarray, optional
        The network's downbeat evidence per beat (:func:`learned_evidence`); accent evidence
        alone without it.
    drums : numpy.ndarray, optional
        Each beat's log-odds of a downbeat from the drum pattern around it
        (:func:`drumjam.analysis.drumpattern.downbeat_logits`).
    """
    if beats_s.size < 4:
        return meter or 4, 0
    evidence = zscore(accent_evidence(env, beats_s))
    if learned is not None:
        evidence = evidence + LEARNED_WEIGHT * zscore(learned)
    if drums is not None:
        evidence = evidence + DRUM_WEIGHT * zscore(drums)
    margins = {m: phase_margins(evidence, m) for m in ((meter,) if meter else METERS)}
    best = {m: float(v.max()) for m, v in margins.items()}
    chosen = max(best, key=lambda m: best[m])
    return chosen, int(np.argmax(margins[chosen]))
