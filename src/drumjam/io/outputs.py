"""Files drumjam writes because a person asked for them: checked before the work, written whole.

:func:`checked_output` refuses an output path before any work is done on its account: a
suffix that does not name what is written, a folder, a folder that cannot be made or written
to, a name the file system cannot take, or one of the command's own inputs (written over, the
recording or take would be lost). :func:`replacing` writes through a temporary file beside the
output, moved into place only once complete: a write that fails leaves the old file as it was.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from drumjam.errors import InputError


def checked_output(path: str | Path, *, suffixes: tuple[str, ...],
                   inputs: Iterable[str | Path | None] = (), option: str = "--out") -> Path:
    """The output path, once it is known that the file can be written there.

    Parameters
    ----------
    path : str or Path
        Where the output is to go.
    suffixes : tuple of str
        The suffixes of what is written (lower case, with the dot; the first one is suggested).
    inputs : iterable of str or Path or None
        The files the command reads (None: not given): the output may not be one of them.
    option : str
        The option that gave the path, for the message.

    Returns
    -------
    Path

    Raises
    ------
    InputError
        Naming the path and what to do instead.
    """
    out = Path(path)
    try:
        os.fsencode(out).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{option} {str(out)!r}: the name is not valid UTF-8; "
                         "give a name of plain letters, digits and punctuation") from None
    if out.is_dir():
        raise InputError(f"{option} {out} is a folder; give a file name in it, "
                         f"e.g. {out / ('drumjam' + suffixes[0])}")
    if out.suffix.lower() not in suffixes:
        raise InputError(f"{option} {out}: drumjam writes {' or '.join(suffixes)} here; "
                         f"give a name ending in {suffixes[0]}")
    for given in inputs:
        if given is not None and out.exists() and Path(given).exists() \
                and os.path.samefile(out, given):
            raise InputError(f"{option} {out} is the input {given}: writing it would lose it; "
                             "give another name")
    folder = out.parent
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    try:
        if blocking is not None:
            raise NotADirectoryError(0, f"{blocking} is a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".drumjam-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{option} {out}: cannot write in the folder {folder} ({reason}); "
                         "give a path in a folder you can write to") from None
    return out


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to, moved onto ``path`` once the block ends
    without an error (removed if it raises).

    The temporary name keeps the suffix, so writers that choose the format by it (audio,
    MIDI) write what ``path`` names.

    Examples
    --------
    >>> with replacing("take.mid") as tmp:  # doctest: +SKIP
    ...     write_midi(tmp, take)
    """
    out = Path(path)
    tmp = out.with_name(f".{out.stem}.{secrets.token_hex(4)}.tmp{out.suffix}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
