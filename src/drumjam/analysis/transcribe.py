"""Drum transcription: audio in, a :class:`~drumjam.model.Take` of hits out.

:class:`DrumTranscriber` is the one engine, fed with audio blocks of any size: a live
microphone sends a few milliseconds at a time, :func:`transcribe` sends a file in ten-second
blocks. Because the network looks at a fixed window of frames and a hit is decided once its
peak-picking window is complete, the hits do not depend on how the audio was cut into blocks:
streaming output equals offline output. A hit is final :attr:`DrumTranscriber.latency_s`
after it sounded (plus the block it arrives in).

In play-along the chart says which drums are due when: given ``expected`` notes, a class of a
note's voice group needs only :data:`EXPECTED_THRESHOLD_SCALE` of its threshold within
:data:`EXPECTED_WINDOW_S` of the note where no other drum sounds (score-informed detection: a
soft stroke alone is heard where it is due, and nowhere else; next to another drum's stroke
that drum's cross-talk alone would credit a skipped note), and a pedal hi-hat due under a
stick's stroke of the hi-hat is looked for on its own (:func:`pick_strokes`).

Each hit gets a voice (kick, snare, side stick, hi-hat closed/open/pedal, three toms, crash,
ride, ride bell), a time in seconds (the peak of the onset probability, refined between frames)
and a MIDI velocity 1-127 from the network's velocity head (how loud the stroke is for its
drum).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import soxr

from drumjam.analysis import drumnet
from drumjam.errors import InputError
from drumjam.io.audio import audio_array, audio_blocks, check_rate
from drumjam.model import Hit, Take, Voice, parse_voice, voice_group

#: A peak must be the highest onset probability within this many frames on each side.
PEAK_RADIUS_FRAMES = 2
OFFLINE_BLOCK_S = 10.0
#: Within this long of an expected note, a class of its voice group needs only
#: EXPECTED_THRESHOLD_SCALE of its threshold.
EXPECTED_WINDOW_S = 0.05
EXPECTED_THRESHOLD_SCALE = 0.5


def _class_index(*voices: Voice) -> tuple[int, ...]:
    return tuple(drumnet.CLASSES.index(v) for v in voices)


#: The articulations of one drum (or of drums the network may mistake for each other): one
#: stroke sounds as one of them, so of simultaneous peaks in a set only the strongest is kept.
EXCLUSIVE_SETS: tuple[tuple[int, ...], ...] = (
    _class_index(Voice.KICK),
    _class_index(Voice.SNARE, Voice.SIDE_STICK),
    _class_index(Voice.HIHAT_CLOSED, Voice.HIHAT_OPEN, Voice.HIHAT_PEDAL),
    _class_index(Voice.TOM_HIGH, Voice.TOM_MID, Voice.TOM_FLOOR),
    _class_index(Voice.CRASH),
    _class_index(Voice.RIDE, Voice.RIDE_BELL),
)
#: The voice group of each class (scoring's: two classes of one group are one drum).
GROUP_OF_CLASS = np.array([str(voice_group(v)) for v in drumnet.CLASSES])


def _peaks(values: np.ndarray, rows: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Which ``rows`` hold a peak of ``values`` reaching ``floor``: at least the value there,
    above the rows before it and not below the rows after it within PEAK_RADIUS_FRAMES."""
    centre = values[rows]
    ok = centre >= floor
    for k in range(1, PEAK_RADIUS_FRAMES + 1):
        ok &= centre > values[rows - k]
        ok &= centre >= values[rows + k]
    return ok


