"""events: index on (credit_chatter_id, occurred_at) for a chatter's fans and revenue

Revision ID: 0009_events_credit_index
Revises: 0008
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009_events_credit_index"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The fan view reads a chatter's credited sales over 90 days; without this index that
    # is a scan of every sale of the range (ix_events_chatter_occurred holds the sender,
    # and purchases have none).
    op.create_index(
        "ix_events_credit_occurred", "events", ["credit_chatter_id", "occurred_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_events_credit_occurred", table_name="events")
