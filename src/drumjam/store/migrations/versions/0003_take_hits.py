"""Crash-safe takes: every hit written as it is played, and a status per saved session.

``take_hits`` holds each hit of a session or room as it arrives (latency already removed);
``jam_sessions.status`` says whether a session is ``playing``, ``finished`` or
``interrupted`` (the server stopped while it was played; its hits were kept). Sessions saved
before are ``finished``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jam_sessions", sa.Column("status", sa.String(16), nullable=False,
                                            server_default="finished"))
    op.create_table(
        "take_hits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("jam_sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("player", sa.Integer(), nullable=False),
        sa.Column("time_s", sa.Float(), nullable=False),
        sa.Column("voice", sa.String(16), nullable=False),
        sa.Column("velocity", sa.Integer(), nullable=False),
        sa.Column("hihat_openness", sa.Float(), nullable=True),
    )
    op.create_index("ix_take_hits_session_id", "take_hits", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_take_hits_session_id", table_name="take_hits")
    op.drop_table("take_hits")
    with op.batch_alter_table("jam_sessions") as batch:
        batch.drop_column("status")
