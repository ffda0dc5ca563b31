"""A song is analysed once: beat maps stored by the audio's content hash.

The key is a SHA-256 of the file's bytes (or of the samples and rate), the backend, its
options and :data:`ANALYSIS_VERSION`, so a change of the tracker never serves stale maps.
Entries are JSON files in ``drumjam.paths.cache_dir("beatmaps")``, written atomically: under a
temporary name (:data:`TEMP_NAME`) beside the entry, then renamed. The temporaries a crashed
process left are removed at its first store and then every so often
(:func:`drumjam.leftovers.sweep_if_due`), and when the app starts
(:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from drumjam.leftovers import remove_stale, sweep_if_due
from drumjam.model import BeatMap
from drumjam.paths import cache_dir

log = logging.getLogger("drumjam.analysis")

ANALYSIS_VERSION = "9"
CHUNK_BYTES = 1 << 20
#: An entry in the making: ``tempfile.mkstemp(prefix=".tmp-", suffix=".json")`` puts 8 of its
#: characters (a-z, 0-9 and _) between.
TEMP_NAME = re.compile(r"\.tmp-[a-z0-9_]{8}\.json")


def file_digest(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def samples_digest(samples: np.ndarray, sr: int) -> str:
    """SHA-256 hex digest of float32 samples and their rate."""
    h = hashlib.sha256(np.ascontiguousarray(samples, dtype=np.float32).tobytes())
    h.update(f"|{int(sr)}".encode())
    return h.hexdigest()


def cache_key(content_digest: str, backend: str, options: str = "") -> str:
    """The cache key of one analysis of one piece of audio."""
    text = f"{content_digest}|{backend}|{options}|v{ANALYSIS_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()


def cache_path(key: str) -> Path:
    """Where the beat map of ``key`` lives."""
    return cache_dir("beatmaps") / f"{key}.json"


def load(key: str) -> BeatMap | None:
    """The cached beat map of ``key``, or None (also for an unreadable entry or cache)."""
    try:
        path = cache_path(key)
        if not path.is_file():
            return None
        return BeatMap.from_dict(json.loads(path.read_text()))
    except (ValueError, OSError):
        return None


def store(key: str, beatmap: BeatMap) -> Path | None:
    """Store a beat map under ``key`` (atomic: a reader sees the old entry or the new one).

    The cache only saves time: where it cannot be written (the data folder is a file, full
    or read-only) a warning is logged and None returned, and the analysis goes on.
    """
    try:
        path = cache_path(key)
        sweep_if_due(path.parent, TEMP_NAME)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")  # a TEMP_NAME
    except OSError as exc:
        log.warning("beat maps are not cached: %s", exc)
        return None
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(beatmap.to_dict(), fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_stale_temporaries() -> list[Path]:
    """Delete the entries in the making that crashed processes left in the beat-map cache
    (:data:`TEMP_NAME`, untouched for :data:`drumjam.leftovers.STALE_S`); what was deleted.
    A cache folder that cannot be made or read is logged and passed over."""
    try:
        folder = cache_dir("beatmaps")
    except OSError as exc:
        log.warning("leftovers of crashed processes not looked for in the beat-map cache: %s", exc)
        return []
    return remove_stale(folder, TEMP_NAME)
