"""Turning an uploaded file into a song's files: audio analysed, MIDI rendered, folders unzipped.

Each importer writes the backing track (and chart) into a work folder and returns what the
catalogue keeps about the song (:class:`PreparedSong`); it never touches the database.
"""

from __future__ import annotations

import shutil
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drumjam.errors import FileFormatError
from drumjam.library.media import write_ogg_blocks
from drumjam.limits import MAX_AUDIO_DURATION_S, duration_text

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")
MIDI_SUFFIXES = (".mid", ".midi")
#: A zipped rhythm-game song folder (Clone Hero, Rock Band, YARG).
FOLDER_SUFFIXES = (".zip",)
#: Largest unpacked size of a zipped song folder.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
#: Frames of silence written at a time.
SILENCE_BLOCK_FRAMES = 1 << 16


@dataclass(frozen=True)
class PreparedSong:
    """What an importer made: the files in the work folder and the song's metadata.

    Parameters
    ----------
    title : str
        Name shown to people.
    kind : {"audio", "midi"}
        ``"audio"``: played on the grid of ``beatmap``; ``"midi"``: against the chart file.
    audio : str
        File name of the backing track in the song's folder.
    chart : str or None
        File name of the drum chart (MIDI) for ``kind == "midi"``.
    beatmap : dict or None
        The analysed beat map (:meth:`BeatMap.to_dict`) for ``kind == "audio"``.
    source_name : str
        Name of the uploaded file.
    grid : int
        Grid subdivision to score on without a chart.
    """

    title: str
    kind: str
    audio: str
    chart: str | None
    beatmap: dict[str, Any] | None
    source_name: str
    grid: int = 16


def check_upload(name: str, data: bytes) -> str:
    """The lower-case suffix of an upload drumjam can import, else a :class:`FileFormatError`."""
    suffix = Path(name).suffix.lower()
    if suffix not in AUDIO_SUFFIXES + MIDI_SUFFIXES + FOLDER_SUFFIXES:
        kinds = ", ".join(AUDIO_SUFFIXES + MIDI_SUFFIXES + FOLDER_SUFFIXES)
        raise FileFormatError(name, "is neither an audio file nor a MIDI file nor a zipped "
                              "song folder", f"upload one of {kinds}")
    if not data:
        raise FileFormatError(name, "empty file", "choose the file again")
    return suffix


def prepare_song(name: str, data: bytes, title: str | None, work: Path) -> PreparedSong:
    """Write an uploaded song's files into ``work``.

    Audio is analysed into a beat map (scored against a sixteenth-note grid); a MIDI file's
    drum channel becomes the chart and its other channels the backing track; a song folder's
    expert drums become the chart and its other stems the backing track
    (:mod:`drumjam.io.songfolder`).

    Parameters
    ----------
    name : str
        The uploaded file's name (its suffix tells the kind).
    data : bytes
        Its contents.
    title : str, optional
        Title given by the person (default: the song folder's, else the file name).
    work : Path
        An empty folder that becomes the song's folder.

    Raises
    ------
    FileFormatError
        Naming the upload, if it is neither readable audio, a MIDI file with drums nor a song
        folder with a drum chart and audio.
    """
    suffix = check_upload(name, data)
    source = work / f"source{suffix}"
    source.write_bytes(data)
    given = (title or "").strip()[:80]
    title = given or Path(name).stem.strip()[:80] or "untitled"
    try:
        if suffix in MIDI_SUFFIXES:
            return _prepare_midi_song(source, work, title, name)
        if suffix in FOLDER_SUFFIXES:
            return _prepare_folder_song(source, work, given or None, name)
        return _prepare_audio_song(source, title, name)
    except FileFormatError as exc:  # name the upload, not the temporary copy
        raise FileFormatError(name, exc.problem, exc.fix) from exc


def _prepare_audio_song(source: Path, title: str, name: str) -> PreparedSong:
    from drumjam.analysis import analyse_audio

    beatmap = analyse_audio(source)  # read at the analysis rate, a block at a time
    return PreparedSong(title=title, kind="audio", audio=source.name, chart=None,
                        beatmap=beatmap.to_dict(), source_name=name)


