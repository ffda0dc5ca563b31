"""Click tracks: a metronome on the beat map, alone or mixed with the song."""

from __future__ import annotations

import numpy as np

from drumjam.errors import InputError
from drumjam.model import BeatMap

CLICK_S = 0.03
BEAT_HZ = 1000.0
DOWNBEAT_HZ = 1600.0
DECAY_S = 0.006


def _click(freq_hz: float, sr: int, gain: float) -> np.ndarray:
    t = np.arange(int(CLICK_S * sr)) / sr
    return (gain * np.sin(2 * np.pi * freq_hz * t) * np.exp(-t / DECAY_S)).astype(np.float32)


def render_click(
    beatmap: BeatMap, duration_s: float, sr: int, accent_downbeats: bool = True
) -> np.ndarray:
    """A click on every beat of a beat map.

    Parameters
    ----------
    beatmap : BeatMap
        Where the beats are.
    duration_s : float
        Length of the result in seconds.
    sr : int
        Sample rate in Hz.
    accent_downbeats : bool
        Higher and louder clicks on downbeats.

    Returns
    -------
    numpy.ndarray
        Mono float32 samples; each click starts exactly at its beat (to the sample).
    """
    if duration_s <= 0 or duration_s > 6 * 3600:
        raise InputError(f"click duration {duration_s} s is out of range (0-6 hours)")
    if not 4000 <= sr <= 384000:
        raise InputError(f"sample rate {sr} Hz is out of range; use 4000-384000 Hz")
    out = np.zeros(int(round(duration_s * sr)), dtype=np.float32)
    down = set(np.round(beatmap.downbeats_s, 6).tolist())
    plain, accent = _click(BEAT_HZ, sr, 0.5), _click(DOWNBEAT_HZ, sr, 0.8)
    for t in beatmap.beats_s:
        start = int(round(t * sr))
        if start >= out.size:
            break
        click = accent if accent_downbeats and round(float(t), 6) in down else plain
        end = min(out.size, start + click.size)
        out[start:end] += click[: end - start]
    return out


def mix_click(
    samples: np.ndarray,
    sr: int,
    beatmap: BeatMap,
    click_gain_db: float = -6.0,
    accent_downbeats: bool = True,
) -> np.ndarray:
    """Mix a click track into a song.

    Parameters
    ----------
    samples : numpy.ndarray
        The song, mono (1-D) or ``(frames, channels)``.
    sr : int
        Sample rate.
    beatmap : BeatMap
        Where the clicks go.
    click_gain_db : float
        Level of the click relative to the song's peak.
    accent_downbeats : bool
        Accent the downbeats.

    Returns
    -------
    numpy.ndarray
        The mix, same shape as ``samples``, scaled down only if it would clip.
    """
    song = np.asarray(samples, dtype=np.float32)
    if song.ndim not in (1, 2) or song.shape[0] == 0:
        raise InputError(f"song samples must be 1-D or (frames, channels), got shape {song.shape}")
    click = render_click(beatmap, song.shape[0] / sr, sr, accent_downbeats)
    peak = float(np.max(np.abs(song))) or 1.0
    click *= peak * 10 ** (click_gain_db / 20) / max(float(np.max(np.abs(click))), 1e-9)
    mix = song + (click[:, None] if song.ndim == 2 else click)
    top = float(np.max(np.abs(mix)))
    return mix / top if top > 1.0 else mix
