"""Onset detection: the times at which notes and hits start."""

from __future__ import annotations

import numpy as np

from drumjam.analysis.features import Envelope, onset_envelope, peak_positions

MIN_GAP_S = 0.03


def peaks_s(env: Envelope, threshold: float = 0.12, min_gap_s: float = MIN_GAP_S) -> np.ndarray:
    """Onset times: peaks of the onset envelope, sub-frame by parabolic interpolation.

    Parameters
    ----------
    env : Envelope
        The onset envelope.
    threshold : float
        Smallest peak height, relative to the envelope's 0-1 scale.
    min_gap_s : float
        Smallest time between two onsets.
    """
    import scipy.signal  # costly to import: only where onsets are asked for

    x = env.onset
    distance = max(1, int(round(min_gap_s * env.fps)))
    idx, _ = scipy.signal.find_peaks(x, height=threshold, distance=distance)
    idx = idx[(idx > 0) & (idx < x.size - 1)]
    times = env.frame_times_s(peak_positions(x, idx))
    return times[times >= 0]


def detect_onsets(samples: np.ndarray, sr: int, threshold: float = 0.12) -> np.ndarray:
    """Onset times in seconds of mono audio.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float samples.
    sr : int
        Sample rate.
    threshold : float
        Peak height (0-1 scale of the onset envelope) below which nothing counts.

    Returns
    -------
    numpy.ndarray
        Increasing onset times in seconds.
    """
    return peaks_s(onset_envelope(samples, sr), threshold)
