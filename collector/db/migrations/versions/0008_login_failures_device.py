"""login_failures.device: failures from a browser with a device cookie count apart

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_failures") as batch:
        batch.add_column(sa.Column("device", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_column("device")
