"""conversation_visitor_hours, conversation_quarter_totals, conversation_feedback (issue 17)

Revision ID: 0023_conversation_hours_feedback
Revises: 0022_pay_periods
Create Date: 2026-12-02 01:00:00

All derived, for the trends and NPS views: the visitor sets per UTC hour, merged from the
quarters like the day sets; each bucket's figures with all agents together; the NPS
responses that carry feedback text.  The upgrade fills them from the stored quarters and
events (collector/maintenance/upgrade.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.db.base import UTCDateTime

revision = "0023_conversation_hours_feedback"
down_revision = "0022_pay_periods"
branch_labels = None
depends_on = None


# The additive figures (collector/conversations/rollups.py SUMS); these two are BIGINT.
_SUMS = (
    "req_agent_text", "req_agent_video", "req_visitor_text", "req_visitor_video",
    "conv_agent_text", "conv_agent_video", "conv_visitor_text", "conv_visitor_video",
    "duration_total", "orders", "gmv", "nps_responses", "nps_rated", "nps_total",
    "nps_1", "nps_2", "nps_3", "nps_4", "nps_5", "auto_clicks",
)  # fmt: skip
_BIG = {"duration_total", "gmv"}


def upgrade() -> None:
    op.create_table(
        "conversation_quarter_totals",
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        *(
            sa.Column(name, sa.BigInteger() if name in _BIG else sa.Integer(), nullable=False)
            for name in _SUMS
        ),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_conversation_quarter_totals")),
    )
    op.create_table(
        "conversation_visitor_hours",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("ids", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_visitor_hours")),
    )
    op.create_index(
        "ix_conversation_visitor_hours_kind_hour",
        "conversation_visitor_hours",
        ["kind", "hour"],
        unique=False,
    )
    op.create_table(
        "conversation_feedback",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "event_id",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_feedback")),
    )
    op.create_index(
        "ix_conversation_feedback_occurred",
        "conversation_feedback",
        ["occurred_at", "event_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("conversation_quarter_totals")
    op.drop_index("ix_conversation_feedback_occurred", table_name="conversation_feedback")
    op.drop_table("conversation_feedback")
    op.drop_index(
        "ix_conversation_visitor_hours_kind_hour", table_name="conversation_visitor_hours"
    )
    op.drop_table("conversation_visitor_hours")
