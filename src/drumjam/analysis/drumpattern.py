"""What the drums say about the bar: where the "one" is, heard through the drum transcriber.

A drummer marks the bar with the kit: the kick on the one, the snare's backbeat on two and
four, a crash where a phrase starts, a fill that runs into the next bar. The transcription
network of :mod:`drumjam.analysis.drumnet` hears each drum separately, so that pattern can be
read directly: for each beat, the network's onset probability of six drum groups (kick, snare,
hi-hat, toms, crash, ride) at every sixteenth from one beat before it to four beats after it
(:func:`pattern_features`). A small network on those features (one hidden layer), learned from the Groove
MIDI Dataset's training split rendered with many sampled kits (``training/downbeats.py``;
labels from the drummers' click grid), gives each beat's log-odds of being a downbeat
(:func:`downbeat_logits`). Features are z-scored within the song, so what counts is how a
beat differs from the song's other beats, not how loud the kit is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources

import numpy as np

from drumjam.analysis import drumnet
from drumjam.analysis.features import window_max
from drumjam.analysis.stream import array_blocks
from drumjam.model import Voice

#: Drum groups, each the largest onset probability of its classes.
GROUPS: tuple[tuple[Voice, ...], ...] = (
    (Voice.KICK,),
    (Voice.SNARE, Voice.SIDE_STICK),
    (Voice.HIHAT_CLOSED, Voice.HIHAT_OPEN, Voice.HIHAT_PEDAL),
    (Voice.TOM_HIGH, Voice.TOM_MID, Voice.TOM_FLOOR),
    (Voice.CRASH,),
    (Voice.RIDE, Voice.RIDE_BELL),
)
STEPS_PER_BEAT = 4
#: Sixteenths read around each beat: from one beat before it to the end of its fourth beat.
FIRST_STEP, STOP_STEP = -4 * STEPS_PER_BEAT, 4 * STEPS_PER_BEAT
#: Half-width of the window in which a sixteenth takes a group's largest probability (frames).
WINDOW_FRAMES = 2
WEIGHTS_FILE = "downbeats.npz"
#: Drums are heard where :func:`drum_presence` is at least this. Set between the drumless
#: backing music of the training renders (90 % of it below 0.32) and the held-out drum renders
#: (95 % above 0.44); music without drums gets no say from a drum pattern that is not there.
PRESENCE_MIN = 0.38


def group_onsets(onset: np.ndarray) -> np.ndarray:
    """``(frames, len(GROUPS))``: each group's largest class onset probability of the network's
    ``(frames, classes)`` output."""
    return np.stack([onset[:, [drumnet.CLASSES.index(v) for v in group]].max(axis=1)
                     for group in GROUPS], axis=1)


class DrumStream:
    """Onset probability of each drum group of :data:`GROUPS` of audio fed a block at a time,
    through the streaming :class:`~drumjam.analysis.transcribe.DrumTranscriber`: only the
    output is kept (2.4 kB a second).

    Parameters
    ----------
    sample_rate : int
        Sample rate of the audio that will be fed.
    """

    def __init__(self, *, sample_rate: int) -> None:
        from drumjam.analysis.transcribe import DrumTranscriber

        self._sr = int(sample_rate)
        self._n_samples = 0
        self._parts: list[np.ndarray] = []
        self._transcriber = DrumTranscriber(sample_rate=self._sr, on_onset=self._keep)

    def _keep(self, onset: np.ndarray) -> None:
        self._parts.append(group_onsets(onset))

    def push(self, y: np.ndarray) -> None:
        """Feed mono samples."""
        self._n_samples += y.size
        self._transcriber.process(y)

    def finish(self) -> np.ndarray:
        """``(frames, len(GROUPS))`` float32 of all the audio fed; frame ``i`` is at
        ``i / drumnet.FPS`` seconds."""
        self._transcriber.flush()
        n_frames = -(-round(self._n_samples * drumnet.SAMPLE_RATE / self._sr) // drumnet.HOP)
        out = np.concatenate(self._parts) if self._parts else np.zeros((0, len(GROUPS)), np.float32)
        return out[:n_frames]


def drum_activations(samples: np.ndarray, sr: int) -> np.ndarray:
    """Onset probability of each drum group of :data:`GROUPS`, :data:`drumnet.FPS` frames a second.

    The audio goes through :class:`DrumStream` in blocks of
    :data:`drumjam.analysis.stream.BLOCK_S` seconds, so memory is that of the output.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float samples.
    sr : int
        Their sample rate.

    Returns
    -------
    numpy.ndarray
        ``(frames, len(GROUPS))`` float32; frame ``i`` is at ``i / drumnet.FPS`` seconds.
    """
    stream = DrumStream(sample_rate=sr)
    for block in array_blocks(np.asarray(samples, dtype=np.float32), sr):
        stream.push(block)
    return stream.finish()


def drum_presence(activations: np.ndarray) -> float:
    """How clearly drums are heard: the mean of the loudest 5 % of frames' kick-or-snare onset
    probability (0-1)."""
    if activations.shape[0] == 0:
        return 0.0
    strokes = np.sort(np.maximum(activations[:, 0], activations[:, 1]))
    return float(strokes[-max(1, strokes.size // 20):].mean())


def step_times_s(beats_s: np.ndarray) -> np.ndarray:
    """``(beats, STOP_STEP - FIRST_STEP)`` times of the sixteenths around each beat,
    interpolated between the beats and carried on at the first/last period beyond them."""
    b = np.asarray(beats_s, dtype=np.float64)
    pos = np.arange(b.size)[:, None] + np.arange(FIRST_STEP, STOP_STEP)[None, :] / STEPS_PER_BEAT
    inside = np.interp(pos, np.arange(b.size), b)
    before = b[0] + pos * (b[1] - b[0])
    after = b[-1] + (pos - (b.size - 1)) * (b[-1] - b[-2])
    return np.where(pos < 0, before, np.where(pos > b.size - 1, after, inside))


def _at_times(activations: np.ndarray, fps: float, times_s: np.ndarray) -> np.ndarray:
    """``(beats, groups, steps)``: each group's largest probability within
    :data:`WINDOW_FRAMES` of each of the ``(beats, steps)`` times."""
    frames = np.round(times_s * fps).astype(np.int64)
    return np.stack([window_max(activations[:, g], frames.ravel(), WINDOW_FRAMES).reshape(frames.shape)
                     for g in range(activations.shape[1])], axis=1)


def pattern_features(activations: np.ndarray, fps: float, beats_s: np.ndarray) -> np.ndarray:
    """``(beats, groups * steps)``: each group's onset probability at each sixteenth around
    each beat (see :func:`step_times_s`), z-scored over the song's beats."""
    at = _at_times(activations, fps, step_times_s(beats_s))
    x = at.reshape(at.shape[0], -1)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 1e-6, sd, 1.0)


