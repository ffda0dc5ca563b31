"""Rhythm-game song folders (Clone Hero, Rock Band, YARG): the drum chart and the backing stems.

A folder holds ``song.ini`` (title, artist, ``delay`` in ms), a chart, ``notes.chart`` (text)
or ``notes.mid`` (Rock Band MIDI), and audio stems (``song.ogg``, ``guitar.ogg``,
``drums.ogg``, ``drums_1.ogg`` ...; OGG, Opus, MP3, WAV or FLAC). drumjam plays the expert
drum part:

- ``notes.mid``: track ``PART DRUMS``, notes 96 kick (95: second kick), 97 red, 98 yellow,
  99 blue, 100 green; yellow, blue and green are cymbals (hi-hat, ride, crash) unless tom
  markers 110, 111, 112 span them (high, mid, floor tom). Tempo and time signatures come from
  the file as for any MIDI file.
- ``notes.chart``: section ``[ExpertDrums]``, lanes 0 kick (32: second kick), 1 red, 2 yellow,
  3 blue, 4 green; lanes 2-4 are toms unless cymbal flags 66, 67, 68 sit on the same tick. A
  chart without any cymbal flag was not made for pro drums: its yellow, blue and green are
  read as hi-hat, mid tom and crash. Five-lane charts (a lane 5) are red snare, yellow hi-hat,
  blue tom, orange (4) crash and green (5) floor tom.
  ``[SyncTrack]`` gives the tempo (``B``, milli-BPM) and time signatures (``TS n [log2 d]``),
  ``[Song]`` the resolution and an ``Offset`` in seconds.

The backing track is every stem but the drums (the full mix ``song.ogg`` alone if that is all
there is).
"""

from __future__ import annotations

import configparser
import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from drumjam.errors import AudioFileError, FileFormatError, MidiFileError
from drumjam.io.audio import audio_blocks
from drumjam.io.midi import open_midi, tick_timeline
from drumjam.limits import MAX_AUDIO_SAMPLES, MAX_CHART_BYTES, MAX_EVENTS
from drumjam.model import Chart, Note, Voice

CHART_FILES = ("notes.mid", "notes.chart")
STEM_SUFFIXES = (".ogg", ".opus", ".mp3", ".wav", ".flac")
DRUM_STEM = re.compile(r"^drums(_\d+)?$", re.IGNORECASE)
#: Stems that are not part of the music.
SKIPPED_STEMS = ("preview", "crowd")
#: Largest song delay or chart offset, in seconds.
MAX_DELAY_S = 60.0
_TICK = re.compile(r"[0-9]{1,18}")

_MIDI_LANES = {96: "kick", 95: "kick", 97: "red", 98: "yellow", 99: "blue", 100: "green"}
_TOM_MARKERS = {110: "yellow", 111: "blue", 112: "green"}
_CYMBAL_OF = {"yellow": Voice.HIHAT_CLOSED, "blue": Voice.RIDE, "green": Voice.CRASH}
_TOM_OF = {"yellow": Voice.TOM_HIGH, "blue": Voice.TOM_MID, "green": Voice.TOM_FLOOR}
_CHART_LANES = {0: "kick", 32: "kick", 1: "red", 2: "yellow", 3: "blue", 4: "green"}
_CHART_FLAGS = {66: "yellow", 67: "blue", 68: "green"}
#: Pads of charts without cymbal flags (four lanes) and of five-lane charts.
_FOUR_LANE = {"yellow": Voice.HIHAT_CLOSED, "blue": Voice.TOM_MID, "green": Voice.CRASH}
_FIVE_LANE = {"yellow": Voice.HIHAT_CLOSED, "blue": Voice.TOM_MID, "orange": Voice.CRASH, "green": Voice.TOM_FLOOR}
NOTE_VELOCITY = 100


@dataclass(frozen=True)
class SongFolder:
    """What drumjam takes from a rhythm-game song folder.

    Attributes
    ----------
    title, artist : str
        From ``song.ini`` (the folder name if it has none).
    chart : Chart
        The expert drum part on the chart's beat map, moved by the song's delay.
    backing_stems, drum_stems : list of Path
        Audio files of the music without drums, and of the drums.
    """

    path: Path
    title: str
    artist: str
    chart: Chart
    backing_stems: list[Path]
    drum_stems: list[Path]

    def backing_audio(self) -> tuple[np.ndarray, int]:
        """The backing stems mixed to mono at the first stem's sample rate."""
        return mix_stems(self.backing_stems)


def _ini(folder: Path) -> dict[str, str]:
    path = folder / "song.ini"
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    if not re.search(r"^\s*\[", text, re.MULTILINE):
        text = "[song]\n" + text
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise FileFormatError(path, f"unreadable song.ini ({exc.message.splitlines()[0]})",
                              "fix or remove song.ini") from None
    section = next((s for s in parser.sections() if s.lower() == "song"), None)
    return dict(parser[section]) if section else {}


