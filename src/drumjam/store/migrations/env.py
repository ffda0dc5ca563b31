"""Alembic environment of drumjam's schema.

drumjam runs it through :func:`drumjam.store.db.migrate`, handing over an open connection in
``config.attributes["connection"]`` (upgrades only: the table modules are not imported). Run from the ``alembic`` command it connects to
``-x url=...`` (default: ``$DRUMJAM_DB_URL``, else SQLite in ``$DRUMJAM_HOME``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection

#: Any fixed number: the PostgreSQL advisory lock that keeps two upgrades of one database apart.
PG_LOCK_KEY = 4_163_005


def _target_metadata():  # noqa: ANN202 (sqlalchemy.MetaData)
    """Every table the code defines, for ``alembic revision --autogenerate`` and checks."""
    from drumjam.store.db import table_metadata

    return table_metadata()


def _run(connection: Connection, target_metadata=None) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite changes columns by copying the table
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    raise SystemExit("drumjam's migrations run online only: give -x url=DATABASE_URL")
else:
    from drumjam.paths import db_url

    url = context.get_x_argument(as_dictionary=True).get("url") or db_url()
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn, _target_metadata())
        conn.commit()
