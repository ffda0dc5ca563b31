"""Latency per player and input device (``input_calibrations``: the round trip a microphone
player's calibration by ear measured) and the kit check's profile per player and microphone
(``kit_profiles``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "input_calibrations",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("input", sa.String(16), primary_key=True),
        sa.Column("device", sa.String(128), primary_key=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("peak_ratio", sa.Float(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "kit_profiles",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("device", sa.String(128), primary_key=True),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kit_profiles")
    op.drop_table("input_calibrations")
