"""The schema before migrations: jam sessions, calibrations and lessons.

Exactly the tables ``Base.metadata.create_all`` made before, so a database made then is
brought under migrations without change: each table is created only when it is missing
(older databases lack the tables of the modules the program never imported).

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _when() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def _tables() -> list[tuple[str, list, dict]]:
    fk = {"ondelete": "CASCADE"}
    return [
        ("jam_sessions", [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("song_id", sa.String(64), nullable=False),
            sa.Column("song_title", sa.String(200), nullable=False),
            *(sa.Column(name, sa.JSON(), nullable=False)
              for name in ("players", "practice", "beatmap", "chart", "takes", "results")),
            _when(),
        ], {"sqlite_autoincrement": True}),
        ("player_calibrations", [
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("latency_ms", sa.Float(), nullable=False),
            sa.Column("taps", sa.Integer(), nullable=False),
            sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        ], {}),
        ("lesson_students", [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("name", sa.String(64), nullable=False, unique=True),
            _when(),
        ], {}),
        ("lessons", [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("name", sa.String(64), nullable=False, unique=True),
            sa.Column("pattern", sa.JSON(), nullable=False),
            sa.Column("trainer", sa.JSON(), nullable=False),
            sa.Column("source", sa.String(300), nullable=False),
            _when(),
        ], {}),
        ("lesson_attempts", [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("lesson_id", sa.Integer(), sa.ForeignKey("lessons.id", **fk), nullable=False),
            sa.Column("student_id", sa.Integer(), sa.ForeignKey("lesson_students.id", **fk),
                      nullable=False),
            sa.Column("tempo_bpm", sa.Float(), nullable=False),
            sa.Column("passed", sa.Boolean(), nullable=False),
            sa.Column("next_tempo_bpm", sa.Float(), nullable=False),
            sa.Column("change", sa.String(16), nullable=False),
            sa.Column("result", sa.JSON(), nullable=False),
            _when(),
        ], {"sqlite_autoincrement": True}),
        ("lesson_progress", [
            sa.Column("lesson_id", sa.Integer(), sa.ForeignKey("lessons.id", **fk),
                      primary_key=True),
            sa.Column("student_id", sa.Integer(), sa.ForeignKey("lesson_students.id", **fk),
                      primary_key=True),
            sa.Column("state", sa.JSON(), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        ], {}),
    ]


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns, options in _tables():
        if name not in present:
            op.create_table(name, *columns, **options)


def downgrade() -> None:
    for name, _columns, _options in reversed(_tables()):
        op.drop_table(name)
