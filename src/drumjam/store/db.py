"""Engine, sessions and the declarative base shared by every table of drumjam.

Table modules (sessions, lessons, ...) define their classes on :class:`Base`; importing them
before :func:`get_engine` creates their tables.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from drumjam.paths import db_url


class Base(DeclarativeBase):
    """Declarative base of every drumjam table."""


_engines: dict[str, Engine] = {}
_created: dict[str, frozenset[str]] = {}  # tables already created per URL
_create_lock = threading.Lock()  # concurrent CREATE TABLE on one SQLite file would race


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: :func:`drumjam.paths.db_url`), with tables created.

    Tables are created once per URL, and again only when a table module imported since then
    has added tables to :class:`Base`.
    """
    url = url or db_url()
    engine = _engines.get(url)
    if engine is None:
        kwargs = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()
        _engines[url] = engine
    tables = frozenset(Base.metadata.tables)
    if _created.get(url) != tables:
        with _create_lock:
            Base.metadata.create_all(engine)
            _created[url] = tables
    return engine


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: commits on success, rolls back on error."""
    factory = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
