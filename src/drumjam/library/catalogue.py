"""The song catalogue: the built-in songs and the songs people add, kept in the database.

A song is a backing track (audio without drums) plus what to play against it: a drum chart,
or, for an audio file a person brings, the song's beat map and a grid to play on. Built-in
songs live in ``drumjam/data/songs/<id>/`` (``chart.mid`` and ``backing.ogg``, made by
``scripts/build_songs.py``) and are described by its ``songs.json``. An added song's files
live in ``<user_dir>/songs/<id>/``; what it is (title, kind, beat map and its corrections)
is a row of the ``songs`` table, in the same database as the sessions and lessons.

An added audio song also gets its own drum part as a chart: the drums inside the mix are
transcribed (:func:`drumjam.analysis.transcribe.transcribe`) in the background after the song
is added, into ``drum_part.mid`` in its folder, and the row's ``drum_part`` says how far that
is (``pending``, ``ready``, ``empty`` when no drums were heard, ``failed``). Players then choose
to play on the grid or against the drum part (:meth:`SongLibrary.with_drum_part`).

What a crashed process left in the making (an upload's work folder, a drum part's temporary,
a stretched copy's) is removed by :meth:`SongLibrary.remove_stale_temporaries` (the app calls
it as it starts; adding a song and making a drum part look where they write).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from drumjam.errors import DrumjamError, FileFormatError, InputError, NotFoundError
from drumjam.leftovers import entries, remove_stale, sweep_if_due
from drumjam.library.importers import prepare_song
from drumjam.library.media import remove_stale_temporaries, stretched_audio
from drumjam.model import BeatMap, Chart
from drumjam.session.live import clean_name
from drumjam.store.db import Base, session_scope

#: Largest move of a song's beats in one correction (ms).
MAX_BEAT_OFFSET_MS = 500.0
#: The transcribed drum part of an added audio song, in its folder.
DRUM_PART_FILE = "drum_part.mid"
#: A drum part in the making, in the song's folder: ``drum_part.mid.<8 hex>.tmp``.
DRUM_PART_TEMP = re.compile(re.escape(DRUM_PART_FILE) + r"\.[0-9a-f]{8}\.tmp")
#: An upload's work folder in the making, in ``user_dir``: ``tempfile.mkdtemp(prefix="upload-")``
#: adds 8 of its characters (a-z, 0-9 and _).
UPLOAD_WORK = re.compile(r"upload-[a-z0-9_]{8}")
#: An added song's folder name (its id) in ``user_dir/songs``.
SONG_ID = re.compile(r"[0-9a-f]{12}")
PENDING, READY, EMPTY, FAILED = "pending", "ready", "empty", "failed"

log = logging.getLogger("drumjam.library")


class SongNotFoundError(NotFoundError):
    """No song has the id asked for."""


def upload_error(exc: FileFormatError, name: str, copy: Path) -> FileFormatError:
    """``exc`` as the person who uploaded ``name`` reads it: naming the upload, and no path
    on the server.

    Parameters
    ----------
    exc : FileFormatError
        Raised reading ``copy``; its problem may quote paths (libsndfile's ``Error opening
        b'/tmp/.../source.mp3'``).
    name : str
        The upload's own name.
    copy : Path
        The upload's temporary copy: it and its folder are shown as ``name``, any other file
        in the folder (made from the upload) by its path inside the folder.

    Returns
    -------
    FileFormatError
        Of ``exc``'s class.
    """
    folder = str(copy.parent)
    # as text, and as a bytes path's repr shows it (non-ASCII escaped)
    forms = "|".join(re.escape(f) for f in sorted({folder, repr(os.fsencode(folder))[2:-1]},
                                                   key=len, reverse=True))
    paths = re.compile(rf"b?'(?:{forms})([^']*)'|b?\"(?:{forms})([^\"]*)\""
                       rf"|(?:{forms})((?:[^\s'\"]*[^\s'\".,;:)])?)")

    def shown(match: re.Match[str]) -> str:
        inside = next(g for g in match.groups() if g is not None).lstrip("/\\")
        text = name if inside in ("", copy.name) else inside
        return text if match.group(3) is not None else repr(text)

    return type(exc)(name, paths.sub(shown, exc.problem), paths.sub(shown, exc.fix))


def _now() -> datetime:
    return datetime.now(UTC)


class SongRow(Base):
    """An added song: where its files are and what to play against them."""

    __tablename__ = "songs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    #: "audio" (played on the grid of ``beatmap``) or "midi" (played against ``chart``).
    kind: Mapped[str] = mapped_column(String(8))
    audio: Mapped[str] = mapped_column(String(200))
    chart: Mapped[str | None] = mapped_column(String(200), nullable=True)
    grid: Mapped[int] = mapped_column(Integer, default=16)
    beatmap: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    #: The beat map as analysed, kept once the person corrected ``beatmap`` by ear.
    analysed_beatmap: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    source_name: Mapped[str] = mapped_column(String(300), default="")
    #: The transcribed drum part of an audio song: None, "pending", "ready", "empty", "failed".
    drum_part: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


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
    #: An added audio song's own drum part, transcribed from the mix, on ``beatmap``.
    drum_part: Chart | None = None
    #: How far its transcription is: None (none made), "pending", "ready", "empty", "failed".
    drum_part_status: str | None = None

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
            "drum_part": self.drum_part_status,
            "drum_part_notes": len(self.drum_part) if self.drum_part is not None else 0,
        }


def builtin_dir() -> Path:
    """Folder of the built-in songs inside the package."""
    return Path(str(resources.files("drumjam") / "data" / "songs"))


def builtin_specs() -> list[dict[str, Any]]:
    """The entries of ``songs.json``: how each built-in song is made and named."""
    return json.loads((builtin_dir() / "songs.json").read_text(encoding="utf-8"))["songs"]


class SongLibrary:
    """Built-in songs plus the songs added to the database, with their files under ``user_dir``.

    Parameters
    ----------
    user_dir : Path
        Where added songs' files and stretched audio are kept (created on use).
    url : str, optional
        Database of the catalogue (default: :func:`drumjam.paths.db_url`).
    """

    def __init__(self, user_dir: Path, *, url: str | None = None) -> None:
        self.user_dir = Path(user_dir)
        self.url = url
        self._cache: dict[str, Song] = {}
        self._drum_jobs: ThreadPoolExecutor | None = None
        self._drum_progress: dict[str, float] = {}

    # ------------------------------------------------------------------ reading
    def list(self) -> list[Song]:
        """Every song: built-in ones first, then added ones, oldest first.

        An added song whose files were damaged or removed by hand is left out, so one broken
        folder never hides the others.
        """
        songs = [self.get(spec["id"]) for spec in builtin_specs()]
        with session_scope(self.url) as db:
            ids = db.scalars(select(SongRow.id).order_by(SongRow.created_at, SongRow.id)).all()
        for song_id in ids:
            try:
                songs.append(self.get(song_id))
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
            song = self._load_added(self._row(song_id))
        if song.drum_part_status != PENDING:  # a pending song changes when its drum part is made
            self._cache[song_id] = song
        return song

    def _row(self, song_id: str) -> SongRow:
        with session_scope(self.url) as db:
            row = db.get(SongRow, str(song_id)[:32])
        if row is None:
            raise SongNotFoundError(f"no song with id {song_id!r}; list the songs at /api/songs")
        return row

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

    def _load_added(self, row: SongRow) -> Song:
        from drumjam.io.midi import read_chart

        folder = self.user_dir / "songs" / row.id
        chart = drum_part = None
        if row.kind == "midi":
            chart = read_chart(folder / row.chart)
            chart = Chart(chart.notes, chart.beatmap, title=row.title)
            beatmap = chart.beatmap
        else:
            beatmap = BeatMap.from_dict(row.beatmap)
        if row.drum_part == READY:  # the notes' times are the mix's, on today's beat map
            drum_part = Chart(read_chart(folder / DRUM_PART_FILE).notes, beatmap,
                              title=f"{row.title} (drum part)")
        return Song(
            id=row.id, title=row.title, beatmap=beatmap, chart=chart, grid=int(row.grid),
            audio_path=folder / row.audio, feel="straight", builtin=False,
            credit=f"added from {row.source_name or 'an upload'}",
            corrected=row.analysed_beatmap is not None and row.analysed_beatmap != row.beatmap,
            drum_part=drum_part, drum_part_status=row.drum_part,
        )

    # ------------------------------------------------------------------ audio
    def audio_at_speed(self, song: Song, speed: float) -> Path:
        """The backing track at ``speed`` with its pitch kept (cached after the first call)."""
        return stretched_audio(song.audio_path, speed, cache_dir=self._stretch_dir, key=song.id)

    @property
    def _stretch_dir(self) -> Path:
        return self.user_dir / "cache" / "stretched"

    # ------------------------------------------------------------------ leftovers
    def remove_stale_temporaries(self) -> list[Path]:
        """Delete what crashed processes left in the making in this library's folders.

        Only what drumjam makes, where it makes it, and untouched for
        :data:`drumjam.leftovers.STALE_S` (another process may be making one now): upload
        work folders (:data:`UPLOAD_WORK`) directly in ``user_dir``, drum parts in the making
        (:data:`DRUM_PART_TEMP`) directly in an added song's folder, and stretched copies in
        the making in the stretch cache (:func:`drumjam.library.media.remove_stale_temporaries`).
        A folder that cannot be read is logged and passed over.

        Returns
        -------
        list of Path
            What was deleted.
        """
        removed = remove_stale(self.user_dir, UPLOAD_WORK, folders=True)
        for song in entries(self.user_dir / "songs"):
            if SONG_ID.fullmatch(song.name) and song.is_dir(follow_symlinks=False):
                removed += remove_stale(Path(song.path), DRUM_PART_TEMP)
        return removed + remove_stale_temporaries(self._stretch_dir)

    # ------------------------------------------------------------------ adding
    def add(self, filename: str, data: bytes, title: str | None = None) -> Song:
        """Add a song from an uploaded audio or MIDI file or a zipped rhythm-game song folder.

        The files are made by :func:`drumjam.library.importers.prepare_song` in a work
        folder, which becomes the song's folder only once the song is readable; then the
        song is entered in the catalogue.

        Raises
        ------
        FileFormatError
            If the upload is not a song drumjam can read (see ``prepare_song``).
        """
        name = clean_name(Path(filename or "upload").name, "", max_chars=None)
        name = name if name and not name.startswith(".") else f"upload{name}"  # ".mid": a suffix
        title = None if title is None else clean_name(title, "", max_chars=None) or None
        song_id = secrets.token_hex(6)
        folder = self.user_dir / "songs" / song_id
        self.user_dir.mkdir(parents=True, exist_ok=True)
        sweep_if_due(self.user_dir, UPLOAD_WORK, folders=True)  # a crashed upload's
        work = Path(tempfile.mkdtemp(prefix="upload-", dir=self.user_dir))  # an UPLOAD_WORK
        try:
            made = prepare_song(name, data, title, work)
            folder.parent.mkdir(parents=True, exist_ok=True)
            work.rename(folder)
            try:
                with session_scope(self.url) as db:
                    db.add(SongRow(id=song_id, title=made.title, kind=made.kind, audio=made.audio,
                                   chart=made.chart, grid=made.grid, beatmap=made.beatmap,
                                   source_name=made.source_name[:300],
                                   drum_part=PENDING if made.kind == "audio" else None))
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        except FileFormatError as exc:  # read from prepare_song's copy, source.<suffix>
            raise upload_error(exc, name, work / f"source{Path(name).suffix.lower()}") from exc
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        if made.kind == "audio":
            self._queue_drum_part(song_id)
        return self.get(song_id)

    # ------------------------------------------------------------------ drum parts
    def _queue_drum_part(self, song_id: str) -> None:
        if self._drum_jobs is None:
            self._drum_jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drum-part")
        self._drum_progress[song_id] = 0.0
        self._drum_jobs.submit(self._make_drum_part, song_id)

    def _make_drum_part(self, song_id: str) -> None:
        """Transcribe the drums of an added audio song into ``drum_part.mid`` (a job thread)."""
        from drumjam.analysis.transcribe import transcribe
        from drumjam.io.midi import write_midi
        from drumjam.model import Note

        status = FAILED
        try:
            row = self._row(song_id)
            folder = self.user_dir / "songs" / song_id
            take = transcribe(folder / row.audio, player=row.title,
                              progress=lambda done: self._drum_progress.__setitem__(song_id, done))
            notes = tuple(Note(h.time_s, h.voice, h.velocity) for h in take.hits)
            remove_stale(folder, DRUM_PART_TEMP)  # a crashed process's attempt
            tmp = folder / f"{DRUM_PART_FILE}.{secrets.token_hex(4)}.tmp"  # a DRUM_PART_TEMP
            try:
                write_midi(tmp, Chart(notes, BeatMap.from_dict(row.beatmap), title=row.title))
                tmp.replace(folder / DRUM_PART_FILE)
            finally:
                tmp.unlink(missing_ok=True)
            status = READY if notes else EMPTY
        except Exception:  # noqa: BLE001 - the song stays playable on its grid; the reason is logged
            log.exception("the drum part of song %s could not be made", song_id)
        try:
            with session_scope(self.url) as db:
                row = db.get(SongRow, song_id)
                if row is not None:
                    row.drum_part = status
        finally:
            self._drum_progress.pop(song_id, None)
            self._cache.pop(song_id, None)

    def drum_part_progress(self, song_id: str) -> float | None:
        """Share of the song transcribed so far (0-1), while its drum part is being made."""
        return self._drum_progress.get(song_id)

    def resume_drum_parts(self) -> int:
        """Transcribe again the drum parts left ``pending`` by a stop; how many were queued."""
        with session_scope(self.url) as db:
            ids = db.scalars(select(SongRow.id).where(SongRow.drum_part == PENDING)).all()
        for song_id in ids:
            if song_id not in self._drum_progress:
                self._queue_drum_part(song_id)
        return len(ids)

    def wait_for_drum_parts(self) -> None:
        """Let the drum parts being made finish (a stopping app; tests)."""
        if self._drum_jobs is not None:
            self._drum_jobs.shutdown(wait=True)
            self._drum_jobs = None

    def with_drum_part(self, song: Song) -> Song:
        """The song played against its own drum part instead of its grid.

        Raises
        ------
        InputError
            If the song has no drum part (yet), saying why.
        """
        if song.drum_part is not None:
            return replace(song, chart=song.drum_part)
        reasons = {PENDING: "is still being transcribed; try again in a moment",
                   EMPTY: "has no drums that could be heard", FAILED: "could not be transcribed"}
        why = reasons.get(song.drum_part_status, "has no drum part (only added audio songs have one)")
        raise InputError(f"{song.title!r} {why}; play it on the grid")

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
        if song.builtin or song.chart is not None:
            raise InputError(f"{song.title!r} has an exact beat map from its MIDI; only songs "
                             "added as audio can be corrected")
        if meter is not None and not 2 <= int(meter) <= 12:
            raise InputError(f"meter {meter} is out of range; give 2-12 beats per bar")
        if not abs(offset_ms) <= MAX_BEAT_OFFSET_MS:
            raise InputError(f"offset {offset_ms} ms is too large; move the beats at most "
                             f"{MAX_BEAT_OFFSET_MS:.0f} ms at a time")
        with session_scope(self.url) as db:
            row = db.get(SongRow, song_id, with_for_update=True)
            if row.analysed_beatmap is None:
                row.analysed_beatmap = row.beatmap
            beatmap = BeatMap.from_dict(row.analysed_beatmap if reset else row.beatmap)
            row.beatmap = beatmap.corrected(tempo, meter, downbeat_shift, offset_ms / 1000.0).to_dict()
        self._cache.pop(song_id, None)
        return self.get(song_id)
