"""fan_days: a chatter's dealings with each fan per UTC day, for the fan view

Revision ID: 0013_fan_days
Revises: 0012_fan_view_indexes
Create Date: 2026-11-30 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.db.base import UTCDateTime

revision = "0013_fan_days"
down_revision = "0012_fan_view_indexes"
branch_labels = None
depends_on = None

# The rows are filled in by `db upgrade` (collector/maintenance/upgrade.py FAN_DAYS),
# which runs the stats rebuild's fan pass once the table exists.


def upgrade() -> None:
    op.create_table(
        "fan_days",
        sa.Column("chatter_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("messages_sent", sa.Integer(), nullable=False),
        sa.Column("ppv_sent", sa.Integer(), nullable=False),
        sa.Column("ppv_bought", sa.Integer(), nullable=False),
        sa.Column("ppv_revenue", sa.BigInteger(), nullable=False),
        sa.Column("tip_revenue", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("last_contact", UTCDateTime(), nullable=False),
        sa.Column("response_values", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chatter_id"], ["chatters.id"], name=op.f("fk_fan_days_chatter_id_chatters")
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name=op.f("fk_fan_days_creator_id_creators")
        ),
        sa.PrimaryKeyConstraint(
            "chatter_id", "day", "creator_id", "contact", name=op.f("pk_fan_days")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_fan_days_creator_day_contact", "fan_days", ["creator_id", "day", "contact"])


def downgrade() -> None:
    op.drop_index("ix_fan_days_creator_day_contact", table_name="fan_days")
    op.drop_table("fan_days")