@lru_cache(maxsize=1)
def bundled_weights() -> dict[str, np.ndarray]:
    """The bundled network: ``w1``, ``b1`` (hidden layer over :func:`pattern_features`),
    ``w2``, ``b2`` (output log-odds)."""
    path = resources.files("drumjam") / "data" / "models" / WEIGHTS_FILE
    with resources.as_file(path) as real, np.load(real) as data:
        return {k: data[k].astype(np.float64) for k in ("w1", "b1", "w2", "b2")}


def downbeat_logits(activations: np.ndarray, fps: float, beats_s: np.ndarray) -> np.ndarray:
    """Log-odds of each beat being a downbeat, from the drum pattern around it.

    Parameters
    ----------
    activations : numpy.ndarray
        :func:`drum_activations` of the song.
    fps : float
        Their frame rate.
    beats_s : numpy.ndarray
        Beat times (at least two).
    """
    w = bundled_weights()
    hidden = np.maximum(pattern_features(activations, fps, beats_s) @ w["w1"] + w["b1"], 0.0)
    return hidden @ w["w2"] + w["b2"]


# --- the metrical level: does a beat grid fit what the drums play? ---------------------------

LEVEL_WEIGHTS_FILE = "drumlevel.npz"


def level_features(activations: np.ndarray, fps: float, beats_s: np.ndarray) -> np.ndarray:
    """What the drums play on a beat grid, averaged over its beats: each group's onset
    probability at the beat and at each sixteenth after it (``groups * STEPS_PER_BEAT``), and
    how much the kick and the snare change from one beat to the next (2): a backbeat alternates
    kick and snare on the beats, a grid at half the tempo puts the same drum on every beat and
    the other between, one at twice the tempo puts hi-hats on every other beat."""
    profile = _at_times(activations, fps, step_times_s(beats_s)[:, -FIRST_STEP:-FIRST_STEP + STEPS_PER_BEAT])
    on_beat = profile[:, :2, 0]
    change = np.abs(np.diff(on_beat, axis=0)).mean(axis=0) if on_beat.shape[0] > 1 else np.zeros(2)
    return np.concatenate([profile.mean(axis=0).ravel(), change])


@lru_cache(maxsize=1)
def bundled_level_weights() -> tuple[np.ndarray, float]:
    """The bundled logistic regression of :func:`faster_is_beat_logit`: weights and intercept."""
    path = resources.files("drumjam") / "data" / "models" / LEVEL_WEIGHTS_FILE
    with resources.as_file(path) as real, np.load(real) as data:
        return data["w"].astype(np.float64), float(data["b"])


def faster_is_beat_logit(activations: np.ndarray, fps: float, slow_s: np.ndarray,
                         fast_s: np.ndarray) -> float:
    """Log-odds that of two grids, ``fast_s`` twice as fast as ``slow_s``, the faster is the
    beat, by what the drums play on each."""
    w, b = bundled_level_weights()
    diff = level_features(activations, fps, fast_s) - level_features(activations, fps, slow_s)
    return float(diff @ w + b)


def faster_is_beat(activations: np.ndarray) -> Callable[[np.ndarray, np.ndarray], float] | None:
    """:func:`faster_is_beat_logit` on these activations as ``(slow_s, fast_s) -> log-odds``,
    or None where no drums are heard (:data:`PRESENCE_MIN`)."""
    if drum_presence(activations) < PRESENCE_MIN:
        return None
    return lambda slow_s, fast_s: faster_is_beat_logit(activations, drumnet.FPS, slow_s, fast_s)