def _delay_s(ini: dict[str, str], path: Path) -> float:
    try:
        delay_ms = float(ini.get("delay", "0") or 0)
    except ValueError:
        raise FileFormatError(path / "song.ini", f"delay {ini['delay']!r} is not a number of ms",
                              "write delay = 0 or another whole number of ms") from None
    if not abs(delay_ms) <= MAX_DELAY_S * 1000:
        raise FileFormatError(path / "song.ini", f"delay {delay_ms:.0f} ms is absurd", "use a delay under a minute")
    return delay_ms / 1000.0


def _voice(lane: str, tom: bool) -> Voice:
    if lane == "kick":
        return Voice.KICK
    if lane == "red":
        return Voice.SNARE
    return _TOM_OF[lane] if tom else _CYMBAL_OF[lane]


def read_rb_midi(path: str | Path, midi: mido.MidiFile | None = None) -> Chart:
    """The expert drums of a Rock Band ``notes.mid`` (track ``PART DRUMS``) as a chart
    (``midi``: the file already opened)."""
    midi = open_midi(path) if midi is None else midi
    tempo_changes: list[tuple[int, int]] = []
    signatures: list[tuple[int, int, int]] = []
    drums: list[mido.MidiTrack] = []
    last_tick = 1
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempo_changes.append((tick, msg.tempo))
            elif msg.type == "time_signature":
                signatures.append((tick, msg.numerator, msg.denominator))
        last_tick = max(last_tick, tick)
        if track.name.strip().upper() == "PART DRUMS":
            drums.append(track)
    if not drums:
        raise MidiFileError(path, "no PART DRUMS track", "give a song whose chart has drums")
    hits: list[tuple[int, str, int]] = []  # tick, lane, velocity
    markers: dict[str, list[tuple[int, int]]] = {lane: [] for lane in _TOM_MARKERS.values()}
    opened: dict[int, int] = {}
    tick = 0
    for msg in drums[0]:
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            if msg.note in _MIDI_LANES:
                hits.append((tick, _MIDI_LANES[msg.note], msg.velocity))
            elif msg.note in _TOM_MARKERS:
                opened[msg.note] = tick
        elif msg.type in ("note_off", "note_on") and msg.note in _TOM_MARKERS and msg.note in opened:
            markers[_TOM_MARKERS[msg.note]].append((opened.pop(msg.note), tick))
    if not hits:
        raise MidiFileError(path, "the PART DRUMS track has no expert notes (96-100)",
                            "give a song charted for expert drums")
    _check_count(path, len(hits), MidiFileError)
    tempo_map, beatmap = tick_timeline(path, tempo_changes, signatures, midi.ticks_per_beat,
                                       max(h[0] for h in hits))

    def is_tom(t: int, lane: str) -> bool:
        return any(a <= t < b for a, b in markers.get(lane, []))

    times = tempo_map.seconds(np.array([h[0] for h in hits]))
    notes = tuple(Note(float(s), _voice(lane, is_tom(t, lane)), vel)
                  for (t, lane, vel), s in zip(hits, times))
    return Chart(notes, beatmap, title=Path(path).parent.name)


def _check_count(path: Path | str, n_notes: int, error: type[FileFormatError]) -> None:
    if n_notes > MAX_EVENTS:
        raise error(path, f"{n_notes} drum notes are more than drumjam reads ({MAX_EVENTS})",
                    "give one song's chart")


def _chart_sections(path: Path, text: str) -> dict[str, list[tuple[int, str, list[str]]]]:
    """``{section: [(tick, kind, values), ...]}`` of a ``.chart`` file."""
    sections: dict[str, list[tuple[int, str, list[str]]]] = {}
    current: list[tuple[int, str, list[str]]] | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), [])
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            key = key.strip()
            fields = value.split()
            if _TICK.fullmatch(key):
                if fields:
                    current.append((int(key), fields[0], fields[1:]))
            elif key.isdigit():
                raise FileFormatError(path, f"tick {key[:30]} is not a tick drumjam can read",
                                      "fix the chart")
            else:
                current.append((-1, key, [value.strip()]))
    return sections


