"""Song analysis: audio -> beat map (beats, downbeats, metre, tempo), onsets, click tracks.

>>> from drumjam.analysis import analyse_audio
>>> beatmap = analyse_audio("song.mp3")          # doctest: +SKIP
>>> beatmap.tempo_bpm, beatmap.meter, beatmap.confidence   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from drumjam.analysis import beat_this_backend, cache
from drumjam.analysis.click import mix_click, render_click
from drumjam.analysis.features import ANALYSIS_SR, MIN_ANALYSIS_S, onset_envelope
from drumjam.analysis.onsets import detect_onsets
from drumjam.analysis.stream import array_blocks, read_mono, song_blocks
from drumjam.analysis.tracker import beatmap_of, confidence, listen
from drumjam.errors import InputError
from drumjam.io.audio import SILENCE_PEAK, audio_array, check_rate
from drumjam.limits import MAX_AUDIO_DURATION_S, duration_text
from drumjam.model import BeatMap

BACKENDS = ("drumjam", "beat_this")

__all__ = ["BACKENDS", "analyse_audio", "detect_onsets", "mix_click", "render_click"]


def _samples_in(samples: np.ndarray, sr: int | None) -> tuple[np.ndarray, int]:
    """Samples given to :func:`analyse_audio`, mono, with their rate: the rate checked first."""
    if sr is None:
        raise InputError("give the sample rate `sr` with raw samples")
    rate = check_rate(sr)
    y = audio_array(samples, mono=True)
    if y.size == 0:
        raise InputError("the samples are empty: nothing to analyse")
    if y.size / rate > MAX_AUDIO_DURATION_S:
        raise InputError(f"{duration_text(y.size / rate)} of audio is too long to analyse; "
                         f"give at most {MAX_AUDIO_DURATION_S / 3600:.0f} hours")
    if float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise InputError("the audio is silent: nothing to analyse")
    return y, rate


def analyse_audio(
    path_or_samples: str | Path | np.ndarray,
    sr: int | None = None,
    *,
    backend: str = "drumjam",
    use_cache: bool = True,
    meter: int | None = None,
    follow_played: bool = True,
    checkpoint: str = beat_this_backend.DEFAULT_CHECKPOINT,
) -> BeatMap:
    """Find the beats, downbeats, metre and tempo of a song.

    Parameters
    ----------
    path_or_samples : str, Path or numpy.ndarray
        An audio file (WAV, FLAC, OGG, MP3), or samples: 1-D or ``(frames, channels)``,
        float in [-1, 1] or integer PCM (see :func:`drumjam.io.audio.audio_array`).
    sr : int, optional
        Sample rate of the samples in Hz, 4000-384000 (required for samples, ignored for files).
    backend : {"drumjam", "beat_this"}
        The built-in tracker, or Beat This! (optional extra, see
        :mod:`drumjam.analysis.beat_this_backend`).
    use_cache : bool
        Reuse and store the result by the audio's content hash.
    meter : int, optional
        Beats per bar, if known (drumjam backend); estimated otherwise.
    follow_played : bool
        drumjam backend: where the song keeps a steady tempo, each beat moves half-way from
        the fitted grid to where it was played, as a listener hears it (a song to play along
        to); False keeps the steady grid (a take scored against its own pulse).
    checkpoint : str
        Beat This! checkpoint name or path (beat_this backend).

    Returns
    -------
    BeatMap
        With ``confidence`` set (0-1).

    Raises
    ------
    AudioFileError
        For a missing, unreadable, empty, silent or too long file (nothing is cached).
    InputError
        For bad samples or options.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown analysis backend '{backend}'; use one of {', '.join(BACKENDS)}")
    if meter is not None and not 2 <= int(meter) <= 12:
        raise InputError(f"meter {meter} is out of range; give 2-12 beats per bar")
    if backend == "beat_this":
        beat_this_backend.require()
    if isinstance(path_or_samples, (str, Path)):
        # the header checked, the length too
        blocks = song_blocks(path_or_samples, ANALYSIS_SR, min_s=MIN_ANALYSIS_S)
        rate = ANALYSIS_SR
        digest = cache.file_digest(path_or_samples)
    else:
        samples, rate = _samples_in(path_or_samples, sr)
        blocks = array_blocks(samples, rate)
        digest = cache.samples_digest(samples, rate)
    options = f"meter={meter};played={follow_played}" if backend == "drumjam" else f"checkpoint={checkpoint}"
    key = cache.cache_key(digest, backend, options)
    if use_cache:
        hit = cache.load(key)
        if hit is not None:
            return hit
    if backend == "drumjam":
        # one BLAS thread: the networks' many small products gain nothing from more, and idle
        # BLAS threads spin (half the CPU time on two cores)
        with threadpool_limits(limits=1, user_api="blas"):
            beatmap = beatmap_of(listen(blocks, rate), meter=meter, follow_played=follow_played)
    else:
        if isinstance(path_or_samples, (str, Path)):  # Beat This! reads the whole song at once
            samples = read_mono(path_or_samples, ANALYSIS_SR)
        beats, downbeats, found_meter = beat_this_backend.track_beatmap(samples, rate, checkpoint)
        conf = confidence(onset_envelope(samples, rate), beats) if beats.size >= 2 else 0.0
        beatmap = beat_this_backend.to_beatmap(beats, downbeats, meter or found_meter, round(conf, 3))
    if use_cache:
        cache.store(key, beatmap)
    return beatmap
