"""A played take from a file: a MIDI take as it is, a recording through drum transcription.

Every command and upload that accepts a take calls :func:`load_take`, so wherever a MIDI take
goes, a recording of an acoustic kit (WAV, FLAC, OGG, MP3) goes too. The file's contents decide,
not its name: a Standard MIDI File starts with ``MThd``; anything libsndfile can read is audio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal


from drumjam.analysis import analyse_audio
from drumjam.analysis.transcribe import transcribe
from drumjam.errors import AudioFileError, FileFormatError
from drumjam.io.audio import audio_info, check_holds_audio
from drumjam.io.midi import read_take
from drumjam.model import KitMap, Take

MIDI_SUFFIXES = (".mid", ".midi")
#: What a take can be, for people reading an error.
TAKE_KINDS = "a MIDI take (.mid) or a recording (WAV, FLAC, OGG or MP3)"

TakeKind = Literal["midi", "audio"]


def take_kind(path: str | Path) -> TakeKind:
    """Whether a file is a MIDI take or a recording to transcribe.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    {"midi", "audio"}

    Raises
    ------
    FileFormatError
        Naming the file, if it is missing, a folder, empty, or neither MIDI nor readable audio.
    """
    p = Path(path)
    if not p.exists():
        raise FileFormatError(p, "no such file", f"check the path; give {TAKE_KINDS}")
    if not p.is_file():
        raise FileFormatError(p, "is a folder, not a take", f"give {TAKE_KINDS}")
    with p.open("rb") as f:
        head = f.read(4)
    if not head:
        raise FileFormatError(p, "empty file", "record or export the take again")
    if head == b"MThd" or p.suffix.lower() in MIDI_SUFFIXES:
        return "midi"  # a .mid without its header gets read_take's own error
    try:
        audio_info(p)
    except AudioFileError:
        raise FileFormatError(p, "is neither a MIDI file nor audio drumjam can read",
                              f"give {TAKE_KINDS}") from None
    return "audio"


def load_take(
    path: str | Path,
    *,
    kit_map: KitMap | str | None = None,
    channel: int | None = None,
    player: str | None = None,
    find_beats: bool = False,
    progress: Callable[[float], None] | None = None,
) -> Take:
    """Read a played take from a MIDI file or transcribe it from a recording.

    Parameters
    ----------
    path : str or Path
        A MIDI file, or an audio file (WAV, FLAC, OGG, MP3) of the drums.
    kit_map : KitMap or str, optional
        MIDI only: the note map of the kit that recorded it.
    channel : int, optional
        MIDI only: the drum channel 1-16 (found by default).
    player : str, optional
        Name of the player (default: the file name).
    find_beats : bool
        Audio only: also find the recording's beat map (beats, bars, tempo) by beat tracking,
        for scoring on a grid or making a lesson without a given tempo. A MIDI take always has
        its file's beat map.
    progress : callable, optional
        Audio only: called with the share transcribed (0-1) as the recording is read.

    Returns
    -------
    Take
        The hits in time order, on the file's (or the found) beat map where there is one.

    Raises
    ------
    FileFormatError
        Naming the file, if it is missing, unreadable or neither MIDI nor audio
        (:class:`~drumjam.errors.MidiFileError` and :class:`~drumjam.errors.AudioFileError`
        for a broken MIDI or audio file, a recording that holds no samples or a WAV file
        cut short). A silent recording is no error: its take has no hits.
    """
    p = Path(path)
    if take_kind(p) == "midi":
        return read_take(p, kit_map=kit_map, channel=channel, player=player)
    check_holds_audio(p)  # transcription takes an empty file for silence: 0 hits
    take = transcribe(p, player=player or p.stem, progress=progress)
    # the take is scored against its own steady pulse, not a pulse that follows its hits
    return replace(take, beatmap=analyse_audio(p, follow_played=False)) if find_beats else take
