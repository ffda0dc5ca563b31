"""MIDI takes and charts in and out (mido).

Ticks are converted to seconds once, here, using every tempo change of the file; the beat map
of a file has one beat per time-signature beat (a quarter note in 4/4 and 3/4, an eighth note
in 6/8) and a downbeat at every bar line. Writing a take or chart with the beat map it was read
with reproduces the same times exactly.
"""

from __future__ import annotations

import heapq
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import mido
import numpy as np
from mido.midifiles.meta import KeySignatureError

from drumjam.errors import FileFormatError, InputError, MidiFileError
from drumjam.limits import (
    BEAT_UNITS, MAX_BEATS, MAX_DURATION_S, MAX_EVENTS, MAX_METER, MAX_MIDI_BYTES, MAX_TEMPO_BPM,
    MAX_TICKS_PER_BEAT, MIN_TEMPO_BPM, duration_text, tempo_in_range,
)
from drumjam.model import BeatMap, Chart, Hit, KitMap, Note, Take, Voice, get_kit_map
from drumjam.model.voices import VoiceGroup, voice_group

DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
DEFAULT_PPQ = 480
#: Longest time between two events of a track: a delta time is at most four bytes of seven
#: bits (mido writes longer ones, which no standard reader takes).
MAX_DELTA_TICKS = 0x0FFFFFFF
#: Most quarter notes of a file: the longest song at the fastest tempo.
_MAX_QUARTERS = int(MAX_DURATION_S * MAX_TEMPO_BPM / 60.0)


@dataclass(frozen=True, slots=True)
class MidiNoteEvent:
    """A note-on read from a file, in seconds."""

    time_s: float
    channel: int
    note: int
    velocity: int
    duration_s: float
    cc4: int | None


@dataclass(frozen=True)
class MidiContents:
    """Everything drumjam uses from a MIDI file.

    Attributes
    ----------
    notes : list of MidiNoteEvent
        Every note-on of every channel, in time order.
    beatmap : BeatMap
        Beats and bars from the file's tempo and time-signature events.
    """

    path: str
    notes: list[MidiNoteEvent]
    beatmap: BeatMap

    def channels(self) -> list[int]:
        """Channels that carry notes."""
        return sorted({n.channel for n in self.notes})


def open_midi(path: str | Path) -> mido.MidiFile:
    """Open a Standard MIDI File (type 0 or 1) with a clear error for anything else.

    Raises
    ------
    MidiFileError
        If the file is missing, empty, too large, not MIDI, truncated or of type 2.
    """
    p = Path(path)
    if not p.exists():
        raise MidiFileError(p, "no such file", "check the path")
    if p.is_dir():
        raise MidiFileError(p, "is a folder, not a MIDI file")
    size = p.stat().st_size
    if size == 0:
        raise MidiFileError(p, "empty file", "export the take again from your kit or DAW")
    if size > MAX_MIDI_BYTES:
        raise MidiFileError(p, f"{size / 2**20:.1f} MB is too large for a MIDI take or chart "
                            f"(at most {MAX_MIDI_BYTES // 2**20} MB)", "split the file")
    try:
        midi = mido.MidiFile(p)
    except EOFError:
        raise MidiFileError(p, "truncated MIDI file (it ends in the middle of a track)",
                            "export it again") from None
    except KeySignatureError as exc:
        raise MidiFileError(p, f"invalid key signature ({exc})",
                            "remove the key signature in your DAW and export again") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError, OverflowError) as exc:
        head = p.read_bytes()[:4]
        if head != b"MThd":
            raise MidiFileError(p, "not a MIDI file (no MThd header)",
                                "give a Standard MIDI File, .mid") from None
        raise MidiFileError(p, f"corrupt MIDI file ({exc})", "export it again") from None
    if midi.type == 2:
        raise MidiFileError(p, "MIDI type 2 (independent sequences) is not supported",
                            "save it as type 0 or 1")
    if not 1 <= midi.ticks_per_beat <= MAX_TICKS_PER_BEAT:
        raise MidiFileError(p, f"resolution {midi.ticks_per_beat} is not 1-{MAX_TICKS_PER_BEAT} "
                            "ticks per quarter note (SMPTE time is not supported)",
                            "save it with a metrical (PPQ) time base")
    return midi