def _backing_length_s(end_s: float, name: str) -> float:
    """The backing track's length for a chart ending at ``end_s``, refused past the audio limit."""
    if end_s > MAX_AUDIO_DURATION_S:
        raise FileFormatError(name, f"its drum part lasts {duration_text(end_s)}, longer than "
                              f"the {MAX_AUDIO_DURATION_S / 3600:.0f} hours of backing audio drumjam "
                              "makes", "cut out the song you want to play along to")
    return end_s


def _padded(blocks: Iterable[np.ndarray], frames: int) -> Iterator[np.ndarray]:
    """Mono blocks, then silence up to ``frames`` frames in all."""
    n = 0
    for block in blocks:
        n += block.shape[0]
        yield block
    for start in range(n, frames, SILENCE_BLOCK_FRAMES):
        yield np.zeros(min(SILENCE_BLOCK_FRAMES, frames - start), np.float32)


def _prepare_midi_song(source: Path, work: Path, title: str, name: str) -> PreparedSong:
    from drumjam.io.audio import audio_blocks
    from drumjam.io.midi import read_chart, write_backing_midi
    from drumjam.io.render import render_midi_file

    chart = read_chart(source)
    end_s = _backing_length_s(max(chart.beatmap.end_s, chart.duration_s) + 1.0, name)
    backing_mid = work / "backing.mid"
    rate = 44100
    if write_backing_midi(source, backing_mid):
        rendered = render_midi_file(backing_mid, work / "backing.wav", sample_rate=rate)
        rate, _, blocks = audio_blocks(rendered, mono=False)
        write_ogg_blocks(work / "backing.ogg", blocks, rate, 2)
        rendered.unlink()
    else:
        write_ogg_blocks(work / "backing.ogg", _padded([], int(end_s * rate)), rate, 1)
    return PreparedSong(title=title, kind="midi", audio="backing.ogg", chart=source.name,
                        beatmap=None, source_name=name)


def _unzip(source: Path, into: Path, name: str) -> None:
    """Unpack a zip upload, refusing paths that leave ``into`` and archives too large."""
    try:
        with zipfile.ZipFile(source) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise FileFormatError(name, f"unpacks to more than {MAX_UNZIPPED_BYTES // 2**20} MB",
                                      "zip only the song's folder")
            root = into.resolve()
            for m in members:
                target = (into / m.filename).resolve()
                if not target.is_relative_to(root):
                    raise FileFormatError(name, f"holds a path outside the folder ({m.filename})",
                                          "zip the song's folder itself")
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(m) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
            zlib.error) as exc:  # what a damaged archive makes zipfile and zlib raise
        raise FileFormatError(name, f"is not a readable zip file ({exc})", "zip the song's folder again") from None


def _prepare_folder_song(source: Path, work: Path, title: str | None, name: str) -> PreparedSong:
    from drumjam.io.midi import write_midi
    from drumjam.io.songfolder import read_song_folder, stem_mix_blocks

    unpacked = work / "unpacked"
    _unzip(source, unpacked, name)
    song = read_song_folder(unpacked)
    end_s = _backing_length_s(max(song.chart.beatmap.end_s, song.chart.duration_s) + 1.0, name)
    # two passes over the stems, a block at a time: the mix's peak, then the mix scaled to 0.99
    rate, blocks = stem_mix_blocks(song.backing_stems)
    peak = max((float(np.max(np.abs(b))) for b in blocks), default=0.0)
    scale = 0.99 / peak if peak > 0.99 else 1.0
    rate, blocks = stem_mix_blocks(song.backing_stems)
    write_ogg_blocks(work / "backing.ogg", _padded((b * scale for b in blocks), int(end_s * rate)),
                     rate, 1)
    write_midi(work / "chart.mid", song.chart)
    shutil.rmtree(unpacked, ignore_errors=True)
    source.unlink()
    full_title = title or (f"{song.artist} – {song.title}" if song.artist else song.title)
    return PreparedSong(title=full_title[:80], kind="midi", audio="backing.ogg", chart="chart.mid",
                        beatmap=None, source_name=name)
