"""The drumjam beat tracker: audio samples -> BeatMap."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import soxr

from drumjam.analysis import beatnet, drumnet, drumpattern
from drumjam.analysis import beats as beats_mod
from drumjam.analysis.downbeats import downbeats, learned_evidence
from drumjam.analysis.features import ANALYSIS_SR, Envelope, EnvelopeStream, window_max
from drumjam.analysis.grid import ON_BEAT_SHARE, carry_played, fit_grid, tempo_sections, toward_played
from drumjam.analysis.metrical import FasterIsBeat, choose_level, nearest_level, offbeat_margin
from drumjam.analysis.stream import array_blocks
from drumjam.analysis.tempo import TempoCurve, tempo_curve
from drumjam.errors import InputError
from drumjam.model import BeatMap
from drumjam.model.beatmap import MAX_TEMPO_BPM

#: Beats needed to tell the beats from the off-beats between them.
MIN_BEATS_FOR_PHASE = 8
#: The points half-way between the tracked beats replace them when they look this much more
#: like beats (see :func:`drumjam.analysis.metrical.offbeat_margin`; chosen on the training
#: grooves the discriminant was learned on).
OFFBEAT_MARGIN = 0.3
#: Beats of music before the first tracked beat that make an intro rather than a pickup.
INTRO_BEATS = 4


def regular(beats_s: np.ndarray) -> np.ndarray:
    """Beats a beat map can hold: none before 0 s, none closer than the fastest tempo allows,
    and gaps (a pause, a fermata, a break the tracker skipped) filled at the local tempo."""
    min_gap_s = 60.0 / MAX_TEMPO_BPM * 1.05
    out: list[float] = []
    for t in beats_s[beats_s >= 0]:
        if not out or t - out[-1] >= min_gap_s:
            out.append(float(t))
    b = np.asarray(out)
    if b.size < 3:
        return b
    period = float(np.median(np.diff(b)))
    filled = [b[:1]]
    for prev, nxt in itertools.pairwise(b):
        n = int(round((nxt - prev) / period))
        if n >= 2 and (nxt - prev) / n >= min_gap_s:
            filled.append(np.linspace(prev, nxt, n + 1)[1:])
        else:
            filled.append(np.array([nxt]))
    return np.concatenate(filled)


def confidence(env: Envelope, beats_s: np.ndarray) -> float:
    """How strongly onsets sit on the beats rather than between them (0-1)."""
    frames = np.clip(np.round(env.frames_of(beats_s)).astype(int), 0, env.onset.size - 1)
    mids = np.clip(np.round(env.frames_of((beats_s[:-1] + beats_s[1:]) / 2)).astype(int), 0,
                   env.onset.size - 1)
    half = max(1, round(0.02 * env.fps))
    on = window_max(env.onset, frames, half)
    mean_all = float(env.onset.mean()) + 1e-9
    ratio = float(on.mean()) / mean_all
    off = float(np.mean(window_max(env.onset, mids, half)))
    contrast = (on.mean() - off) / (on.mean() + off + 1e-9)
    return float(np.clip(0.5 * (1.0 - 1.0 / max(ratio, 1.0)) + 0.5 * max(contrast, 0.0), 0.0, 1.0))


class Pulse(NamedTuple):
    """The pulse of a song at the level it was tracked at."""

    #: The tempo curve the beats were tracked along.
    curve: TempoCurve
    #: The beats as tracked, each on its onset.
    tracked_s: np.ndarray
    #: The same beats gridded where the song keeps a steady tempo (:func:`fit_grid`).
    beats_s: np.ndarray


def track_pulse(env: Envelope) -> Pulse:
    """The tempo curve and the beats tracked along it (on the beats, not the off-beats, and
    gridded where the song keeps a steady tempo), before any change of metrical level."""
    curve = tempo_curve(env)
    frames = beats_mod.track(env, curve.block_times_s, curve.tempo_bpm)
    if frames.size < 2:
        raise InputError("found no beat in the audio: is there any rhythm in it?")
    refined = env.frame_times_s(beats_mod.refine(env, frames))
    if refined.size >= MIN_BEATS_FOR_PHASE and offbeat_margin(env, refined) > OFFBEAT_MARGIN:
        # locked onto the off-beats: the beats are half-way between
        mid = refined[:-1] + 0.5 * np.diff(refined)
        refined = env.frame_times_s(beats_mod.refine(env, env.frames_of(mid)))
    tracked = regular(refined)
    return Pulse(curve, tracked, from_the_start(env, regular(fit_grid(tracked, env)[0])))


def from_the_start(env: Envelope, beats_s: np.ndarray) -> np.ndarray:
    """The beats carried back at their first period to the music's first clear onset.

    An intro is often sparser or softer than what follows (a fill, a hi-hat count, the drums
    alone) and too weak for the tracker to start on; where the first tracked beat comes a bar
    or more (:data:`INTRO_BEATS`) after the first onset as strong as half a typical beat's,
    the beats before it follow the period back to there. Less than a bar before the first
    beat is a pickup, left out as bars (and annotations) leave it out, unless a clear onset
    stands on each of its beats (:func:`edge_beats`, once the metrical level is chosen).
    """
    if beats_s.size < MIN_BEATS_FOR_PHASE:
        return beats_s
    period = float(np.median(np.diff(beats_s[:MIN_BEATS_FOR_PHASE])))
    typical = float(np.median(env.peak_near(env.onset, beats_s, beats_mod.REFINE_WINDOW_S)))
    clear = np.flatnonzero(env.onset >= beats_mod.EXTEND_MIN_SHARE * typical)
    if clear.size == 0:
        return beats_s
    count = int(np.floor((beats_s[0] - float(env.frame_times_s(clear[0]))) / period + 0.25))
    if count < INTRO_BEATS:
        return beats_s
    head = beats_s[0] - period * np.arange(count, 0, -1)
    head = head[head >= 0]
    if head.size == 0:
        return beats_s
    return np.concatenate([head, beats_s])


def at_metrical_level(beats_s: np.ndarray, beat_prob: np.ndarray,
                      salience_at: Callable[[float], float],
                      faster_is_beat: FasterIsBeat | None = None) -> np.ndarray | None:
    """The beats at the metrical level (and phase) chosen for the song, or None where it keeps
    the tracked beats.

    The level is chosen (:func:`drumjam.analysis.metrical.choose_level`) on the longest
    stretch at one tempo (:func:`drumjam.analysis.grid.tempo_sections`), where the evidence is
    most; every other stretch takes the multiple of its tracked tempo nearest the tempo chosen
    there (:func:`drumjam.analysis.metrical.nearest_level`). So a song whose pulse was tracked
    at two thirds of the beat in one part and at the beat in another is put right part by
    part, while a real change of tempo stays.
    """
    starts = np.searchsorted(beats_s, [start for start, _ in tempo_sections(beats_s)])
    edges = [0, *[int(e) for e in starts if 0 < e < beats_s.size], beats_s.size]
    # each section with the next one's first beat, so its last interval is kept
    sections = [(a, b, beats_s[a:min(b + 1, beats_s.size)]) for a, b in itertools.pairwise(edges)]
    longest = max(sections, key=lambda sec: sec[1] - sec[0])
    level, moved = choose_level(longest[2], beat_prob, beatnet.FPS, salience_at, faster_is_beat)
    if moved.size < 2 or (level == (1, 1) and np.array_equal(moved, longest[2])):
        return None
    tempo_bpm = 60.0 / float(np.median(np.diff(moved)))
    pieces = []
    for a, b, section in sections:
        if (a, b) != longest[:2]:
            moved = nearest_level(section, beat_prob, beatnet.FPS, tempo_bpm)[1]
        else:
            moved = choose_level(section, beat_prob, beatnet.FPS, salience_at, faster_is_beat)[1]
        pieces.append(moved[moved < beats_s[b] - 1e-6] if b < beats_s.size else moved)
    return np.concatenate(pieces)


def edge_beats(env: Envelope, grid_s: np.ndarray, *, after: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
    """The beats before a grid's first (or after its last), one period at a time, while a
    clear onset stands on each.

    The tracker drops weak beats at the edges, and :func:`drumjam.analysis.beats.extend`
    brings back only those within a few milliseconds of one period before: a song that
    starts at once on a first beat played a little early or late (or one of a metrical
    level chosen later, the doubled tempo's first beat) loses it, and a song's last bars,
    the final hits included, are lost the same way. Here each beat one period beyond the
    grid's edge (the period of its :data:`MIN_BEATS_FOR_PHASE` edge beats) is kept where
    the strongest onset within :data:`ON_BEAT_SHARE` of a period of it (the reach of a beat
    played early or late) is at least :data:`~drumjam.analysis.beats.EXTEND_MIN_SHARE` of a
    typical beat's onset strength. A beat due up to that reach before the audio starts is
    kept at 0 s, the song's first note struck at once, unless the audio was cut in sounding
    (:attr:`~drumjam.analysis.features.Envelope.cut_in`): there the onset at 0 s is the cut.

    Parameters
    ----------
    env : Envelope
        The song's onset envelope.
    grid_s : numpy.ndarray
        The gridded beats, ascending.
    after : bool
        Look past the last beat instead of before the first.

    Returns
    -------
    grid_s : numpy.ndarray
        The beats found beyond the edge on the grid's period, ascending.
    onsets_s : numpy.ndarray
        The onset on each of them, where it was played.
    """
    none = np.zeros(0)
    if grid_s.size < MIN_BEATS_FOR_PHASE:
        return none, none
    edge = grid_s[-MIN_BEATS_FOR_PHASE:] if after else grid_s[:MIN_BEATS_FOR_PHASE]
    step_s = float(np.median(np.diff(edge))) * (1.0 if after else -1.0)
    typical = float(np.median(env.peak_near(env.onset, grid_s, beats_mod.REFINE_WINDOW_S)))
    half = round(ON_BEAT_SHARE * abs(step_s) * env.fps)
    end_s = float(env.frame_times_s(env.onset.size - 1))
    grid, onsets = [], []
    for k in itertools.count(1):
        beat_s = float(grid_s[-1 if after else 0]) + k * step_s
        if not (-half / env.fps if not env.cut_in else 0.0) <= beat_s <= end_s:
            break
        centre = round(float(env.frames_of(max(beat_s, 0.0))))
        lo, hi = max(0, centre - half), min(env.onset.size, centre + half + 1)
        peak = lo + int(np.argmax(env.onset[lo:hi]))
        if env.onset[peak] < beats_mod.EXTEND_MIN_SHARE * typical:
            break
        onset_s = float(env.frame_times_s(beats_mod.refine(env, np.array([float(peak)]))[0]))
        grid.append(max(beat_s, 0.0))
        onsets.append(onset_s)
    order = slice(None) if after else slice(None, None, -1)
    return np.asarray(grid[order]), np.asarray(onsets[order])


class Heard(NamedTuple):
    """What the tracker reads of a song, at frame rate: all it keeps of the audio."""

    #: Onset strength and mel spectrogram.
    env: Envelope
    #: BeatNet's ``(frames, 2)`` beat and downbeat probabilities (:data:`beatnet.FPS`).
    network: np.ndarray
    #: Drum groups' ``(frames, groups)`` onset probabilities (:data:`drumnet.FPS`).
    kit: np.ndarray


def listen(blocks: Iterable[np.ndarray], sr: int,
           downbeat_models: tuple[dict[str, np.ndarray], ...] | None = None) -> Heard:
    """Read mono audio in one pass, a block at a time, keeping only what the tracker reads.

    Each block goes to the onset envelope, the beat network and the drum transcriber (the
    first two at :data:`~drumjam.analysis.features.ANALYSIS_SR`, resampled as the blocks
    come), which each keep their frame-rate output and the few samples their next frame
    needs. How the audio is cut into blocks does not change the result.

    Parameters
    ----------
    blocks : iterable of numpy.ndarray
        Consecutive mono float32 blocks of any length.
    sr : int
        Their sample rate.
    downbeat_models : tuple of dict, optional
        BeatNet weights (:mod:`drumjam.analysis.beatnet`); the bundled models by default.
    """
    env, network, kit = EnvelopeStream(), beatnet.ActivationStream(downbeat_models), \
        drumpattern.DrumStream(sample_rate=sr)
    resampler = None if sr == ANALYSIS_SR else soxr.ResampleStream(
        sr, ANALYSIS_SR, 1, dtype="float32", quality="HQ")
    for block in blocks:
        kit.push(block)
        y = block if resampler is None else resampler.resample_chunk(block)
        env.push(y)
        network.push(y)
    if resampler is not None:
        tail = resampler.resample_chunk(np.zeros(0, np.float32), last=True)
        env.push(tail)
        network.push(tail)
    return Heard(env.finish(), network.finish(), kit.finish())


def track_beatmap(samples: np.ndarray, sr: int, meter: int | None = None,
                  downbeat_models: tuple[dict[str, np.ndarray], ...] | None = None) -> BeatMap:
    """Beats, downbeats, metre and confidence of mono audio (:func:`listen`, then
    :func:`beatmap_of`).

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float samples.
    sr : int
        Their sample rate.
    meter : int, optional
        Beats per bar if known; estimated otherwise.
    downbeat_models : tuple of dict, optional
        BeatNet weights for the learned beat and downbeat evidence
        (:mod:`drumjam.analysis.beatnet`); the three bundled models by default.
    """
    heard = listen(array_blocks(np.asarray(samples, dtype=np.float32), sr), sr, downbeat_models)
    return beatmap_of(heard, meter=meter)


def beatmap_of(heard: Heard, *, meter: int | None = None, follow_played: bool = True) -> BeatMap:
    """Beats, downbeats, metre and confidence of a song from what :func:`listen` kept of it.

    The bars are read on the steady grid (the drum-pattern network learned them on click
    grids); the beats given are that grid moved towards the played beats
    (:func:`drumjam.analysis.grid.toward_played`) unless ``follow_played`` is False.

    Parameters
    ----------
    heard : Heard
        The song's envelope and network outputs.
    meter : int, optional
        Beats per bar if known; estimated otherwise.
    follow_played : bool
        Move each beat of a steady grid half-way to where it was played, as a listener hears
        it (a song to play along to); False keeps the steady grid (a take scored against its
        own pulse).
    """
    env, network, kit = heard
    curve, tracked, gridded = track_pulse(env)
    faster = drumpattern.faster_is_beat(kit)
    moved = at_metrical_level(gridded, network.sum(axis=1), curve.salience_at, faster)
    if moved is not None:
        # the level was chosen on the steady grid: the new beats take the played beats'
        # deviation from it (interpolated between grid beats), and each goes to the strongest
        # onset within the reach of a beat played early or late (ON_BEAT_SHARE of a beat)
        moved = carry_played(moved, gridded, tracked)
        window_s = ON_BEAT_SHARE * float(np.median(np.diff(moved)))
        moved = env.frame_times_s(beats_mod.refine(env, env.frames_of(moved), window_s=window_s))
        tracked = regular(moved)
        gridded = regular(fit_grid(tracked, env)[0])
    head_s, head_played_s = edge_beats(env, gridded)
    tail_s, tail_played_s = edge_beats(env, gridded, after=True)
    gridded = np.concatenate([head_s, gridded])
    if gridded.size < 2:
        raise InputError("found no beat in the audio: is there any rhythm in it?")
    learned = learned_evidence(network[:, beatnet.DOWNBEAT], beatnet.FPS, gridded)
    drums = None if faster is None else drumpattern.downbeat_logits(kit, drumnet.FPS, gridded)
    # the bar is read on the steady grid; the song's last beats only continue its count
    m, first = downbeats(env, gridded, meter, learned, drums)
    gridded = np.concatenate([gridded, tail_s])
    tracked = np.union1d(np.union1d(head_played_s, tracked), tail_played_s)
    played = toward_played(gridded, tracked) if follow_played else gridded
    conf = confidence(env, played)
    return BeatMap.from_beats(played, meter=m, first_downbeat_index=first, confidence=round(conf, 3))