def _absolute(track: mido.MidiTrack) -> Iterator[tuple[int, mido.Message]]:
    """The messages of a track with their absolute ticks."""
    now = 0
    for msg in track:
        now += msg.time
        yield now, msg


class TempoMap:
    """Ticks -> seconds for a list of tempo changes, computed the same way on every read."""

    def __init__(self, changes: list[tuple[int, int]], ppq: int) -> None:
        """``changes``: (tick, microseconds per quarter note); ``ppq``: ticks per quarter note."""
        self.ppq = ppq
        ticks = [0]
        tempos = [500000]
        for tick, tempo in changes:
            if tick == ticks[-1]:
                tempos[-1] = tempo
            else:
                ticks.append(tick)
                tempos.append(tempo)
        self.ticks = np.asarray(ticks, dtype=np.int64)
        self.tempos = np.asarray(tempos, dtype=np.float64)
        seg_s = np.diff(self.ticks) * self.tempos[:-1] / (1e6 * ppq)
        self.start_s = np.concatenate([[0.0], np.cumsum(seg_s)])

    def seconds(self, ticks: np.ndarray | int) -> np.ndarray:
        t = np.asarray(ticks, dtype=np.int64)
        i = np.searchsorted(self.ticks, t, side="right") - 1
        return self.start_s[i] + (t - self.ticks[i]) * self.tempos[i] / (1e6 * self.ppq)


def read_midi(path: str | Path) -> MidiContents:
    """Read every note and the beat map of a MIDI file (type 0 or 1).

    Parameters
    ----------
    path : str or Path
        A Standard MIDI File.

    Returns
    -------
    MidiContents

    Raises
    ------
    MidiFileError
        If the file is missing, empty, not MIDI, truncated, or has an absurd tempo.
    """
    midi = open_midi(path)
    ppq = midi.ticks_per_beat
    tick = 0
    tempo_changes: list[tuple[int, int]] = []
    signatures: list[tuple[int, int, int]] = []
    raw: list[tuple[int, int, int, int]] = []  # tick, channel, note, velocity
    cc4: dict[int, int] = {}
    cc4_at_note: list[int | None] = []
    note_off_ticks: list[int | None] = []
    open_notes: dict[tuple[int, int], int] = {}
    # all tracks on one timeline by absolute tick, merged lazily; events at the same tick keep
    # track order as in mido.merge_tracks (which copies every message, slowly)
    timeline = heapq.merge(*(_absolute(track) for track in midi.tracks), key=lambda item: item[0])
    for tick, msg in timeline:
        if msg.type == "set_tempo":
            tempo_changes.append((tick, msg.tempo))
        elif msg.type == "time_signature":
            signatures.append((tick, msg.numerator, msg.denominator))
        elif msg.type == "control_change" and msg.control == 4:
            cc4[msg.channel] = msg.value
        elif msg.type == "note_on" and msg.velocity > 0:
            open_notes[(msg.channel, msg.note)] = len(raw)
            raw.append((tick, msg.channel, msg.note, msg.velocity))
            cc4_at_note.append(cc4.get(msg.channel))
            note_off_ticks.append(None)
        elif msg.type in ("note_off", "note_on"):
            idx = open_notes.pop((msg.channel, msg.note), None)
            if idx is not None:
                note_off_ticks[idx] = tick
    del midi, timeline  # every mido message: by far the most memory of a long file
    if len(raw) > MAX_EVENTS:
        raise MidiFileError(path, f"{len(raw)} notes are more than drumjam reads ({MAX_EVENTS})",
                            "split the file")
    # the beat map covers whole bars up to the last note (or the end of a file without notes)
    last_tick = max(raw[-1][0] if raw else tick, 1)
    if raw:  # note-offs may lie beyond the last note-on
        last_off = max((t for t in note_off_ticks if t is not None), default=0)
        _check_tick(path, last_off, ppq, "note-off", MidiFileError)
    tempo_map, beatmap = tick_timeline(path, tempo_changes, signatures, ppq, last_tick)
    if raw:
        ticks = np.array([r[0] for r in raw], dtype=np.int64)
        times = tempo_map.seconds(ticks)
        end_ticks = np.array([t if t is not None else r[0] for t, r in zip(note_off_ticks, raw)])
        ends = tempo_map.seconds(end_ticks)
    else:
        times = ends = np.zeros(0)
    notes = [
        MidiNoteEvent(float(t), ch, note, vel, float(e - t), cc)
        for (_, ch, note, vel), t, e, cc in zip(raw, times, ends, cc4_at_note)
    ]
    return MidiContents(str(path), notes, beatmap)


