"""The song library: built-in play-along songs and the songs people add.

A song is a backing track (audio without drums) plus what to play against it: a drum chart,
or, for an audio file a person brings, the song's beat map and a grid to play on. Built-in
songs live in ``drumjam/data/songs/<id>/`` (``chart.mid`` and ``backing.ogg``, made by
``scripts/build_songs.py``); added songs live in ``$DRUMJAM_HOME/songs/<id>/``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from drumjam.errors import DrumjamError, FileFormatError, InputError, NotFoundError
from drumjam.model import BeatMap, Chart

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")
MIDI_SUFFIXES = (".mid", ".midi")
#: A zipped rhythm-game song folder (Clone Hero, Rock Band, YARG).
FOLDER_SUFFIXES = (".zip",)
#: Largest unpacked size of a zipped song folder.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
MIN_SPEED = 0.5
MAX_SPEED = 1.5
#: Largest move of a song's beats in one correction (ms).
MAX_BEAT_OFFSET_MS = 500.0
SPEED_STEP = 0.05


class SongNotFoundError(NotFoundError):
    """No song has the id asked for."""


@dataclass(frozen=True)
class Song:
    """One song to play along to.

    Parameters
    ----------
    id : str
        Stable identifier used in URLs.
    title : str
        Name shown to people.
    beatmap : BeatMap
        Beats and bars of the backing track, in seconds from its start.
    chart : Chart or None
        The drum part to play; None to play on the grid of ``beatmap``.
    grid : int
        Grid subdivision (16 = sixteenths, 12 = eighth triplets) for scoring without a chart.
    audio_path : Path
        The backing track.
    feel : str
        ``"straight"`` or ``"swung"``.
    builtin : bool
        Shipped with drumjam (True) or added by a person.
    credit : str
        Where the chart comes from.
    """

    id: str
    title: str
    beatmap: BeatMap
    chart: Chart | None
    grid: int
    audio_path: Path
    feel: str = "straight"
    builtin: bool = True
    credit: str = ""
    #: The analysed beat map was corrected by hand (:meth:`SongLibrary.correct_beatmap`).
    corrected: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the chart itself is served with a session)."""
        return {
            "id": self.id,
            "title": self.title,
            "tempo_bpm": round(self.beatmap.tempo_bpm, 1),
            "meter": self.beatmap.meter,
            "bars": int(self.beatmap.downbeats_s.size - 1) if self.beatmap.downbeats_s.size > 1 else 1,
            "feel": self.feel,
            "grid": self.grid,
            "has_chart": self.chart is not None,
            "notes": len(self.chart) if self.chart is not None else 0,
            "builtin": self.builtin,
            "credit": self.credit,
            "beatmap_correctable": not self.builtin and self.chart is None,
            "beatmap_corrected": self.corrected,
        }


OGG_BLOCK_FRAMES = 16384


