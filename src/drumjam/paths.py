"""Where drumjam keeps its data: ``DRUMJAM_HOME`` and ``DRUMJAM_DB_URL``."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home_dir() -> Path:
    """The data folder (``$DRUMJAM_HOME``, default: the user data directory), created on use."""
    env = os.environ.get("DRUMJAM_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("drumjam"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(kind: str) -> Path:
    """A cache sub-folder of the data folder, e.g. ``cache_dir("beatmaps")``."""
    path = home_dir() / "cache" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_url() -> str:
    """The database URL (``$DRUMJAM_DB_URL``, default: SQLite in the data folder)."""
    return os.environ.get("DRUMJAM_DB_URL") or f"sqlite:///{home_dir() / 'drumjam.sqlite3'}"
