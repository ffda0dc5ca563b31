"""Added songs in the database: the ``songs`` table, filled from the old ``song.json`` files.

Each ``<songs_dir>/<id>/song.json`` written before becomes a row (its modification time is
the row's ``created_at``, so the library keeps its order); the song's files stay where they
are. A ``song.json`` that cannot be read was skipped by the library before and is skipped
here too, named in a warning. Downgrading writes the rows back as ``song.json`` files.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KINDS = ("audio", "midi")


def _songs_dir() -> Path:
    given = context.config.attributes.get("songs_dir")
    if given is not None:
        return Path(given)
    from drumjam.paths import home_dir

    return home_dir() / "songs"


def _row(meta_path: Path) -> dict | None:
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        kind = meta["kind"]
        if kind not in KINDS or meta["id"] != meta_path.parent.name:
            raise ValueError(f"kind {kind!r}, id {meta['id']!r}")
        return {
            "id": str(meta["id"]),
            "title": str(meta["title"])[:200],
            "kind": kind,
            "audio": str(meta["audio"]),
            "chart": meta.get("chart") if kind == "midi" else None,
            "grid": int(meta.get("grid", 16)),
            "beatmap": meta.get("beatmap") if kind == "audio" else None,
            "analysed_beatmap": meta.get("analysed_beatmap") if kind == "audio" else None,
            "source_name": str(meta.get("source_name", ""))[:300],
            "created_at": datetime.fromtimestamp(meta_path.stat().st_mtime, UTC),
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"{meta_path}: not imported into the song library ({exc!r}); "
                      "add the song again", stacklevel=1)
        return None


def upgrade() -> None:
    songs = op.create_table(
        "songs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("audio", sa.String(200), nullable=False),
        sa.Column("chart", sa.String(200), nullable=True),
        sa.Column("grid", sa.Integer(), nullable=False),
        sa.Column("beatmap", sa.JSON(), nullable=True),
        sa.Column("analysed_beatmap", sa.JSON(), nullable=True),
        sa.Column("source_name", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    folder = _songs_dir()
    found = sorted(folder.glob("*/song.json")) if folder.is_dir() else []
    rows = [row for row in map(_row, found) if row is not None]
    if rows:
        op.bulk_insert(songs, rows)


def downgrade() -> None:
    folder = _songs_dir()
    bind = op.get_bind()
    table = sa.table(
        "songs",
        *(sa.column(c) for c in ("id", "title", "kind", "audio", "chart", "grid", "source_name")),
        sa.column("beatmap", sa.JSON()), sa.column("analysed_beatmap", sa.JSON()),
    )
    for row in bind.execute(sa.select(table)).mappings():
        meta = {key: value for key, value in row.items() if value is not None}
        target = folder / row["id"]
        if target.is_dir():
            (target / "song.json").write_text(json.dumps(meta), encoding="utf-8")
    op.drop_table("songs")
