"""What a crashed process left in drumjam's own folders: found by its exact name, and removed.

drumjam writes a file (a stretched copy, a cached beat map, a drum part) under a temporary
name beside it and renames it once whole, and unpacks an upload in a work folder that
becomes the song's folder; a process killed in the middle leaves the temporary behind.
:func:`remove_stale` removes such leftovers, and nothing else: only entries directly in the
one folder given, named exactly as drumjam names them (one pattern per kind), of the kind
expected (a plain file, or a folder, never a link), and untouched for :data:`STALE_S` (another
process, even another server on the same ``DRUMJAM_HOME``, may be writing one right now).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import threading
import time
from pathlib import Path

log = logging.getLogger("drumjam.leftovers")

#: Seconds a temporary may go unmodified before it counts as a crashed process's: each one is
#: written every few seconds while it is being made, whichever process makes it.
STALE_S = 3600.0
#: Seconds between one process's looks for leftovers in one folder (:func:`sweep_if_due`).
SWEEP_EVERY_S = 600.0


def remove_stale(folder: Path, name: re.Pattern[str], *, folders: bool = False,
                 older_than_s: float = STALE_S, now: float | None = None) -> list[Path]:
    """Delete the leftovers named ``name`` directly in ``folder``, untouched for a while.

    Parameters
    ----------
    folder : Path
        A folder drumjam makes and owns (not one a person chose).
    name : re.Pattern
        The whole name drumjam gives the temporary (``fullmatch``), as exact as it is made.
    folders : bool
        The temporaries are folders (removed with what they hold) instead of plain files.
    older_than_s : float
        Seconds since the last modification after which a temporary counts as left behind;
        for a folder, the last modification of anything in it.
    now : float, optional
        The time now (seconds since the epoch; default: the clock's).

    Returns
    -------
    list of Path
        What was deleted. Nothing where ``folder`` does not exist; where it cannot be read,
        that is logged and nothing deleted (the clean-up never stops what asked for it).
    """
    now = time.time() if now is None else now
    removed = []
    for entry in entries(folder):
        if not name.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if folders:
                if not stat.S_ISDIR(info.st_mode) or now - _newest_mtime(entry.path) < older_than_s:
                    continue
                shutil.rmtree(entry.path)
            else:
                if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < older_than_s:
                    continue
                os.unlink(entry.path)
        except OSError:  # removed by another process just now, or not ours to remove
            continue
        log.info("removed %s, left by a crashed process", entry.path)
        removed.append(Path(entry.path))
    return removed


def entries(folder: Path) -> list[os.DirEntry[str]]:
    """What is directly in ``folder``, to look for leftovers in: none where it does not exist,
    and none where it cannot be read (logged as a warning)."""
    try:
        return list(os.scandir(folder))
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("leftovers of crashed processes not looked for in %s: %s", folder, exc)
        return []


def _newest_mtime(folder: str) -> float:
    """The latest modification time of ``folder`` and of everything in it (links not followed).

    Raises
    ------
    OSError
        If any of it cannot be read (its age is then unknown, and it stays).
    """
    newest = os.stat(folder, follow_symlinks=False).st_mtime

    def unreadable(exc: OSError) -> None:
        raise exc

    for top, dirs, files in os.walk(folder, onerror=unreadable):
        for entry in (*dirs, *files):
            newest = max(newest, os.stat(os.path.join(top, entry), follow_symlinks=False).st_mtime)
    return newest


#: When this process last looked for each kind of leftover in each folder (monotonic s).
_SWEPT: dict[tuple[Path, str, bool], float] = {}
_SWEPT_LOCK = threading.Lock()


def sweep_if_due(folder: Path, name: re.Pattern[str], *, folders: bool = False,
                 every_s: float = SWEEP_EVERY_S) -> list[Path]:
    """:func:`remove_stale` at this process's first use of ``folder`` for ``name``, then at
    most every ``every_s`` seconds (nothing is done, and nothing returned, in between)."""
    key = (folder.absolute(), name.pattern, folders)
    with _SWEPT_LOCK:
        last = _SWEPT.get(key)
        if last is not None and time.monotonic() - last < every_s:
            return []
        _SWEPT[key] = time.monotonic()
    return remove_stale(folder, name, folders=folders)
