"""Engine, sessions, the declarative base and the schema's migrations.

Table modules (:mod:`drumjam.store.sessions`, :mod:`drumjam.store.lessons`,
:mod:`drumjam.library.catalogue`) define their classes on :class:`Base`; the tables themselves
are made and changed only by the Alembic revisions in ``drumjam/store/migrations/versions``.
:func:`get_engine` brings a database to the newest revision the first time a process opens
it (one query when it is current already), so every command and the jam app start on the
schema the code expects, and a database made by an older drumjam keeps its data.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import MetaData, create_engine, event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from drumjam.errors import DrumjamError
from drumjam.paths import db_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """Declarative base of every drumjam table."""


def table_metadata() -> MetaData:
    """The metadata of every table the code defines (all table modules imported)."""
    import drumjam.library.catalogue  # noqa: F401
    import drumjam.store.inputs  # noqa: F401
    import drumjam.store.lessons  # noqa: F401
    import drumjam.store.sessions  # noqa: F401

    return Base.metadata


class SchemaError(DrumjamError, RuntimeError):
    """The database's schema is one this drumjam cannot bring up to date."""


_engines: dict[str, Engine] = {}
_current: set[str] = set()  # URLs this process has seen at the head revision
_engines_lock = threading.Lock()
_migrate_lock = threading.Lock()  # one upgrade at a time per process


def _display(url: str | URL) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _new_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise SchemaError(f"database URL {url!r} is not a SQLAlchemy URL ({err}); use e.g. "
                          "sqlite:////path/drumjam.sqlite3 or postgresql+psycopg://user@host/db") from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


def alembic_config(*, songs_dir: Path | None = None):  # noqa: ANN201 (alembic.config.Config)
    """The Alembic configuration of drumjam's migrations.

    Parameters
    ----------
    songs_dir : Path, optional
        Folder of songs added before song metadata moved into the database (default:
        ``$DRUMJAM_HOME/songs``); their ``song.json`` files are imported by revision 0002.
    """
    from alembic.config import Config

    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if songs_dir is not None:
        cfg.attributes["songs_dir"] = Path(songs_dir)
    return cfg


@cache
def head_revision() -> str:
    """The newest revision of the schema this drumjam knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The revision a database is at (None: never migrated, e.g. empty or made by ``create_all``)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def migrate(url: str | None = None, *, songs_dir: Path | None = None) -> str:
    """Bring a database to the head revision (a no-op when it is there already).

    A database made before migrations existed (tables from ``create_all``, no revision) is
    upgraded in place: the first revision creates only the tables it lacks.

    Parameters
    ----------
    url : str, optional
        Any SQLAlchemy URL (default: :func:`drumjam.paths.db_url`).
    songs_dir : Path, optional
        See :func:`alembic_config`.

    Returns
    -------
    str
        The revision the database was at before (``"none"`` if never migrated).

    Raises
    ------
    SchemaError
        If the database is at a revision this drumjam does not know (made by a newer one).
    """
    url = url or db_url()
    with _migrate_lock:
        before = _upgrade(_engine(url), songs_dir)
        _current.add(url)
    return before


def _upgrade(engine: Engine, songs_dir: Path | None) -> str:
    from alembic import command
    from alembic.util import CommandError

    head = head_revision()
    with engine.connect() as conn:
        before = current_revision(conn)
    if before == head:
        return before
    cfg = alembic_config(songs_dir=songs_dir)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except CommandError as err:
        raise SchemaError(
            f"the database {_display(engine.url)} is at schema revision {before!r}, which this "
            f"drumjam does not know ({err}); it was made by a newer drumjam: upgrade drumjam"
        ) from None
    except (exc.OperationalError, exc.IntegrityError, exc.ProgrammingError):
        # another process may have upgraded the same database at the same moment
        with engine.connect() as conn:
            if current_revision(conn) != head:
                raise
    return before or "none"


def _engine(url: str) -> Engine:
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _new_engine(url)
        return engine


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: :func:`drumjam.paths.db_url`), its schema up to date.

    The first call for a URL in a process brings its schema to the head revision
    (:func:`migrate`); later calls only look the engine up.
    """
    url = url or db_url()
    engine = _engine(url)
    if url not in _current:
        with _migrate_lock:
            if url not in _current:
                _upgrade(engine, None)
                _current.add(url)
    return engine


def dispose_engine(url: str) -> None:
    """Close the pooled connections to ``url`` and forget its engine (e.g. before dropping it)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
        _current.discard(url)
    if engine is not None:
        engine.dispose()


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
