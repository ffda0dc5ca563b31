"""What a batch works on: items from a folder, a glob pattern or a CSV manifest."""

from __future__ import annotations

import csv
import glob
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from drumjam.errors import FileFormatError, InputError

MIDI_SUFFIXES = (".mid", ".midi")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")
#: Command -> (files it reads, manifest columns it needs, optional manifest columns).
COMMANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "score": (MIDI_SUFFIXES + AUDIO_SUFFIXES, ("take",), ("chart", "grid")),
    "duet": (MIDI_SUFFIXES + AUDIO_SUFFIXES, ("take_a", "take_b"), ("chart", "grid")),
    "analyze": (AUDIO_SUFFIXES, ("audio",), ("meter",)),
    "transcribe": (AUDIO_SUFFIXES, ("audio",), ()),
}


@dataclass(frozen=True)
class Item:
    """One unit of work: its key in the result table and the files and options it uses.

    Parameters
    ----------
    key : str
        The item's name in the result table: the file, or ``"A | B"`` for a duet.
    paths : tuple of str
        The take(s) or audio file.
    options : dict
        Per-item options from the manifest (``chart``, ``grid``, ``meter``).
    """

    key: str
    paths: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)


def _check_command(command: str) -> None:
    if command not in COMMANDS:
        raise InputError(f"unknown batch command {command!r}; use one of {', '.join(COMMANDS)}")


def collect_items(command: str, source: str) -> list[Item]:
    """The items of a batch, sorted by key.

    Parameters
    ----------
    command : {"score", "duet", "analyze", "transcribe"}
        What to do with each item.
    source : str
        A folder (searched recursively for the command's files), a glob pattern
        (``"takes/**/*.mid"``) or a CSV manifest (``.csv``) with the command's columns:
        ``take`` (score), ``take_a`` and ``take_b`` (duet), ``audio`` (analyze, transcribe);
        optional ``chart``, ``grid`` (score, duet) and ``meter`` (analyze). Relative paths in a
        manifest are relative to the manifest's folder. A folder or glob given to ``duet``
        pairs the files that share a file name (the same groove played by several drummers).

    Raises
    ------
    InputError
        If the source matches no files, or a duet folder has no file name twice.
    FileFormatError
        If a manifest is unreadable, lacks a column or has no rows. A file it names that does
        not exist is that item's error in the result table.
    """
    _check_command(command)
    suffixes = COMMANDS[command][0]
    path = Path(source).expanduser()
    if path.suffix.lower() == ".csv":
        return _from_manifest(command, path)
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
        what = f"folder {source}"
    else:
        files = sorted(p for p in glob.glob(str(path), recursive=True)
                       if Path(p).suffix.lower() in suffixes and Path(p).is_file())
        what = f"pattern {source!r}"
    if not files:
        raise InputError(f"{what} holds no {'/'.join(suffixes)} files for `batch {command}`; "
                         "give a folder, a glob pattern such as 'takes/**/*.mid' or a CSV manifest")
    if command == "duet":
        return _pairs(files, what)
    return [Item(key=f, paths=(f,)) for f in files]


def _pairs(files: list[str], what: str) -> list[Item]:
    by_name: dict[str, list[str]] = defaultdict(list)
    for f in files:
        by_name[Path(f).name].append(f)
    items = [Item(key=f"{a} | {b}", paths=(a, b))
             for group in by_name.values() for a, b in itertools.combinations(group, 2)]
    if not items:
        raise InputError(f"{what}: no file name occurs twice, so no duets pair up; give a CSV "
                         "manifest with columns take_a,take_b")
    return sorted(items, key=lambda item: item.key)


def _from_manifest(command: str, manifest: Path) -> list[Item]:
    _, needed, optional = COMMANDS[command]
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in reader.fieldnames or []]
            rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    except FileNotFoundError:
        raise FileFormatError(manifest, "does not exist", "give the path of a CSV manifest") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FileFormatError(manifest, f"is not a readable CSV file ({exc})",
                              "save it as CSV (UTF-8)") from None
    missing = [c for c in needed if c not in columns]
    if missing:
        raise FileFormatError(manifest, f"has no column {', '.join(missing)} (columns: "
                              f"{', '.join(columns) or 'none'})",
                              f"`batch {command}` needs {', '.join(needed)}; optional: "
                              f"{', '.join(optional) or 'none'}")
    if not rows:
        raise FileFormatError(manifest, "has no rows", "list one item per row under the header")
    base = manifest.parent
    items = []
    for row in rows:  # a file that is missing fails its own item, not the batch
        paths = tuple(_resolve(base, row.get(column, "")) for column in needed)
        options = {k: row[k] for k in optional if row.get(k)}
        if "chart" in options:
            options["chart"] = _resolve(base, options["chart"])
        items.append(Item(key=" | ".join(paths), paths=paths, options=options))
    return items


def _resolve(base: Path, given: str) -> str:
    return given if not given or Path(given).is_absolute() else str(base / given)
