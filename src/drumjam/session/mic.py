"""Microphone players: audio frames in, hits into the session's one hit path.

The browser captures the microphone on the audio clock the backing track plays on and sends
it as binary WebSocket frames (:func:`decode_frame`): a 16-byte header — ``b"DJ"``, the sample
format (1 = int16, 2 = float32), the player, a sequence number and the audio-clock frame of
the first sample — then the samples, mono, little-endian. :class:`MicInput` cancels what
the page plays (backing track and clicks, :mod:`drumjam.session.playback`) from the microphone
(:class:`~drumjam.analysis.bleed.BleedCanceller`), transcribes in streaming mode
(:class:`~drumjam.analysis.transcribe.DrumTranscriber`) and hands every hit, with its exact
onset time on the timeline, to the session's (or the room's) one hit path like any key, pad or
MIDI hit: the live marks and the final scores come from those times (less any capture slip
and clock drift the song's bleed showed before the stroke, :mod:`drumjam.analysis.slips`: a
stroke heard between a slip and its finding, within about a second, is scored as heard). It
also watches the input: a clipping microphone and a silent one are reported once each, when
they start. A stream that ends (the device was unplugged, the page closed) is flushed: its
last hits are scored and the session carries on.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from drumjam.analysis.bleed import BleedCanceller, BleedReport, LearnedPath, RoomResponse
from drumjam.analysis.kitprofile import KitProfile, KitTranscriber
from drumjam.analysis.transcribe import DrumTranscriber
from drumjam.errors import InputError
from drumjam.model import Chart, Hit, Voice
from drumjam.scoring import HitResult
from drumjam.session.playback import Played

MAGIC = b"DJ"
HEADER = struct.Struct("<2sBBIq")
FORMATS = {1: np.dtype("<i2"), 2: np.dtype("<f4")}
FORMAT_CODES = {"int16": 1, "float32": 2}
#: Most samples in one frame (a second at 48 kHz).
MAX_FRAME_SAMPLES = 48000
#: Largest size of a float32 frame's samples. A microphone's lie within [-1, 1], a little past
#: it where a driver clips (the clip detector says so); past this (+24 dB over full scale) the
#: client is broken, and such samples would overflow the bleed canceller's sums into NaN.
MAX_SAMPLE_ABS = 16.0
#: A gap in the stream up to this long is filled with silence; a longer one is refused.
MAX_GAP_S = 2.0
#: A share of samples at full scale over the last second above this is clipping.
CLIP_SHARE = 0.001
CLIP_LEVEL = 0.999
#: Silence: the last SILENT_S seconds all below SILENT_DBFS.
SILENT_S = 3.0
SILENT_DBFS = -70.0
#: An onset this close to a stream's first sample is the stream starting (from silence, or in
#: a drum's ring after a reconnection), not a stroke: it is dropped.
STREAM_START_S = 0.03
#: Microphones take the same sample rates as the transcriber.
MIN_RATE, MAX_RATE = 8000, 192000


def due_notes(chart: Chart | None) -> tuple[tuple[float, Voice], ...]:
    """A chart's notes as :class:`MicInput`'s ``expected`` (none without a chart)."""
    return () if chart is None else tuple((n.time_s, n.voice) for n in chart.notes)


@dataclass(frozen=True)
class MicFrame:
    """One decoded frame: who, which, when (audio-clock frame of the first sample), what."""

    player: int
    seq: int
    first_frame: int
    samples: np.ndarray


def encode_frame(samples: np.ndarray, *, player: int, seq: int, first_frame: int,
                 fmt: str = "int16") -> bytes:
    """A binary frame as the browser sends it (see the module's description)."""
    code = FORMAT_CODES[fmt]
    x = np.asarray(samples, dtype=np.float32)
    if code == 1:
        x = np.round(np.clip(x, -1.0, 1.0) * 32767.0)
    return HEADER.pack(MAGIC, code, player, seq, first_frame) + x.astype(FORMATS[code]).tobytes()


def decode_frame(data: bytes, *, max_samples: int = MAX_FRAME_SAMPLES) -> MicFrame:
    """Read a binary microphone frame (at most ``max_samples`` samples).

    Raises
    ------
    InputError
        Too short, a wrong magic or format, a partial sample, too many samples; float32
        samples that are NaN, infinite or larger than :data:`MAX_SAMPLE_ABS`. The frame is
        refused whole (nothing of it is heard): the stream, and what it heard, carry on.
    """
    if len(data) < HEADER.size:
        raise InputError(f"a binary frame of {len(data)} bytes is not a microphone frame "
                         f"(shorter than its {HEADER.size}-byte header)")
    magic, code, player, seq, first = HEADER.unpack_from(data)
    if magic != MAGIC or code not in FORMATS:
        raise InputError("this binary frame is not a microphone frame: it must start with "
                         "b'DJ' and format 1 (int16) or 2 (float32)")
    dtype = FORMATS[code]
    body = memoryview(data)[HEADER.size:]
    if len(body) % dtype.itemsize:
        raise InputError(f"a microphone frame holds {len(body)} bytes of samples, not a whole "
                         f"number of {dtype.itemsize}-byte samples")
    if len(body) // dtype.itemsize > max_samples:
        raise InputError(f"a microphone frame holds more than {max_samples} samples; "
                         "send shorter frames")
    if first < 0:
        raise InputError(f"audio-clock frame {first} is negative")
    x = np.frombuffer(body, dtype=dtype).astype(np.float32)
    if code == 1:
        x /= 32767.0
    else:
        _check_sample_values(x, player=player, seq=seq)
    return MicFrame(player, seq, first, x)


def _check_sample_values(x: np.ndarray, *, player: int, seq: int) -> None:
    """Refuse float samples that no microphone gives: NaN, infinite or past
    :data:`MAX_SAMPLE_ABS` (one message for the frame, naming its first such sample)."""
    bad = ~(np.abs(x) <= MAX_SAMPLE_ABS)  # NaN is never <=
    if not bad.any():
        return
    first = int(np.argmax(bad))
    value = float(x[first])
    what = ("a NaN sample" if np.isnan(value) else "an infinite sample" if np.isinf(value)
            else f"a sample of {value:.3g}")
    raise InputError(
        f"microphone frame {seq} of player {player} holds {what} (sample {first}; {int(bad.sum())} "
        f"of {x.size} out of range) and is refused: a microphone's samples are finite and "
        f"within [-1, 1] (a clipping driver's a little past it; up to ±{MAX_SAMPLE_ABS:g} is "
        "taken); send the captured samples unscaled, or as int16 (format 1)")


@dataclass(frozen=True)
class MicHit:
    """A hit heard by a microphone, as the player's device heard it (timeline seconds), and
    the session's verdict (None for a count-in tap)."""

    hit: Hit
    result: HitResult | None


class MicInput:
    """One player's microphone feeding a live session or a room.

    Parameters
    ----------
    score : callable
        Where every hit goes: ``score(hit)`` with the hit on the timeline as the player's
        device heard it (latency not removed), returning the verdict (None for a count-in
        tap), e.g. ``functools.partial(session.add_hit, player)``.
    sample_rate : int
        Of the microphone, in Hz.
    timeline_zero_frame : int
        The audio-clock frame at which the timeline is 0 s (as this player hears it).
    round_trip_s : float
        The player's round trip from the speakers to the microphone (measured by ear): how
        late the song's bleed arrives.
    played : Played, optional
        What the page plays (backing track and clicks) at ``sample_rate``, to cancel its bleed.
    kit : KitProfile, optional
        The player's kit check: the transcription adapted to their kit (input gain,
        thresholds, their drums).
    tap : callable, optional
        ``tap(at_sample, samples)``: each stretch of bleed-cancelled audio as it is
        transcribed, from timeline sample ``at_sample`` on (less the capture slips found, as
        the hits; two microphones in one room keep it to tell the kits apart,
        :mod:`drumjam.session.roompair`).
    learned_bleed : LearnedPath, optional
        What the player's previous stream of this session learned of the bleed
        (:meth:`learned_bleed`): a microphone reconnected mid-song cancels the song and the
        clicks at once.
    earlier_bleed : RoomResponse, optional
        The response an earlier take with the same microphone applied (or its calibration by
        ear heard): tried on the count-in's clicks and, if it still holds, the song is
        cancelled from its first moment (:class:`~drumjam.analysis.bleed.BleedCanceller`'s
        ``earlier``).
    expected : sequence of (float, Voice or str), optional
        The chart's notes (timeline seconds, voice) the player plays along to: near a note
        due, its drum sounding alone is heard at half its usual threshold (score-informed
        detection, :class:`~drumjam.analysis.transcribe.DrumTranscriber`). Without a ``kit``
        not while a ``played`` song is cancelled: what is left of it would credit skipped
        notes. With a ``kit`` always, and a note due together with another drum's stroke is
        also listened for under it (:mod:`drumjam.analysis.masked`): with the kit's gain and
        thresholds the song's residue credits about as few skipped notes either way
        (``python benchmarks/kitcheck.py --play-along``).
    """

    def __init__(self, score: Callable[[Hit], HitResult | None], *, sample_rate: int,
                 timeline_zero_frame: int, round_trip_s: float = 0.0,
                 played: Played | None = None, kit: KitProfile | None = None,
                 tap: Callable[[int, np.ndarray], None] | None = None,
                 learned_bleed: LearnedPath | None = None,
                 earlier_bleed: RoomResponse | None = None,
                 expected: Sequence[tuple[float, Voice | str]] = ()) -> None:
        if not MIN_RATE <= int(sample_rate) <= MAX_RATE:
            raise InputError(f"microphone sample rate {sample_rate} Hz is out of range; use "
                             f"{MIN_RATE}-{MAX_RATE} Hz")
        self.score = score
        self.sample_rate = int(sample_rate)
        self.zero = int(timeline_zero_frame)
        self.round_trip_s = max(0.0, float(round_trip_s))
        self._played = played
        self._learned = learned_bleed
        self._earlier = earlier_bleed
        self._tap = tap
        self._kit = kit
        self._expected = tuple(expected)
        self._transcriber: DrumTranscriber | KitTranscriber | None = None  # from the first frame
        self._canceller: BleedCanceller | None = None
        self._start: int | None = None  # audio-clock frame of the stream's first sample
        self._next: int | None = None
        self._recent: deque[tuple[float, int, int]] = deque()  # (peak, clipped, n) per frame
        self._recent_n = 0
        self.clipping = False
        self.silent = False
        self.ended = False

    def feed(self, frame: MicFrame) -> tuple[list[MicHit], list[str]]:
        """Take one frame; return the hits it completed (scored) and new warnings.

        Frames must come in order; a missing stretch up to :data:`MAX_GAP_S` is filled with
        silence, a repeated or overlapping one is dropped where it overlaps.

        Raises
        ------
        InputError
            After the stream ended, or across a gap longer than :data:`MAX_GAP_S`.
        """
        if self.ended:
            raise InputError("this microphone stream has ended; start the microphone again")
        x = frame.samples
        if self._start is None:
            self._start = self._next = frame.first_frame
            self._transcriber = self._new_transcriber(frame.first_frame)
            if self._played is not None:
                self._canceller = self._bleed_canceller(frame.first_frame)
        gap = frame.first_frame - self._next
        if gap > MAX_GAP_S * self.sample_rate:
            raise InputError(f"the microphone stream skipped {gap / self.sample_rate:.1f} s "
                             f"(more than {MAX_GAP_S:.0f} s); start the microphone again")
        if gap > 0:
            x = np.concatenate([np.zeros(gap, np.float32), x])
        elif gap < 0:
            x = x[-gap:]
        warnings = self._watch(x)
        return self._hits(self._transcribe(x)), warnings

    def _bleed_canceller(self, first_frame: int) -> BleedCanceller:
        """The canceller of what the page plays, from the stream's first sample on."""
        played = self._played
        at_s = (first_frame - self.zero) / self.sample_rate  # the stream's start on the timeline
        at = int(round((at_s - played.start_s) * self.sample_rate))
        return BleedCanceller(played.backing, sample_rate=self.sample_rate,
                              round_trip_s=self.round_trip_s, clicks=played.clicks,
                              first_sample=at, alone_s=played.music_s - at_s,
                              learned=self._learned, earlier=self._earlier)

    def _new_transcriber(self, first_frame: int) -> DrumTranscriber | KitTranscriber:
        """The transcriber of a stream starting at ``first_frame``, expecting the notes where
        they will be heard in it (a round trip late)."""
        at_s = (first_frame - self.zero) / self.sample_rate - self.round_trip_s
        due = [(t - at_s, v) for t, v in self._expected]

        def late_s(t_s: float) -> float:  # notes are heard as late as the song (a capture slip)
            return self._slipped(int(round(t_s * self.sample_rate))) / self.sample_rate

        if self._kit is None:
            lowered = [] if self._played is not None else due
            return DrumTranscriber(sample_rate=self.sample_rate, expected=lowered,
                                   expected_late=late_s)
        return KitTranscriber(self._kit, sample_rate=self.sample_rate, expected=due,
                              expected_late=late_s)

    def end(self) -> list[MicHit]:
        """The stream ended: score the hits still being decided."""
        if self.ended:
            return []
        self.ended = True
        return [] if self._transcriber is None else self._hits(self._transcriber.flush())

    def learned_bleed(self) -> LearnedPath | None:
        """What this stream learned of the bleed, for the player's next stream (None without
        cancelling)."""
        return self._learned if self._canceller is None else self._canceller.learned()

    def bleed(self) -> BleedReport | None:
        """How loud the song is in the microphone (None without a reference)."""
        return None if self._canceller is None else self._canceller.report()

    def _transcribe(self, x: np.ndarray) -> list[Hit]:
        at = self._next - self.zero
        first = self._next - self._start  # of the stream
        self._next += x.size
        if self._canceller is not None:
            x = self._canceller.process(x)
        if self._tap is not None:  # where the audio lies on the timeline, as the hits do
            self._tap(at - int(round(self._slipped(first))), x)
        return self._transcriber.process(x)

    def _slipped(self, sample: int) -> float:
        """How many samples late the stream heard the speakers at its sample ``sample``
        (:meth:`~drumjam.analysis.bleed.BleedCanceller.slipped`; 0 without cancelling)."""
        return 0.0 if self._canceller is None else self._canceller.slipped(sample)

    def _hits(self, hits: list[Hit]) -> list[MicHit]:
        out = []
        offset_s = (self._start - self.zero) / self.sample_rate if self._start is not None else 0.0
        for h in hits:
            if h.time_s < STREAM_START_S:
                continue
            slipped_s = self._slipped(int(round(h.time_s * self.sample_rate))) / self.sample_rate
            on_timeline = Hit(h.time_s + offset_s - slipped_s, h.voice, h.velocity)
            out.append(MicHit(on_timeline, self.score(on_timeline)))
        return out

    def _watch(self, x: np.ndarray) -> list[str]:
        """Clipping over the last second, silence over the last :data:`SILENT_S`."""
        if not x.size:
            return []
        self._recent.append((float(np.max(np.abs(x))), int(np.sum(np.abs(x) >= CLIP_LEVEL)), x.size))
        self._recent_n += x.size
        while self._recent_n - self._recent[0][2] >= SILENT_S * self.sample_rate:
            self._recent_n -= self._recent.popleft()[2]
        warnings = []
        last_s, clipped = 0, 0
        for _, c, n in reversed(self._recent):
            if last_s >= self.sample_rate:
                break
            last_s += n
            clipped += c
        clipping = clipped > CLIP_SHARE * max(last_s, 1)
        if clipping and not self.clipping:
            warnings.append("the microphone is clipping: turn its input gain down (or move it "
                            "away from the drums) so that loud hits are measured right")
        self.clipping = clipping
        full = self._recent_n >= SILENT_S * self.sample_rate - x.size
        peak_db = 20 * np.log10(max(max(p for p, _, _ in self._recent), 1e-12))
        silent = full and peak_db < SILENT_DBFS
        if silent and not self.silent:
            warnings.append(f"the microphone has heard nothing for {SILENT_S:.0f} s: check that "
                            "it is plugged in, switched on and not muted")
        self.silent = silent
        return warnings
