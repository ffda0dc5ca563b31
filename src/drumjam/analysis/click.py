"""Click tracks: a metronome on the beat map, alone or mixed with the song."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from drumjam.errors import InputError
from drumjam.io.audio import audio_blocks, audio_info, audio_writer
from drumjam.model import BeatMap

CLICK_S = 0.03
BEAT_HZ = 1000.0
DOWNBEAT_HZ = 1600.0
DECAY_S = 0.006


def _click(freq_hz: float, sr: int, gain: float) -> np.ndarray:
    t = np.arange(int(CLICK_S * sr)) / sr
    return (gain * np.sin(2 * np.pi * freq_hz * t) * np.exp(-t / DECAY_S)).astype(np.float32)


def render_click(
    beatmap: BeatMap, duration_s: float, sr: int, accent_downbeats: bool = True, *,
    start_frame: int = 0,
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
    start_frame : int
        Sample of the beat map's timeline the result starts at, to render a long click track
        a block at a time (blocks rendered one after another join exactly).

    Returns
    -------
    numpy.ndarray
        Mono float32 samples; each click starts exactly at its beat (to the sample).
    """
    if duration_s <= 0 or duration_s > 6 * 3600:
        raise InputError(f"click duration {duration_s} s is out of range (0-6 hours)")
    if not 4000 <= sr <= 384000:
        raise InputError(f"sample rate {sr} Hz is out of range; use 4000-384000 Hz")
    if not 0 <= start_frame <= 6 * 3600 * sr:
        raise InputError(f"click start {start_frame} samples is out of range (0-6 hours)")
    out = np.zeros(int(round(duration_s * sr)), dtype=np.float32)
    plain, accent = _click(BEAT_HZ, sr, 0.5), _click(DOWNBEAT_HZ, sr, 0.8)
    starts = np.round(beatmap.beats_s * sr).astype(np.int64) - start_frame
    inside = (starts > -plain.size) & (starts < out.size)
    accented = np.isin(np.round(beatmap.beats_s[inside], 6), np.round(beatmap.downbeats_s, 6))
    for start, down in zip(starts[inside].tolist(), accented.tolist()):
        click = accent if accent_downbeats and down else plain
        lo, end = max(start, 0), min(out.size, start + click.size)
        out[lo:end] += click[lo - start:end - start]
    return out


def click_gain(song_peak: float, click_peak: float, click_gain_db: float) -> float:
    """The factor that puts a click track ``click_gain_db`` from a song's peak (a silent
    song counts as peaking at 1)."""
    return (song_peak or 1.0) * 10 ** (click_gain_db / 20) / max(click_peak, 1e-9)


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
    click *= click_gain(float(np.max(np.abs(song))), float(np.max(np.abs(click))), click_gain_db)
    mix = song + (click[:, None] if song.ndim == 2 else click)
    top = float(np.max(np.abs(mix)))
    return mix / top if top > 1.0 else mix


def mix_click_file(
    song: str | Path, out: str | Path, beatmap: BeatMap, *, click_gain_db: float = -6.0,
    accent_downbeats: bool = True,
) -> tuple[int, int]:
    """Write a song with a click track mixed in, a block at a time.

    The same mix as :func:`mix_click`, but neither the song nor the mix is ever held whole:
    the song is read three times, block by block (its peak and the click's, the mix's peak,
    then the mix itself, scaled down only if it would clip), so a two-hour stereo song takes
    a few megabytes.

    Parameters
    ----------
    song : str or Path
        The audio file (WAV, FLAC, OGG, MP3); its channels are kept.
    out : str or Path
        Where to write the mix (``.wav``, ``.flac``, ``.ogg`` or ``.mp3``; 16-bit for WAV
        and FLAC).
    beatmap, click_gain_db, accent_downbeats
        As in :func:`mix_click`.

    Returns
    -------
    frames : int
        The length of the mix in samples.
    sr : int
        Its sample rate in Hz.

    Raises
    ------
    AudioFileError
        If the song is unreadable, too long or holds NaN.
    """
    sr, _, _ = audio_blocks(song, mono=False)

    def with_clicks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        frame = 0
        for block in audio_blocks(song, mono=False)[2]:
            click = render_click(beatmap, block.shape[0] / sr, sr, accent_downbeats, start_frame=frame)
            frame += block.shape[0]
            yield block, click[:block.shape[0], None]

    song_peak = click_peak = 0.0
    frames = 0
    for block, click in with_clicks():
        song_peak = max(song_peak, float(np.max(np.abs(block))))
        click_peak = max(click_peak, float(np.max(np.abs(click))))
        frames += block.shape[0]
    gain = click_gain(song_peak, click_peak, click_gain_db)
    top = max((float(np.max(np.abs(block + gain * click))) for block, click in with_clicks()),
              default=0.0)
    scale = 1.0 / top if top > 1.0 else 1.0
    channels = audio_info(song).channels
    with audio_writer(out, sr, channels) as f:
        for block, click in with_clicks():
            f.write(np.clip((block + gain * click) * scale, -1.0, 1.0))
    return frames, sr
