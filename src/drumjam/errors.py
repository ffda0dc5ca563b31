"""Project exceptions.

Every error a person can cause (a bad file, an absurd value) is a :class:`DrumjamError`
carrying a message that names the thing, the problem and the fix. Each also subclasses the
matching built-in so that library users can catch ``ValueError`` or ``OSError`` as usual.
"""

from __future__ import annotations

from pathlib import Path


class DrumjamError(Exception):
    """Base class of every drumjam error meant for a person to read."""


class InputError(DrumjamError, ValueError):
    """A value given to drumjam is out of range or of the wrong kind."""


class NotFoundError(InputError):
    """Nothing answers to the name, id or code asked for (a 404 in the jam app)."""


class FileFormatError(DrumjamError, ValueError):
    """A file could not be read as what it claims to be.

    Parameters
    ----------
    path : str or Path
        The offending file.
    problem : str
        What is wrong, e.g. ``"not a MIDI file"``.
    fix : str, optional
        What the person can do about it.
    """

    def __init__(self, path: str | Path, problem: str, fix: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        message = f"{self.path}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class MidiFileError(FileFormatError):
    """A MIDI file is missing, unreadable or holds nothing drumjam can use."""


class ChartError(FileFormatError):
    """A chart (the notes to play) is unusable, e.g. it does not overlap the take."""


class AudioFileError(FileFormatError):
    """An audio file is unreadable, empty, silent or too long."""