def _check_tick(source: str | Path, tick: int, ppq: int, what: str,
                error: type[FileFormatError]) -> None:
    """Refuse a tick that lies beyond the longest song even at the fastest tempo."""
    if not 0 <= tick <= _MAX_QUARTERS * ppq:
        raise error(source, f"{what} at tick {tick} lies {tick / ppq:.3g} beats in, beyond "
                    f"{MAX_DURATION_S / 3600:.0f} hours at any tempo ({ppq} ticks per beat)",
                    "fix the file's resolution or the event's position")


def tick_timeline(
    source: str | Path,
    tempo_changes: list[tuple[int, int]],
    signatures: list[tuple[int, int, int]],
    ppq: int,
    last_tick: int,
    *,
    error: type[FileFormatError] = MidiFileError,
) -> tuple[TempoMap, BeatMap]:
    """Check a file's tempo changes, time signatures and length, then map its ticks to seconds.

    Everything is checked before anything is built, so a tiny file that claims an absurd
    length costs nothing.

    Parameters
    ----------
    source : str or Path
        The file, for error messages.
    tempo_changes : list of (tick, microseconds per quarter note)
        The file's tempo events.
    signatures : list of (tick, numerator, denominator)
        Its time signatures (default 4/4).
    ppq : int
        Ticks per quarter note.
    last_tick : int
        The beat map covers whole bars through the bar holding this tick.
    error : type
        The :class:`FileFormatError` subclass to raise.

    Returns
    -------
    tempo_map : TempoMap
    beatmap : BeatMap
        One beat per time-signature beat, a downbeat at every bar line.

    Raises
    ------
    FileFormatError
        If a tempo, time signature, tick, the length or the number of beats is out of range.
    """
    if not 1 <= ppq <= MAX_TICKS_PER_BEAT:
        raise error(source, f"resolution {ppq} is not 1-{MAX_TICKS_PER_BEAT} ticks per beat",
                    "fix the file's resolution")
    _check_tick(source, last_tick, ppq, "the last note", error)
    for tick, tempo in tempo_changes:
        _check_tick(source, tick, ppq, "a tempo change", error)
        bpm = 60e6 / tempo if tempo > 0 else float("inf")
        if not tempo_in_range(bpm):
            raise error(source, f"absurd tempo {bpm:.1f} BPM at tick {tick}",
                        f"fix the tempo to {MIN_TEMPO_BPM:.0f}-{MAX_TEMPO_BPM:.0f} BPM")
    for tick, num, den in signatures:
        _check_tick(source, tick, ppq, "a time signature", error)
        if not 1 <= num <= MAX_METER or den not in BEAT_UNITS:
            raise error(source, f"time signature {num}/{den} at tick {tick} is not usable",
                        f"use 1-{MAX_METER} beats of a whole, half, quarter ... 32nd note")
    tempo_map = TempoMap(tempo_changes, ppq)
    end_s = float(tempo_map.seconds(last_tick))
    if end_s > MAX_DURATION_S:
        raise error(source, f"the last note (tick {last_tick}) is {duration_text(end_s)} in, longer "
                    f"than the {MAX_DURATION_S / 3600:.0f} hours drumjam reads",
                    "check the file's resolution and tempo, or split it")
    return tempo_map, _beatmap_from_ticks(source, tempo_map, signatures, ppq, last_tick, error)


