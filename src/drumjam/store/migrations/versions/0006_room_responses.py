"""The response from the speakers to a player's microphone their last take applied
(``room_responses``), tried first by their next take to cancel the song from its first note.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_responses",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("device", sa.String(128), primary_key=True),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("round_trip_s", sa.Float(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("room_responses")
