"""pay_periods, pay_lines: approved pay periods and the lines they paid (payroll, issue 16)

Revision ID: 0022_pay_periods
Revises: 0021_pay_rules
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.db.base import UTCDateTime

revision = "0022_pay_periods"
down_revision = "0021_pay_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pay_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fee_basis_points", sa.Integer(), nullable=False),
        sa.Column("regular_excluded", sa.Boolean(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("last_day >= first_day", name=op.f("ck_pay_periods_days")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_periods")),
        sa.UniqueConstraint("first_day", name=op.f("uq_pay_periods_first_day")),
    )
    op.create_table(
        "pay_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("chatter_id", sa.Integer(), nullable=False),
        sa.Column("origin_first", sa.Date(), nullable=False),
        sa.Column("origin_last", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("part_first", sa.Date(), nullable=False),
        sa.Column("part_last", sa.Date(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("online_seconds", sa.BigInteger(), nullable=False),
        sa.Column("active_seconds", sa.BigInteger(), nullable=False),
        sa.Column("scheduled_seconds", sa.BigInteger(), nullable=False),
        sa.Column("ppv_minor", sa.BigInteger(), nullable=False),
        sa.Column("tips_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunds_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["pay_periods.id"],
            name=op.f("fk_pay_lines_period_id_pay_periods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["chatter_id"],
            ["chatters.id"],
            name=op.f("fk_pay_lines_chatter_id_chatters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_lines")),
    )
    op.create_index("ix_pay_lines_period", "pay_lines", ["period_id"])
    op.create_index("ix_pay_lines_origin", "pay_lines", ["origin_first"])


def downgrade() -> None:
    op.drop_index("ix_pay_lines_origin", table_name="pay_lines")
    op.drop_index("ix_pay_lines_period", table_name="pay_lines")
    op.drop_table("pay_lines")
    op.drop_table("pay_periods")