def read_dot_chart(path: str | Path) -> Chart:
    """The expert drums of a Clone Hero ``notes.chart`` as a chart."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(path, "no such chart file", "check the path")
    if path.stat().st_size > MAX_CHART_BYTES:
        raise FileFormatError(path, f"too large for a chart (more than {MAX_CHART_BYTES // 2**20} MB)",
                              "give the song's notes.chart")
    sections = _chart_sections(path, path.read_text(encoding="utf-8-sig", errors="replace"))
    song = {kind.lower(): values[0].strip('"') for tick, kind, values in sections.get("Song", []) if tick < 0}
    try:
        resolution = int(float(song.get("resolution", "192")))
        offset_s = float(song.get("offset", "0"))
    except (ValueError, OverflowError):
        raise FileFormatError(path, "unreadable Resolution or Offset in [Song]", "fix the chart") from None
    if not abs(offset_s) <= MAX_DELAY_S:
        raise FileFormatError(path, f"offset {offset_s} s is absurd", "use an offset under a minute")
    tempo_changes, signatures = [], []
    for tick, kind, values in sections.get("SyncTrack", []):
        try:
            if kind == "B":
                milli_bpm = int(values[0])
                if milli_bpm <= 0:
                    raise ValueError
                tempo_changes.append((tick, round(60_000_000_000 / milli_bpm)))
            elif kind == "TS":
                exponent = values[1] if len(values) > 1 else "2"  # log2 of the denominator
                if exponent not in ("0", "1", "2", "3", "4", "5"):
                    raise ValueError
                signatures.append((tick, int(values[0]), 2 ** int(exponent)))
        except (ValueError, IndexError):
            raise FileFormatError(path, f"unreadable [SyncTrack] event at tick {tick}: {kind} {values}",
                                  "fix the chart") from None
    drums = sections.get("ExpertDrums")
    if not drums:
        raise FileFormatError(path, "no [ExpertDrums] section", "give a song charted for expert drums")
    five_lane = any(kind == "N" and values and values[0] == "5" for _, kind, values in drums)
    lanes = {**_CHART_LANES, **({4: "orange", 5: "green"} if five_lane else {})}
    hits: list[tuple[int, str]] = []
    flagged: set[tuple[int, str]] = set()
    for tick, kind, values in drums:
        if kind != "N" or not values or not _TICK.fullmatch(values[0]):
            continue
        lane = int(values[0])
        if lane in _CHART_FLAGS:
            flagged.add((tick, _CHART_FLAGS[lane]))
        elif lane in lanes:
            hits.append((tick, lanes[lane]))
    if not hits:
        raise FileFormatError(path, "the [ExpertDrums] section has no notes", "give a song charted for drums")
    _check_count(path, len(hits), FileFormatError)
    pro = bool(flagged)
    tempo_map, beatmap = tick_timeline(path, tempo_changes, signatures, resolution,
                                       max(t for t, _ in hits), error=FileFormatError)

    plain = _FIVE_LANE if five_lane else _FOUR_LANE

    def voice(tick: int, lane: str) -> Voice:
        if lane in ("kick", "red"):
            return _voice(lane, False)
        if pro and not five_lane:
            return _voice(lane, (tick, lane) not in flagged)
        return plain[lane]

    times = tempo_map.seconds(np.array([t for t, _ in hits]))
    notes = tuple(Note(float(s), voice(t, lane), NOTE_VELOCITY) for (t, lane), s in zip(hits, times))
    return delayed(Chart(notes, beatmap, title=path.parent.name), offset_s)


def find_song_folder(root: Path) -> Path:
    """The folder under ``root`` (itself, or one level down) that holds a chart."""
    if any((root / f).is_file() for f in CHART_FILES):
        return root
    found = [d for d in sorted(root.iterdir()) if d.is_dir() and any((d / f).is_file() for f in CHART_FILES)]
    if len(found) != 1:
        raise FileFormatError(root, "no song folder with notes.mid or notes.chart" if not found
                              else "more than one song folder", "give one song's folder")
    return found[0]


def read_song_folder(path: str | Path) -> SongFolder:
    """Read a rhythm-game song folder (or the folder holding one).

    Raises
    ------
    FileFormatError
        If there is no chart with drums, or no audio.
    """
    folder, ini, chart = _folder_chart(path)
    stems = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in STEM_SUFFIXES and p.stem.lower() not in SKIPPED_STEMS)
    drum_stems = [p for p in stems if DRUM_STEM.match(p.stem)]
    others = [p for p in stems if p not in drum_stems]
    if not stems:
        raise FileFormatError(folder, "no audio (song.ogg, guitar.ogg, ...)", "add the song's audio files")
    return SongFolder(folder, chart.title, ini.get("artist", "").strip(), chart,
                      others or drum_stems, drum_stems)


def _folder_chart(path: str | Path) -> tuple[Path, dict[str, str], Chart]:
    """A song folder's own folder, its ``song.ini`` and its drum chart (titled, delayed)."""
    root = Path(path)
    if not root.is_dir():
        raise FileFormatError(root, "not a folder", "give the song's folder (with song.ini and notes.mid or notes.chart)")
    folder = find_song_folder(root)
    ini = _ini(folder)
    chart_path = next(folder / f for f in CHART_FILES if (folder / f).is_file())
    chart = read_rb_midi(chart_path) if chart_path.suffix == ".mid" else read_dot_chart(chart_path)
    chart = delayed(chart, _delay_s(ini, folder))
    title = ini.get("name", "").strip() or folder.name
    return folder, ini, Chart(chart.notes, chart.beatmap, title=title)