def _beatmap_from_ticks(
    source: str | Path, tempo_map: TempoMap, signatures: list[tuple[int, int, int]], ppq: int,
    last_tick: int, error: type[FileFormatError],
) -> BeatMap:
    """Beats and bar lines of checked time signatures, in seconds, through the bar holding
    ``last_tick`` (the number of beats is checked before they are made)."""
    sigs = sorted(signatures or [(0, 4, 4)])
    if sigs[0][0] > 0:
        sigs.insert(0, (0, sigs[0][1], sigs[0][2]))
    segments: list[tuple[int, int, int, int]] = []  # start, stop, step, bar
    lengths: dict[tuple[int, int], int] = {}
    n_beats = 0
    for i, (start, num, den) in enumerate(sigs):
        step = max(1, ppq * 4 // den)
        bar = step * num
        if i + 1 < len(sigs):
            stop = sigs[i + 1][0]
        else:  # the last segment runs to the end of the bar holding the last event
            stop = start + max(1, -(-(last_tick + 1 - start) // bar)) * bar + 1
        lengths[(num, den)] = lengths.get((num, den), 0) + stop - start
        segments.append((start, stop, step, bar))
        n_beats += max(0, -(-(stop - start) // step))
    if n_beats > MAX_BEATS + MAX_METER + 1:
        raise error(source, f"{n_beats} beats are more than a beat map holds ({MAX_BEATS}: "
                    f"{MAX_DURATION_S / 3600:.0f} hours at {MAX_TEMPO_BPM:.0f} BPM)",
                    "check the time signatures and the resolution")
    beat_parts, downbeat_parts = [], []
    for start, stop, step, bar in segments:
        ticks = np.arange(start, stop, step, dtype=np.int64)
        beat_parts.append(ticks)
        downbeat_parts.append(ticks[(ticks - start) % bar == 0])
    meter, unit = max(lengths, key=lengths.__getitem__)
    beats = tempo_map.seconds(np.concatenate(beat_parts))
    downbeats = tempo_map.seconds(np.concatenate(downbeat_parts))
    try:
        return BeatMap(beats, downbeats, meter=meter, beat_unit=unit)
    except InputError as exc:
        raise error(source, str(exc), "check the file's tempo and time signatures") from None


def drum_notes(
    contents: MidiContents, kit_map: KitMap | str | None = None, channel: int | None = None
) -> list[tuple[MidiNoteEvent, Voice]]:
    """The drum notes of a file with their voices.

    Parameters
    ----------
    contents : MidiContents
        A file read by :func:`read_midi`.
    kit_map : KitMap or str, optional
        How notes map to voices (default: Roland TD, a superset of General MIDI drum notes).
    channel : int, optional
        MIDI channel 1-16 of the drums. Default: channel 10 if it has notes, otherwise the one
        channel whose notes all map to drum voices.

    Raises
    ------
    MidiFileError
        If no drum notes are found.
    """
    kit = get_kit_map(kit_map)
    chans = contents.channels()
    if channel is not None:
        if not 1 <= channel <= 16:
            raise MidiFileError(contents.path, f"channel {channel} does not exist", "use 1-16")
        ch = channel - 1
    elif DRUM_CHANNEL in chans:
        ch = DRUM_CHANNEL
    else:
        candidates = [c for c in chans
                      if all(kit.voice_of(n.note) for n in contents.notes if n.channel == c)]
        if not chans:
            raise MidiFileError(contents.path, "holds no notes",
                                "export the drum part into it, on channel 10")
        if len(candidates) != 1:
            listed = ", ".join(str(c + 1) for c in chans)
            raise MidiFileError(
                contents.path,
                f"no drum notes on channel 10 (channels with notes: {listed})",
                "move the drums to channel 10, or name their channel: drumjam score --channel N")
        ch = candidates[0]
    out = []
    for n in contents.notes:
        if n.channel != ch:
            continue
        voice = kit.voice_of(n.note)
        if voice is None:
            continue
        if kit.open_threshold is not None and voice == Voice.HIHAT_CLOSED and n.cc4 is not None:
            if kit.openness(n.cc4) >= kit.open_threshold:
                voice = Voice.HIHAT_OPEN
        out.append((n, voice))
    if not out:
        raise MidiFileError(
            contents.path, f"no drum notes on channel {ch + 1} that the {kit.name} kit map knows",
            "choose another --channel or --kit")
    return out


def _openness(kit: KitMap, event: MidiNoteEvent, voice: Voice) -> float | None:
    if event.cc4 is None or voice_group(voice) != VoiceGroup.HIHAT:
        return None
    return round(kit.openness(event.cc4), 4)


def read_take(
    path: str | Path,
    kit_map: KitMap | str | None = None,
    channel: int | None = None,
    player: str | None = None,
) -> Take:
    """Read a played take from a MIDI file.

    Parameters
    ----------
    path : str or Path
        The MIDI file.
    kit_map : KitMap or str, optional
        Note map of the kit that recorded it (see :func:`drumjam.model.get_kit_map`).
    channel : int, optional
        Drum channel 1-16 (found automatically by default).
    player : str, optional
        Name of the player (default: the file name).

    Returns
    -------
    Take
        The hits, with the file's beat map.
    """
    contents = read_midi(path)
    kit = get_kit_map(kit_map)
    hits = tuple(
        Hit(n.time_s, v, n.velocity, _openness(kit, n, v))
        for n, v in drum_notes(contents, kit, channel)
    )
    return Take(hits, player=player or Path(path).stem, beatmap=contents.beatmap)


def read_chart(
    path: str | Path, kit_map: KitMap | str | None = None, channel: int | None = None
) -> Chart:
    """Read the drum notes of a MIDI file as a chart, on the file's beat map."""
    contents = read_midi(path)
    notes = tuple(Note(n.time_s, v, n.velocity) for n, v in drum_notes(contents, kit_map, channel))
    return Chart(notes, contents.beatmap, title=Path(path).stem)


def write_midi(
    path: str | Path,
    events: Take | Chart | Sequence[Hit | Note],
    beatmap: BeatMap | None = None,
    kit_map: KitMap | str | None = None,
    ppq: int = DEFAULT_PPQ,
) -> Path:
    """Write hits or notes to a type-0 MIDI file on channel 10.

    A silence longer than a delta time holds (:data:`MAX_DELTA_TICKS`, 68 minutes at 120 BPM
    and 32767 ticks per quarter note) is bridged by repeating the tempo in force.

    Parameters
    ----------
    path : str or Path
        Where to write.
    events : Take, Chart or sequence of Hit/Note
        What to write.
    beatmap : BeatMap, optional
        Tempo and bars to write (default: the take's or chart's own, else 120 BPM 4/4).
    kit_map : KitMap or str, optional
        Which note number each voice gets (default: General MIDI numbers).
    ppq : int
        Ticks per quarter note, 1-32767 (what a MIDI file's header holds).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        For a ``ppq`` out of range, events that are not hits or notes or lie before 0 s (a
        MIDI file starts there), or a beat map that is not a :class:`~drumjam.model.BeatMap`;
        nothing is written then.
    """
    if isinstance(ppq, bool) or not isinstance(ppq, numbers.Integral) \
            or not 1 <= ppq <= MAX_TICKS_PER_BEAT:
        raise InputError(f"ppq {ppq!r} is not a MIDI resolution; give a whole number of "
                         f"1-{MAX_TICKS_PER_BEAT} ticks per quarter note (default {DEFAULT_PPQ})")
    if isinstance(events, (Take, Chart)):
        beatmap = beatmap or events.beatmap
        items: Iterable[Hit | Note] = events.events
    else:
        items = events
    stray = next((e for e in items if not isinstance(e, (Hit, Note))), None)
    if stray is not None:
        raise InputError(f"cannot write {stray!r} to MIDI; give a Take, a Chart or Hits/Notes")
    if beatmap is not None and not isinstance(beatmap, BeatMap):
        raise InputError(f"beatmap {beatmap!r} is not a BeatMap; give one or leave it out")
    items = sorted(items, key=lambda e: e.time_s)
    if items and items[0].time_s < 0:
        first = items[0]
        raise InputError(f"a {first.voice.value} at {first.time_s:.3f} s is before 0 s, where a "
                         "MIDI file starts; move the events later or drop those before 0 s")
    kit = get_kit_map(kit_map if kit_map is not None else "gm")
    end_s = items[-1].time_s if items else 1.0
    if beatmap is None:
        beatmap = BeatMap.constant(120.0, end_s + 2.0)
    ticks_per_beat = ppq * 4 / beatmap.beat_unit  # a fraction at a coarse ppq in 6/8
    origin_beats = float(beatmap.to_beats(0.0))

    def ticks_of(times_s: np.ndarray) -> np.ndarray:
        return np.rint((beatmap.to_beats(times_s) - origin_beats) * ticks_per_beat).astype(np.int64)

    track = mido.MidiTrack()
    abs_msgs: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    abs_msgs.append((0, 0, mido.MetaMessage("time_signature", numerator=beatmap.meter,
                                            denominator=beatmap.beat_unit)))
    # one tempo per beat interval, written only where it changes
    beat_ticks = ticks_of(beatmap.beats_s)
    periods = np.diff(beatmap.beats_s)
    quarter_factor = beatmap.beat_unit / 4.0
    tempos = np.rint(periods * 1e6 * quarter_factor).astype(np.int64)
    seg_ticks = np.concatenate([[0], beat_ticks[1:-1]])
    last = None
    for t, tempo in zip(seg_ticks, tempos):
        if tempo != last:
            abs_msgs.append((int(t), 1, mido.MetaMessage("set_tempo", tempo=int(tempo))))
            last = tempo
    if items:
        note_ticks = ticks_of(np.array([e.time_s for e in items]))
        gate = max(1, ppq // 8)
        for e, t in zip(items, note_ticks):
            number = kit.note_of(e.voice)
            vel = max(1, e.velocity)
            abs_msgs.append((int(t), 3, mido.Message("note_on", channel=DRUM_CHANNEL, note=number, velocity=vel)))
            abs_msgs.append((int(t) + gate, 2, mido.Message("note_off", channel=DRUM_CHANNEL, note=number, velocity=0)))
            openness = getattr(e, "hihat_openness", None)
            if openness is not None and kit.hihat_cc is not None:
                value = int(round(abs(kit.hihat_cc_closed_value - openness * 127)))
                abs_msgs.append((int(t), 2, mido.Message("control_change", channel=DRUM_CHANNEL,
                                                          control=kit.hihat_cc, value=value)))
    abs_msgs.sort(key=lambda m: (m[0], m[1]))
    now = 0
    tempo_now = 500000  # a MIDI file's tempo until its first set_tempo
    for tick, _, msg in abs_msgs:
        while tick - now > MAX_DELTA_TICKS:  # a longer silence: the same tempo again between
            now += MAX_DELTA_TICKS
            track.append(mido.MetaMessage("set_tempo", tempo=tempo_now, time=MAX_DELTA_TICKS))
        track.append(msg.copy(time=tick - now))
        now = tick
        if msg.type == "set_tempo":
            tempo_now = msg.tempo
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=ppq)
    midi.tracks.append(track)
    out = Path(path)
    if out.is_dir():
        raise InputError(f"{out} is a folder; give a file name to write the MIDI to")
    out.parent.mkdir(parents=True, exist_ok=True)
    midi.save(out)
    return out


def write_backing_midi(path: str | Path, out_path: str | Path, drum_channel: int = DRUM_CHANNEL) -> bool:
    """Copy a MIDI file without its drum notes (the backing of a play-along song).

    Parameters
    ----------
    path : str or Path
        The source file.
    out_path : str or Path
        Where to write the copy.
    drum_channel : int
        Channel (0-based) whose notes are removed; default channel 10.

    Returns
    -------
    bool
        True if any note on another channel remains.
    """
    midi = open_midi(path)
    kept_notes = False
    for track in midi.tracks:
        carried = 0
        kept: list[mido.Message | mido.MetaMessage] = []
        for msg in track:
            if msg.type in ("note_on", "note_off") and msg.channel == drum_channel:
                carried += msg.time
                continue
            kept_notes |= msg.type == "note_on" and msg.velocity > 0
            kept.append(msg.copy(time=msg.time + carried))
            carried = 0
        track[:] = kept
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    midi.save(out)
    return kept_notes
