"""events: indexes for a chatter's fan view (credited sales, sent messages, fan messages)

Revision ID: 0012_fan_view_indexes
Revises: 0011_user_must_change_password
Create Date: 2026-11-30 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_fan_view_indexes"
down_revision = "0011_user_must_change_password"
branch_labels = None
depends_on = None

# collector/stats/fans.py reads 90 days of one chatter's events for one page (about 30,000
# rows in a synthetic agency shaped like the benchmark's).  Fetching a table row per event
# took about 400 ms on SQLite; read from these indexes alone, about 90 ms on a loaded
# machine.  Partial: only the rows the view reads are indexed, so ingest pays one more
# index entry for those rows only.
SENT = sa.text("type = 'message_sent'")
FAN = sa.text("type = 'fan_message'")
CREDITED = sa.text("credit_chatter_id IS NOT NULL")


def upgrade() -> None:
    # Sales and refunds credited to a chatter in a range (purchases name no sender); only
    # the credited rows, which are few.
    op.create_index(
        "ix_events_credit_occurred",
        "events",
        [
            "credit_chatter_id",
            "occurred_at",
            "type",
            "creator_id",
            "contact",
            "amount_minor",
            "credit_type",
            "ref",
        ],
        sqlite_where=CREDITED,
        postgresql_where=CREDITED,
    )
    op.create_index(
        "ix_events_sent_by_chatter",
        "events",
        [
            "chatter_id",
            "occurred_at",
            "creator_id",
            "contact",
            "kind",
            "bought",
            "ref",
            "response_seconds",
            "type",
        ],
        sqlite_where=SENT,
        postgresql_where=SENT,
    )
    op.create_index(
        "ix_events_fan_messages",
        "events",
        ["creator_id", "contact", "occurred_at", "type"],
        sqlite_where=FAN,
        postgresql_where=FAN,
    )


def downgrade() -> None:
    op.drop_index("ix_events_fan_messages", table_name="events")
    op.drop_index("ix_events_sent_by_chatter", table_name="events")
    op.drop_index("ix_events_credit_occurred", table_name="events")
