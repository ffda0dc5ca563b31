"""Persistence through SQLAlchemy: SQLite in ``DRUMJAM_HOME`` by default, any database URL."""

from drumjam.store.db import Base, get_engine, session_scope

__all__ = ["Base", "get_engine", "session_scope"]