def delayed(chart: Chart, delay_s: float) -> Chart:
    """The chart and its beat map ``delay_s`` later against the audio (what fell before 0 s
    left out)."""
    if not delay_s:
        return chart
    notes = tuple(Note(n.time_s + delay_s, n.voice, n.velocity) for n in chart.notes if n.time_s + delay_s >= 0)
    return Chart(notes, chart.beatmap.shifted(delay_s), title=chart.title)


def load_chart(path: str | Path, kit_map: str | None = None) -> Chart:
    """A chart from a MIDI file (General MIDI drums or Rock Band ``PART DRUMS``), a Clone Hero
    ``.chart`` file, or a rhythm-game song folder (its audio is not needed)."""
    from drumjam.io.midi import read_chart

    p = Path(path)
    if p.is_dir():
        return _folder_chart(p)[2]
    if p.is_file() and (p.suffix.lower() == ".zip" or zipfile.is_zipfile(p)):
        raise FileFormatError(p, "is a zip archive, not a chart",
                              "unpack it and give the song's folder, or add it in the jam app")
    if p.suffix.lower() == ".chart":
        return read_dot_chart(p)
    if p.suffix.lower() in (".mid", ".midi") and p.is_file():
        midi = open_midi(p)
        if any(t.name.strip().upper() == "PART DRUMS" for t in midi.tracks):
            return read_rb_midi(p, midi)
    return read_chart(p, kit_map=kit_map)


#: Length of the blocks stems are mixed in.
MIX_BLOCK_S = 1.0


def stem_mix_blocks(paths: list[Path]) -> tuple[int, Iterator[np.ndarray]]:
    """Mono mix of audio files at the first one's sample rate, a block at a time (unscaled).

    Every stem is decoded, mixed to mono and resampled to that rate block by block, and the
    stems are added in step, so no stem and no mix is ever held whole; a shorter stem adds
    silence after its end.

    Parameters
    ----------
    paths : list of Path
        The stems.

    Returns
    -------
    sr : int
        The mix's sample rate in Hz.
    blocks : iterator of numpy.ndarray
        float32 mono blocks of :data:`MIX_BLOCK_S` seconds (the last one may be shorter).

    Raises
    ------
    FileFormatError
        If there are no stems.
    AudioFileError
        For a stem that is unreadable, too long or holds NaN.
    """
    if not paths:
        raise FileFormatError(Path("."), "no audio stems to mix", "add the song's audio files")
    rate, _, first = audio_blocks(paths[0], block_s=MIX_BLOCK_S)
    streams = [first] + [audio_blocks(p, block_s=MIX_BLOCK_S, sample_rate=rate)[2] for p in paths[1:]]

    def mixed() -> Iterator[np.ndarray]:
        # every stream's blocks are MIX_BLOCK_S long at one rate, only its last one shorter
        for parts in itertools.zip_longest(*streams):
            present = [x for x in parts if x is not None]
            out = np.zeros(max(x.size for x in present), np.float32)
            for x in present:
                out[:x.size] += x
            yield out

    return rate, mixed()


def mix_stems(paths: list[Path]) -> tuple[np.ndarray, int]:
    """Mono mix of audio files at the first one's sample rate, scaled to peak at most 0.99.

    Added block by block (:func:`stem_mix_blocks`), so the mix is the only whole-song array
    held, bounded by :data:`~drumjam.limits.MAX_AUDIO_SAMPLES`.
    """
    rate, blocks = stem_mix_blocks(paths)
    mix = np.zeros(0, dtype=np.float32)
    n = 0
    for block in blocks:
        end = n + block.size
        if end > MAX_AUDIO_SAMPLES:
            raise AudioFileError(paths[0].parent, f"the stems mix to more than "
                                 f"{MAX_AUDIO_SAMPLES / 1e6:.1f} million samples at {rate} Hz",
                                 "cut the song shorter or convert the stems to 22.05 kHz")
        if end > mix.size:
            mix.resize(min(max(end, 2 * mix.size), MAX_AUDIO_SAMPLES), refcheck=False)
        mix[n:end] = block
        n = end
    mix.resize(n, refcheck=False)
    peak = max(float(mix.max()), -float(mix.min())) if mix.size else 0.0
    if peak > 0.99:
        mix *= 0.99 / peak
    return mix, rate
