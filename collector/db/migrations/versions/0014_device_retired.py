"""devices: retired_at and retired_unsent (the agent was uninstalled);
enrollment_tokens: request_id (an enrollment whose reply was lost can be asked again)

Revision ID: 0014_device_retired
Revises: 0013_fan_days
Create Date: 2026-11-30 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.db.base import UTCDateTime

revision = "0014_device_retired"
down_revision = "0013_fan_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices", recreate="never") as batch:
        batch.add_column(sa.Column("retired_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("retired_unsent", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("enrollment_tokens", recreate="never") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    # Never a copy of the table on SQLite (recreate="never": ALTER TABLE DROP COLUMN, SQLite
    # 3.35+): slices, keys and tokens refer to devices, and dropping it fails their keys.
    with op.batch_alter_table("enrollment_tokens", recreate="never") as batch:
        batch.drop_column("request_id")
    with op.batch_alter_table("devices", recreate="never") as batch:
        batch.drop_column("retired_unsent")
        batch.drop_column("retired_at")