def write_ogg(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write float samples ``(frames,)`` or ``(frames, channels)`` as OGG/Vorbis.

    Written in blocks: libvorbis allocates its work buffer on the stack, and one large write
    overflows a worker thread's stack (python-soundfile issues 233 and 396).
    """
    data = np.asarray(samples, dtype=np.float32)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with sf.SoundFile(path, "w", sample_rate, channels, format="OGG", subtype="VORBIS") as out:
        for start in range(0, data.shape[0], OGG_BLOCK_FRAMES):
            out.write(data[start:start + OGG_BLOCK_FRAMES])


def builtin_dir() -> Path:
    """Folder of the built-in songs inside the package."""
    return Path(str(resources.files("drumjam") / "data" / "songs"))


def builtin_specs() -> list[dict[str, Any]]:
    """The entries of ``songs.json``: how each built-in song is made and named."""
    return json.loads((builtin_dir() / "songs.json").read_text(encoding="utf-8"))["songs"]


def validate_speed(speed: float) -> float:
    """Check a playback speed (0.5-1.5, 1.0 = the song's own tempo) and return it."""
    try:
        value = float(speed)
    except (TypeError, ValueError):
        raise InputError(f"speed {speed!r} is not a number; use 0.5-1.5 (1.0 = original)") from None
    if not np.isfinite(value) or not MIN_SPEED - 1e-9 <= value <= MAX_SPEED + 1e-9:
        raise InputError(f"speed {speed} is out of range; use {MIN_SPEED}-{MAX_SPEED} (1.0 = original)")
    return round(value, 2)


class SongLibrary:
    """Built-in songs plus the songs added under ``user_dir``.

    Parameters
    ----------
    user_dir : Path
        Where added songs and stretched audio are kept (created on use).
    """

    def __init__(self, user_dir: Path) -> None:
        self.user_dir = Path(user_dir)
        self._cache: dict[str, Song] = {}

    # ------------------------------------------------------------------ reading
    def list(self) -> list[Song]:
        """Every song: built-in ones first, then added ones, newest last.

        An added song whose files were damaged or removed by hand is left out, so one broken
        folder never hides the others.
        """
        songs = [self.get(spec["id"]) for spec in builtin_specs()]
        songs_dir = self.user_dir / "songs"
        if songs_dir.is_dir():
            for meta in sorted(songs_dir.glob("*/song.json"), key=lambda p: p.stat().st_mtime):
                try:
                    songs.append(self.get(meta.parent.name))
                except (DrumjamError, OSError, KeyError, ValueError):
                    continue
        return songs

    def get(self, song_id: str) -> Song:
        """The song with this id.

        Raises
        ------
        SongNotFoundError
            If no built-in or added song has the id.
        """
        song = self._cache.get(song_id)
        if song is not None:
            return song
        spec = next((s for s in builtin_specs() if s["id"] == song_id), None)
        if spec is not None:
            song = self._load_builtin(spec)
        else:
            folder = self.user_dir / "songs" / str(song_id)
            if not _safe_id(song_id) or not (folder / "song.json").is_file():
                raise SongNotFoundError(f"no song with id {song_id!r}; list the songs at /api/songs")
            song = _load_user_song(folder)
        self._cache[song_id] = song
        return song

    def _load_builtin(self, spec: dict[str, Any]) -> Song:
        from drumjam.io.midi import read_chart

        folder = builtin_dir() / spec["id"]
        chart = read_chart(folder / "chart.mid")
        chart = Chart(chart.notes, chart.beatmap, title=spec["title"])
        return Song(
            id=spec["id"], title=spec["title"], beatmap=chart.beatmap, chart=chart,
            grid=int(spec["grid"]), audio_path=folder / "backing.ogg", feel=spec["feel"],
            builtin=True,
            credit="Drum part from the Groove MIDI Dataset, Gillick et al. 2019, CC BY 4.0",
        )

    # ------------------------------------------------------------------ audio
    def audio_at_speed(self, song: Song, speed: float) -> Path:
        """The backing track at ``speed`` with its pitch kept (cached after the first call).

        Uses pedalboard's time stretcher; speed 1.0 returns the original file.
        """
        speed = validate_speed(speed)
        if speed == 1.0:
            return song.audio_path
        cache = self.user_dir / "cache" / "stretched"
        cache.mkdir(parents=True, exist_ok=True)
        out = cache / f"{song.id}-{round(speed * 100)}.ogg"
        if out.is_file():
            return out
        import pedalboard

        samples, sr = sf.read(song.audio_path, dtype="float32", always_2d=True)
        stretched = pedalboard.time_stretch(samples.T.copy(), sr, stretch_factor=speed)
        tmp = out.with_name(f"{out.stem}.{secrets.token_hex(4)}.tmp.ogg")  # no clash between requests
        write_ogg(tmp, stretched.T, sr)
        tmp.replace(out)
        return out

    # ------------------------------------------------------------------ adding
    def add(self, filename: str, data: bytes, title: str | None = None) -> Song:
        """Add a song from an uploaded audio or MIDI file or a zipped rhythm-game song folder.

        Audio is analysed into a beat map (scored against a sixteenth-note grid); a MIDI
        file's drum channel becomes the chart and its other channels the backing track; a song
        folder's expert drums become the chart and its other stems the backing track
        (:mod:`drumjam.io.songfolder`).

        Raises
        ------
        FileFormatError
            If the file is neither readable audio, a MIDI file with drums nor a song folder
            with a drum chart and audio.
        """
        name = Path(filename or "upload").name
        suffix = Path(name).suffix.lower()
        if suffix not in AUDIO_SUFFIXES + MIDI_SUFFIXES + FOLDER_SUFFIXES:
            kinds = ", ".join(AUDIO_SUFFIXES + MIDI_SUFFIXES + FOLDER_SUFFIXES)
            raise FileFormatError(name, "is neither an audio file nor a MIDI file nor a zipped "
                                  "song folder", f"upload one of {kinds}")
        if not data:
            raise FileFormatError(name, "empty file", "choose the file again")
        song_id = secrets.token_hex(6)
        folder = self.user_dir / "songs" / song_id
        work = Path(tempfile.mkdtemp(prefix="upload-", dir=self.user_dir))
        try:
            source = work / f"source{suffix}"
            source.write_bytes(data)
            given = (title or "").strip()[:80]
            title = given or Path(name).stem.strip()[:80] or "untitled"
            try:
                if suffix in MIDI_SUFFIXES:
                    meta = _prepare_midi_song(source, work, title)
                elif suffix in FOLDER_SUFFIXES:
                    meta = _prepare_folder_song(source, work, given or None, name)
                else:
                    meta = _prepare_audio_song(source, work, title, name)
            except FileFormatError as exc:  # name the upload, not the temporary copy
                raise FileFormatError(name, exc.problem, exc.fix) from exc
            meta["id"] = song_id
            (work / "song.json").write_text(json.dumps(meta), encoding="utf-8")
            folder.parent.mkdir(parents=True, exist_ok=True)
            work.rename(folder)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        return self.get(song_id)

    # ------------------------------------------------------------------ correcting
    def correct_beatmap(
        self,
        song_id: str,
        *,
        tempo: str | None = None,
        meter: int | None = None,
        downbeat_shift: int = 0,
        offset_ms: float = 0.0,
        reset: bool = False,
    ) -> Song:
        """Fix the analysed beat map of an added audio song by ear; kept for later sessions.

        Parameters
        ----------
        song_id : str
            An added audio song (built-in and MIDI songs have exact beat maps).
        tempo : {"double", "half"}, optional
            The analysis found half (``"double"``) or twice (``"half"``) the real tempo.
        meter : int, optional
            Beats per bar (2-12).
        downbeat_shift : int
            Move "one" this many beats later (negative: earlier).
        offset_ms : float
            Move every beat this much later (negative: earlier), at most 500 ms.
        reset : bool
            Go back to the analysis first.
        """
        song = self.get(song_id)
        folder = self.user_dir / "songs" / song_id
        if song.builtin or song.chart is not None:
            raise InputError(f"{song.title!r} has an exact beat map from its MIDI; only songs "
                             "added as audio can be corrected")
        if meter is not None and not 2 <= int(meter) <= 12:
            raise InputError(f"meter {meter} is out of range; give 2-12 beats per bar")
        if not abs(offset_ms) <= MAX_BEAT_OFFSET_MS:
            raise InputError(f"offset {offset_ms} ms is too large; move the beats at most "
                             f"{MAX_BEAT_OFFSET_MS:.0f} ms at a time")
        meta = json.loads((folder / "song.json").read_text(encoding="utf-8"))
        analysed = meta.setdefault("analysed_beatmap", meta["beatmap"])
        beatmap = BeatMap.from_dict(analysed if reset else meta["beatmap"])
        beatmap = beatmap.corrected(tempo, meter, downbeat_shift, offset_ms / 1000.0)
        meta["beatmap"] = beatmap.to_dict()
        tmp = folder / f"song.{secrets.token_hex(4)}.tmp.json"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        tmp.replace(folder / "song.json")
        self._cache.pop(song_id, None)
        return self.get(song_id)


def _safe_id(song_id: str) -> bool:
    return bool(song_id) and all(c in "0123456789abcdef" for c in song_id) and len(song_id) <= 32


def _prepare_audio_song(source: Path, work: Path, title: str, name: str) -> dict[str, Any]:
    from drumjam.analysis import analyse_audio
    from drumjam.io.audio import load_audio

    try:
        samples, sr = load_audio(source)
    except DrumjamError as exc:
        raise FileFormatError(name, "is not audio drumjam can read",
                              "upload a WAV, FLAC, OGG or MP3 file") from exc
    beatmap = analyse_audio(samples, sr)
    return {"title": title, "kind": "audio", "audio": source.name, "grid": 16,
            "beatmap": beatmap.to_dict(), "source_name": name}


def _prepare_midi_song(source: Path, work: Path, title: str) -> dict[str, Any]:
    from drumjam.io.midi import read_chart, write_backing_midi
    from drumjam.io.render import render_midi

    chart = read_chart(source)
    backing_mid = work / "backing.mid"
    has_backing = write_backing_midi(source, backing_mid)
    audio = work / "backing.ogg"
    end_s = max(chart.beatmap.end_s, chart.duration_s) + 1.0
    if has_backing:
        samples, sr = render_midi(backing_mid, sample_rate=44100)
    else:
        samples, sr = np.zeros(int(end_s * 44100), dtype=np.float32), 44100
    write_ogg(audio, samples, sr)
    return {"title": title, "kind": "midi", "audio": audio.name, "grid": 16,
            "chart": "source" + source.suffix.lower(), "source_name": source.name}


def _unzip(source: Path, into: Path, name: str) -> None:
    """Unpack a zip upload, refusing paths that leave ``into`` and archives too large."""
    import zipfile

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
    except (zipfile.BadZipFile, EOFError) as exc:
        raise FileFormatError(name, f"is not a readable zip file ({exc})", "zip the song's folder again") from None


def _prepare_folder_song(source: Path, work: Path, title: str | None, name: str) -> dict[str, Any]:
    from drumjam.io.midi import write_midi
    from drumjam.io.songfolder import read_song_folder

    unpacked = work / "unpacked"
    _unzip(source, unpacked, name)
    song = read_song_folder(unpacked)
    samples, sr = song.backing_audio()
    end_s = max(song.chart.beatmap.end_s, song.chart.duration_s) + 1.0
    if samples.size < end_s * sr:
        samples = np.pad(samples, (0, int(end_s * sr) - samples.size))
    write_ogg(work / "backing.ogg", samples, sr)
    write_midi(work / "chart.mid", song.chart)
    shutil.rmtree(unpacked, ignore_errors=True)
    source.unlink()
    full_title = title or (f"{song.artist} – {song.title}" if song.artist else song.title)
    return {"title": full_title[:80], "kind": "midi", "audio": "backing.ogg", "grid": 16,
            "chart": "chart.mid", "source_name": name}


def _load_user_song(folder: Path) -> Song:
    from drumjam.io.midi import read_chart

    meta = json.loads((folder / "song.json").read_text(encoding="utf-8"))
    chart = None
    if meta["kind"] == "midi":
        chart = read_chart(folder / meta["chart"])
        chart = Chart(chart.notes, chart.beatmap, title=meta["title"])
        beatmap = chart.beatmap
    else:
        beatmap = BeatMap.from_dict(meta["beatmap"])
    return Song(
        id=meta["id"], title=meta["title"], beatmap=beatmap, chart=chart,
        grid=int(meta.get("grid", 16)), audio_path=folder / meta["audio"], feel="straight",
        builtin=False, credit=f"added from {meta.get('source_name', 'an upload')}",
        corrected=meta.get("analysed_beatmap", meta.get("beatmap")) != meta.get("beatmap"),
    )
