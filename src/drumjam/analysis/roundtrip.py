"""Latency calibration by ear: the round trip from the speakers to the microphone.

drumjam plays a known sequence of short clicks (:func:`calibration_clicks`) and records the
microphone on the same audio clock. The recording is the clicks delayed by the output and
input latency (plus the flight from the speaker to the microphone), coloured by the room and
buried in noise. :func:`measure_round_trip` finds that delay as the peak of the
phase-transform weighted cross-correlation (GCC-PHAT: every frequency counts alike, so the
room's colour does not smear the peak), refined between samples by a parabola.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from drumjam.errors import InputError

#: Longest round trip searched, in ms (a Bluetooth speaker can be 300 ms behind).
MAX_ROUND_TRIP_MS = 500.0
#: A peak must stand this many times above the correlation's typical level to be believed.
MIN_PEAK_RATIO = 8.0
#: Lowest and highest frequency weighted, in Hz (below, room rumble; above, little energy).
BAND_HZ = (150.0, 8000.0)
CLICK_S = 0.004
#: Each click is then looked for on its own, within this long of where the round trip puts
#: it...
CLICK_SEARCH_S = 0.005
#: ... and must be found within this long of there...
CLICK_AGREE_S = 0.0005
#: ... by at least this share of the clicks: drums played meanwhile (or anything else loud and
#: sharp) can line up with one click or two by chance, never with most of them at one delay.
MIN_AGREEING_SHARE = 0.6


@dataclass(frozen=True)
class RoundTrip:
    """A measured round trip.

    Attributes
    ----------
    latency_ms : float
        Output + input latency (and the sound's flight), in ms.
    peak_ratio : float
        How far the correlation peak stands above its median level (confidence).
    """

    latency_ms: float
    peak_ratio: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"latency_ms": round(self.latency_ms, 2), "peak_ratio": round(self.peak_ratio, 1)}


def calibration_clicks(*, sample_rate: int, n_clicks: int = 8, interval_s: float = 0.5,
                       seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """The known calibration signal: short noise bursts at slightly irregular times.

    The irregular spacing (up to 25 % of ``interval_s``) keeps the correlation from having
    equal peaks one interval apart.

    Parameters
    ----------
    sample_rate : int
        In Hz.
    n_clicks : int
        How many clicks (at least 2).
    interval_s : float
        Mean time between clicks.
    seed : int
        Fixes the bursts and the spacing (the browser and the server agree on it).

    Returns
    -------
    signal : numpy.ndarray
        float32 mono samples, peak 0.5, with ``interval_s`` of silence after the last click.
    clicks_s : numpy.ndarray
        When each click starts, in seconds from the signal's start.
    """
    if n_clicks < 2 or not 0.05 <= interval_s <= 5.0:
        raise InputError(f"{n_clicks} clicks every {interval_s} s: use at least 2 clicks "
                         "0.05-5 s apart")
    rng = np.random.default_rng(seed)
    gaps = interval_s * (1.0 + 0.25 * rng.uniform(-1, 1, n_clicks))
    clicks_s = np.concatenate([[interval_s / 2], interval_s / 2 + np.cumsum(gaps[:-1])])
    n = int(round((clicks_s[-1] + interval_s) * sample_rate))
    signal = np.zeros(n, np.float32)
    width = int(round(CLICK_S * sample_rate))
    envelope = np.hanning(width + 2)[1:-1]
    for start in np.round(clicks_s * sample_rate).astype(int):
        signal[start:start + width] += envelope * rng.uniform(-1, 1, width)
    signal *= 0.5 / np.max(np.abs(signal))
    return signal, clicks_s


def measure_round_trip(played: np.ndarray, recorded: np.ndarray, *, sample_rate: int,
                       max_ms: float = MAX_ROUND_TRIP_MS) -> RoundTrip:
    """How late the recording hears what was played.

    Parameters
    ----------
    played : numpy.ndarray
        The samples sent to the speakers, starting at audio-clock sample ``s0``: short clicks
        with silence between them (:func:`calibration_clicks`), each looked for on its own too.
    recorded : numpy.ndarray
        The microphone's samples from the same sample ``s0`` on (at least as long as
        ``played``; longer is fine).
    sample_rate : int
        Of both, in Hz.
    max_ms : float
        Longest round trip searched.

    Returns
    -------
    RoundTrip

    Raises
    ------
    InputError
        If the recording is silent, too short, or does not hear the clicks clearly (speakers
        muted or too quiet, a noisy room, drums played meanwhile).
    """
    played = _mono(played, "played signal")
    recorded = _mono(recorded, "recording")
    max_lag = int(round(max_ms / 1000.0 * sample_rate))
    if recorded.size < played.size:
        raise InputError(f"the recording ({recorded.size} samples) is shorter than the clicks "
                         f"played ({played.size}); record until the clicks have ended")
    if not np.any(recorded):
        raise InputError("the recording is silent: check that the microphone is on and "
                         "not muted, then calibrate again")
    n = 1 << int(np.ceil(np.log2(recorded.size + played.size)))
    spec = np.fft.rfft(recorded, n) * np.conj(np.fft.rfft(played, n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    band = (freqs >= BAND_HZ[0]) & (freqs <= min(BAND_HZ[1], 0.45 * sample_rate))
    weighted = np.where(band, spec / np.maximum(np.abs(spec), 1e-20), 0.0)
    corr = np.fft.irfft(weighted, n)[:max_lag + 2]
    lag = int(np.argmax(corr[:max_lag + 1]))
    ratio = float(corr[lag] / (np.median(np.abs(corr)) + 1e-12))
    if ratio < MIN_PEAK_RATIO:
        raise InputError(
            f"the microphone did not hear the clicks clearly (peak {ratio:.1f} times the "
            f"background, need {MIN_PEAK_RATIO:.0f}): turn the speakers up, move the microphone "
            "closer or make the room quieter, then calibrate again")
    agreeing = _clicks_at(played, recorded, lag, sample_rate=sample_rate)
    if agreeing < MIN_AGREEING_SHARE:
        raise InputError(
            f"the microphone heard only {agreeing:.0%} of the clicks at one delay (need "
            f"{MIN_AGREEING_SHARE:.0%}): keep the drums quiet while the clicks play, turn the "
            "speakers up or move the microphone closer, then calibrate again")
    delta = _parabola(corr, lag)
    return RoundTrip(1000.0 * (lag + delta) / sample_rate, ratio)


def _clicks_at(played: np.ndarray, recorded: np.ndarray, lag: int, *, sample_rate: int) -> float:
    """The share of the clicks of ``played`` that the recording, on its own at each, hears
    ``lag`` samples late: within :data:`CLICK_SEARCH_S` of there, the cross-correlation with
    that click peaks within :data:`CLICK_AGREE_S` of it."""
    width = int(round(CLICK_S * sample_rate))
    search = int(round(CLICK_SEARCH_S * sample_rate))
    agree = int(round(CLICK_AGREE_S * sample_rate))
    sounding = np.flatnonzero(np.abs(played) > 0)
    starts = sounding[np.concatenate([[True], np.diff(sounding) > width])]
    found = 0
    for start in starts:
        click = played[start:start + width]
        a = start + lag - search
        segment = recorded[max(a, 0):start + lag + search + click.size]
        if a < 0 or segment.size < 2 * search + click.size:
            continue
        corr = np.correlate(segment, click, mode="valid")
        found += abs(int(np.argmax(np.abs(corr))) - search) <= agree
    return found / max(len(starts), 1)


def _parabola(values: np.ndarray, i: int) -> float:
    """Offset (-0.5..0.5) of a peak at ``i`` from a parabola through it and its neighbours."""
    if i == 0 or i + 1 >= values.size:
        return 0.0
    left, mid, right = values[i - 1], values[i], values[i + 1]
    curvature = left - 2 * mid + right
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0


def _mono(x: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise InputError(f"the {what} must be one non-empty channel of samples, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"the {what} holds NaN or infinite samples")
    return a