def pick_strokes(onset: np.ndarray, rows: np.ndarray, thresholds: np.ndarray,
                 due: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strokes among candidate frames: peaks of each exclusive set's strongest class.

    Parameters
    ----------
    onset : numpy.ndarray
        ``(frames, classes)`` onset probabilities; every candidate row has
        :data:`PEAK_RADIUS_FRAMES` rows on each side.
    rows : numpy.ndarray
        Candidate rows (integers, ascending).
    thresholds : numpy.ndarray
        Lowest probability of a stroke, per class.
    due : numpy.ndarray, optional
        ``(len(rows), classes)`` booleans: a note of the class's voice group is due near the
        row. There, unless a class of another set reaches its threshold within
        :data:`PEAK_RADIUS_FRAMES`, the class needs :data:`EXPECTED_THRESHOLD_SCALE` of its
        threshold; and a class alone in its voice group within its set (the pedal hi-hat,
        each tom) is also looked for on its own: a peak of its own reaching its full
        threshold is a stroke even where another class of the set is the strongest (a pedal
        under a stick's stroke).

    Returns
    -------
    rows : numpy.ndarray
        The rows holding a stroke: within its set, the strongest class at that row reaches its
        threshold, beats the rows before it and is not beaten by the rows after it within
        :data:`PEAK_RADIUS_FRAMES`.
    classes : numpy.ndarray
        The class of each stroke.
    delta : numpy.ndarray
        Each stroke's offset from its row in frames (-0.5 to 0.5), from a parabola through
        its class's probability at the row and its neighbours.
    """
    thresholds = np.asarray(thresholds, np.float32)
    loud = onset >= thresholds
    found_rows, found_cls = [], []
    for k, members in enumerate(EXCLUSIVE_SETS):
        sub = onset[:, members]
        top = np.asarray(members)[sub.argmax(axis=1)]
        thr = thresholds[top[rows]]
        if due is not None:
            # lowered only where no other drum sounds: a loud stroke's cross-talk would credit
            # a skipped soft note as much as a played one
            others = np.concatenate([m for j, m in enumerate(EXCLUSIVE_SETS) if j != k])
            reach = range(-PEAK_RADIUS_FRAMES, PEAK_RADIUS_FRAMES + 1)
            near = np.stack([loud[rows + d][:, others].any(axis=1) for d in reach]).any(axis=0)
            thr = np.where(due[np.arange(rows.size), top[rows]] & ~near,
                           thr * EXPECTED_THRESHOLD_SCALE, thr)
        ok = _peaks(sub.max(axis=1), rows, thr)
        found_rows.append(rows[ok])
        found_cls.append(top[rows[ok]])
        if due is None:
            continue
        groups = GROUP_OF_CLASS[list(members)]
        for c in members:
            if np.sum(groups == GROUP_OF_CLASS[c]) > 1:
                continue
            also = due[:, c] & ~(ok & (top[rows] == c)) & _peaks(onset[:, c], rows, thresholds[c])
            found_rows.append(rows[also])
            found_cls.append(np.full(int(also.sum()), c))
    r = np.concatenate(found_rows)
    c = np.concatenate(found_cls)
    left, mid, right = onset[r - 1, c], onset[r, c], onset[r + 1, c]
    curvature = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(curvature < 0, 0.5 * (left - right) / curvature, 0.0)
    return r, c, np.clip(delta, -0.5, 0.5)


#: The block length :attr:`DrumTranscriber.latency_s` is stated for (a live input's block).
LIVE_BLOCK_S = 0.01


@lru_cache(maxsize=8)
def _resampler_delay_s(sample_rate: int) -> float:
    """How long the streaming resampler holds a sound back when fed :data:`LIVE_BLOCK_S`
    blocks, measured with an impulse (soxr releases its output in chunks of its own)."""
    if sample_rate == drumnet.SAMPLE_RATE:
        return 0.0
    block = max(1, int(LIVE_BLOCK_S * sample_rate))
    worst_s = 0.0
    for at in range(sample_rate // 2, sample_rate // 2 + 8 * block, block // 3 + 1):
        probe = soxr.ResampleStream(sample_rate, drumnet.SAMPLE_RATE, 1, dtype="float32",
                                    quality="HQ")
        x = np.zeros(2 * sample_rate, np.float32)
        x[at] = 1.0
        for i in range(0, x.size, block):
            if np.max(np.abs(probe.resample_chunk(x[i:i + block])), initial=0.0) > 0.1:
                worst_s = max(worst_s, (i + block - at) / sample_rate - LIVE_BLOCK_S)
                break
    return worst_s


class DrumTranscriber:
    """Streaming drum transcription.

    Parameters
    ----------
    sample_rate : int
        Sample rate of the audio that will be fed, in Hz (4000-384000).
    weights : dict, optional
        Network weights (default: the bundled model).
    threshold_scale : float
        Multiplies every class's onset threshold (below 1 finds softer hits and more false ones).
    on_onset : callable, optional
        Called with each new block of onset probabilities, ``(frames, classes)``, in order from
        frame 0 (frame ``i`` at ``i / drumnet.FPS`` s), for uses that read the network's output
        itself (:func:`drumjam.analysis.drumpattern.drum_activations`).
    expected : sequence of (float, Voice or str), optional
        Notes due (time in seconds of this audio, voice), e.g. a chart being played along
        to: within :data:`EXPECTED_WINDOW_S` of one, the classes of its voice group need
        :data:`EXPECTED_THRESHOLD_SCALE` of their threshold.
    expected_late : callable, optional
        How many seconds later than given the notes due around second ``t`` of this audio
        are heard, asked as the audio is decided (a microphone's capture that slipped since
        they were given, :meth:`drumjam.analysis.bleed.BleedCanceller.slipped`).

    Examples
    --------
    >>> tr = DrumTranscriber(sample_rate=48000)
    >>> hits = tr.process(block)        # doctest: +SKIP
    >>> hits += tr.flush()              # doctest: +SKIP
    """

    def __init__(self, *, sample_rate: int, weights: dict[str, np.ndarray] | None = None,
                 threshold_scale: float = 1.0,
                 on_onset: Callable[[np.ndarray], None] | None = None,
                 expected: Iterable[tuple[float, Voice | str]] = (),
                 expected_late: Callable[[float], float] | None = None) -> None:
        sample_rate = check_rate(sample_rate)
        if not (isinstance(threshold_scale, numbers.Real) and 0.1 <= threshold_scale <= 10.0):
            raise InputError(f"threshold scale {threshold_scale} is out of range; use 0.1-10")
        self.sample_rate = sample_rate
        self._w = weights if weights is not None else drumnet.bundled_weights()
        self._mel = self._w["mel_basis"]
        self._thr = self._w["threshold"] * float(threshold_scale)
        self._offset_s = self._w["offset_s"]
        self._on_onset = on_onset
        self._expected = expected_frames(expected, self._offset_s)
        self._expected_late = expected_late
        self._window = drumnet.window()
        self._resampler = (None if self.sample_rate == drumnet.SAMPLE_RATE else
                           soxr.ResampleStream(self.sample_rate, drumnet.SAMPLE_RATE, 1,
                                               dtype="float32", quality="HQ"))
        self._resampler_delay_s = _resampler_delay_s(self.sample_rate)
        half = drumnet.N_FFT // 2
        # audio at the network's rate, starting at sample index self._buf_start (may be < 0)
        self._buf = np.zeros(half, np.float32)
        self._buf_start = -half
        self._n_samples = 0
        self._n_feat = 0  # frames whose features are computed
        # features of frames [self._feat_start, self._n_feat)
        self._feat = np.zeros((drumnet.CONTEXT_PAST_FRAMES, drumnet.N_MELS), np.float32)
        self._feat_start = -drumnet.CONTEXT_PAST_FRAMES
        self._n_out = 0  # frames whose onset probabilities are computed
        # onset/velocity of frames [self._act_start, self._n_out)
        n_cls = len(drumnet.CLASSES)
        self._onset = np.zeros((PEAK_RADIUS_FRAMES, n_cls), np.float32)
        self._velocity = np.zeros((PEAK_RADIUS_FRAMES, n_cls), np.float32)
        self._act_start = -PEAK_RADIUS_FRAMES
        self._n_decided = 0  # frames whose peaks are decided
        self._flushed = False

    @property
    def latency_s(self) -> float:
        """The longest time from a hit sounding to its report when audio arrives in
        :data:`LIVE_BLOCK_S` blocks, not counting the block itself: the resampler's delay, half
        an analysis window, the network's look-ahead, the peak window, and the refinement of
        the time within a frame."""
        frames = drumnet.LOOKAHEAD_FRAMES + PEAK_RADIUS_FRAMES + 1.5
        return (frames / drumnet.FPS + drumnet.N_FFT / 2 / drumnet.SAMPLE_RATE
                + self._resampler_delay_s + max(0.0, float(np.max(self._offset_s))))

    @property
    def decided_s(self) -> float:
        """Every hit earlier than this (seconds of the audio) has been returned; infinite once
        flushed."""
        if self._flushed:
            return float("inf")
        return (self._n_decided - 0.5) / drumnet.FPS - float(np.max(self._offset_s))

    def process(self, block: np.ndarray) -> list[Hit]:
        """Feed audio; return the hits that became final.

        Parameters
        ----------
        block : numpy.ndarray
            Samples at :attr:`sample_rate` (any length, possibly 0): mono, or
            ``(frames, channels)`` mixed to mono; float or integer PCM, read as
            :func:`drumjam.io.audio.audio_array` reads them.

        Returns
        -------
        list of Hit
            New hits in time order.
        """
        if self._flushed:
            raise InputError("this transcriber was flushed; make a new one for more audio")
        x = audio_array(block, mono=True, what="audio fed")
        if self._resampler is not None:
            x = self._resampler.resample_chunk(x)
        return self._consume(x)

    def flush(self) -> list[Hit]:
        """End of the audio: decide the last hits (the audio is followed by silence)."""
        if self._flushed:
            return []
        tail = self._resampler.resample_chunk(np.zeros(0, np.float32), last=True) \
            if self._resampler is not None else np.zeros(0, np.float32)
        hits = self._consume(tail)
        self._flushed = True
        n_frames = -(-self._n_samples // drumnet.HOP)
        silence = np.zeros(drumnet.N_FFT + drumnet.HOP, np.float32)
        self._append_audio(silence)
        self._compute_features(limit=n_frames)
        pad = drumnet.LOOKAHEAD_FRAMES + PEAK_RADIUS_FRAMES
        self._feat = np.concatenate([self._feat, np.zeros((pad, drumnet.N_MELS), np.float32)])
        hits += self._compute_outputs(limit=n_frames + PEAK_RADIUS_FRAMES,
                                      n_feat=n_frames + pad, decide_limit=n_frames)
        return hits

    # -- stages ------------------------------------------------------------------------------
    def _consume(self, x: np.ndarray) -> list[Hit]:
        self._n_samples += x.size
        self._append_audio(x)
        self._compute_features(limit=None)
        return self._compute_outputs(limit=None, n_feat=self._n_feat, decide_limit=None)

    def _append_audio(self, x: np.ndarray) -> None:
        if x.size:
            self._buf = np.concatenate([self._buf, x])

    def _compute_features(self, *, limit: int | None) -> None:
        half = drumnet.N_FFT // 2
        buf_end = self._buf_start + self._buf.size
        # frame i needs samples [i*HOP - half, i*HOP + half)
        available = (buf_end - half) // drumnet.HOP + 1
        n_new = max(0, available - self._n_feat)
        if limit is not None:
            n_new = max(0, min(n_new, limit - self._n_feat))
        if n_new:
            first = self._n_feat * drumnet.HOP - half - self._buf_start
            windows = np.lib.stride_tricks.sliding_window_view(self._buf[first:], drumnet.N_FFT)
            frames = windows[::drumnet.HOP][:n_new]
            feats = drumnet.frames_to_features(frames * self._window, self._mel)
            self._feat = np.concatenate([self._feat, feats])
            self._n_feat += n_new
        keep_from = self._n_feat * drumnet.HOP - half - self._buf_start
        if keep_from > 0:
            self._buf = self._buf[keep_from:]
            self._buf_start += keep_from

    def _compute_outputs(self, *, limit: int | None, n_feat: int,
                         decide_limit: int | None) -> list[Hit]:
        ready = n_feat - drumnet.LOOKAHEAD_FRAMES
        if limit is not None:
            ready = min(ready, limit)
        if ready > self._n_out:
            lo = self._n_out - drumnet.CONTEXT_PAST_FRAMES - self._feat_start
            hi = ready + drumnet.LOOKAHEAD_FRAMES - self._feat_start
            onset, velocity = drumnet.forward(self._feat[lo:hi], self._w)
            if self._on_onset is not None:
                self._on_onset(onset)
            self._onset = np.concatenate([self._onset, onset])
            self._velocity = np.concatenate([self._velocity, velocity])
            self._n_out = ready
            drop = self._n_out - drumnet.CONTEXT_PAST_FRAMES - self._feat_start
            if drop > 0:
                self._feat = self._feat[drop:]
                self._feat_start += drop
        return self._decide(decide_limit)

    def _decide(self, decide_limit: int | None) -> list[Hit]:
        end = self._n_out - PEAK_RADIUS_FRAMES
        if decide_limit is not None:
            end = min(end, decide_limit)
        if end <= self._n_decided:
            return []
        r = PEAK_RADIUS_FRAMES
        base = self._act_start
        a = self._onset
        frames = np.arange(self._n_decided, end)
        rows = frames - base
        hits = []
        found, classes, delta = pick_strokes(a, rows, self._thr, self._due(frames))
        for row, c, d in zip(found, classes, delta):
            time_s = (row + base + d) / drumnet.FPS - float(self._offset_s[c])
            velocity = int(np.clip(round(float(self._velocity[row, c]) * 127), 1, 127))
            hits.append(Hit(max(time_s, 0.0), drumnet.CLASSES[c], velocity))
        self._n_decided = end
        keep_from = self._n_decided - r - 1 - base
        if keep_from > 0:
            self._onset = self._onset[keep_from:]
            self._velocity = self._velocity[keep_from:]
            self._act_start += keep_from
        hits.sort(key=lambda h: h.time_s)
        return hits

    def _due(self, frames: np.ndarray) -> np.ndarray | None:
        """Per frame and class: a note of the class's voice group is expected within
        :data:`EXPECTED_WINDOW_S` (None: no notes expected)."""
        if not self._expected:
            return None
        due = np.zeros((frames.size, len(drumnet.CLASSES)), bool)
        reach = EXPECTED_WINDOW_S * drumnet.FPS
        if frames.size and self._expected_late is not None:  # notes heard that much later
            frames = frames - self._expected_late(float(frames[0]) / drumnet.FPS) * drumnet.FPS
        for c, at in self._expected.items():
            lo = np.searchsorted(at, frames - reach, side="left")
            due[:, c] = np.searchsorted(at, frames + reach, side="right") > lo
        return due


def expected_frames(notes: Iterable[tuple[float, Voice | str]],
                    offset_s: np.ndarray) -> dict[int, np.ndarray]:
    """Per network class, the sorted frames (fractional) at which its onset peak would lie for
    each note whose voice group it belongs to."""
    groups: dict[str, list[float]] = {}
    for time_s, voice in notes:
        if not np.isfinite(time_s):
            raise InputError(f"an expected note's time {time_s!r} is not a number of seconds")
        groups.setdefault(voice_group(parse_voice(voice)), []).append(float(time_s))
    out = {}
    for c, voice in enumerate(drumnet.CLASSES):
        times = groups.get(voice_group(voice))
        if times:
            out[c] = np.sort(np.asarray(times) + float(offset_s[c])) * drumnet.FPS
    return out


def transcribe_blocks(blocks: Iterable[np.ndarray], *, sample_rate: int,
                      threshold_scale: float = 1.0) -> list[Hit]:
    """Transcribe audio given as consecutive mono blocks (see :class:`DrumTranscriber`)."""
    tr = DrumTranscriber(sample_rate=sample_rate, threshold_scale=threshold_scale)
    hits: list[Hit] = []
    for block in blocks:
        hits += tr.process(block)
    return hits + tr.flush()


def transcribe(audio: str | Path | np.ndarray, *, sample_rate: int | None = None,
               player: str | None = None, threshold_scale: float = 1.0,
               progress: Callable[[float], None] | None = None) -> Take:
    """Transcribe the drums of a recording.

    Parameters
    ----------
    audio : str, Path or numpy.ndarray
        An audio file (WAV, FLAC, OGG, MP3; read in blocks, so long files need little memory),
        or samples with ``sample_rate``: 1-D, or ``(frames, channels)`` mixed to mono; float
        in [-1, 1] or integer PCM (see :func:`drumjam.io.audio.audio_array`).
    sample_rate : int, optional
        The samples' rate in Hz, 4000-384000 (required for an array).
    player : str, optional
        Name of the take (default: the file name, or ``"audio"``).
    threshold_scale : float
        See :class:`DrumTranscriber`.
    progress : callable, optional
        Called with the share of the audio done (0-1) after each block.

    Returns
    -------
    Take
        The hits in time order (empty for silence).

    Raises
    ------
    AudioFileError
        If the file is missing, unreadable or too long.
    InputError
        If samples are given without a sample rate or with one out of range, or are samples
        :func:`drumjam.io.audio.audio_array` refuses (NaN, ``(channels, frames)``, ...).
    """
    if isinstance(audio, (str, Path)):
        sr, total_s, blocks = audio_blocks(audio, block_s=OFFLINE_BLOCK_S)
        name = player or Path(audio).stem
    else:
        if sample_rate is None:
            raise InputError("give the sample rate of the samples (sample_rate=...)")
        sr = check_rate(sample_rate)
        x = audio_array(audio, mono=True, what="audio")
        total_s = x.size / sr
        step = int(OFFLINE_BLOCK_S * sr)
        blocks = (x[i:i + step] for i in range(0, x.size, step))
        name = player or "audio"
    tr = DrumTranscriber(sample_rate=sr, threshold_scale=threshold_scale)
    hits: list[Hit] = []
    done_s = 0.0
    for block in blocks:
        hits += tr.process(block)
        done_s += block.shape[0] / sr
        if progress is not None:
            progress(min(1.0, done_s / total_s) if total_s else 1.0)
    hits += tr.flush()
    return Take(tuple(hits), player=name)
