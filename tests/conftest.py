"""Shared fixtures: the data folder beside the repository, a private DRUMJAM_HOME, and a fresh
database on each backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pgserver
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from drumjam.store.db import dispose_engine

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GROOVE_MIDI = SHARED_DATA / "groove-midi"
BEATS = SHARED_DATA / "beats"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (groove-midi/ and beats/)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def groove_midi(shared_data: Path) -> Path:
    """The Groove MIDI Dataset subset."""
    return shared_data / "groove-midi"


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own DRUMJAM_HOME and database unless it sets them itself."""
    home = tmp_path_factory.mktemp("drumjam-home")
    monkeypatch.setenv("DRUMJAM_HOME", str(home))
    monkeypatch.delenv("DRUMJAM_DB_URL", raising=False)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """A PostgreSQL server for the run: ``$DRUMJAM_TEST_PG_URL`` (scripts/test.sh starts one),
    else one started here; the tests that need it are skipped, with the reason, only when
    none can be started."""
    url = os.environ.get("DRUMJAM_TEST_PG_URL")
    if url:
        yield url
        return
    try:
        folder, url = pgserver.start()
    except pgserver.Unavailable as exc:
        pytest.skip(f"PostgreSQL backend not tested: {exc}")
    yield url
    pgserver.stop(folder)


def _admin(url: str, sql: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL of a new, empty database on each backend (test ids ``[sqlite]``,
    ``[postgresql]``), also set as ``DRUMJAM_DB_URL``; dropped after the test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'drumjam.sqlite3'}"
        monkeypatch.setenv("DRUMJAM_DB_URL", url)
        yield url
        dispose_engine(url)
        return
    admin = request.getfixturevalue("pg_admin_url")
    name = f"drumjam_test_{secrets.token_hex(6)}"
    _admin(admin, f"CREATE DATABASE {name}")
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("DRUMJAM_DB_URL", url)
    yield url
    dispose_engine(url)
    _admin(admin, f"DROP DATABASE {name} WITH (FORCE)")
