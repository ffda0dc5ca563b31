"""The song library: the catalogue of songs (:mod:`.catalogue`), the importers that turn an
uploaded file into a song's files (:mod:`.importers`) and the backing-track audio (:mod:`.media`)."""

from drumjam.library.catalogue import (
    Song,
    SongLibrary,
    SongNotFoundError,
    SongRow,
    builtin_dir,
    builtin_specs,
)
from drumjam.library.media import validate_speed, write_ogg

__all__ = [
    "Song",
    "SongLibrary",
    "SongNotFoundError",
    "SongRow",
    "builtin_dir",
    "builtin_specs",
    "validate_speed",
    "write_ogg",
]
