"""An added audio song's own drum part: ``songs.drum_part`` says where its transcription is.

``None`` for songs without one (MIDI songs, songs added before); ``pending`` while the drums of
the mix are being transcribed; ``ready`` once ``drum_part.mid`` is in the song's folder;
``failed`` when the transcription could not be made (the song is still played on its grid).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("songs", sa.Column("drum_part", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("songs") as batch:
        batch.drop_column("drum_part")
