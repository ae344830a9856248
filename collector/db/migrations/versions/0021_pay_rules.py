"""pay_rules: each chatter's pay, valid from a day on (payroll, issue 16)

Revision ID: 0021_pay_rules
Revises: 0020_attendance_hours
Create Date: 2026-12-01 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.db.base import UTCDateTime

revision = "0021_pay_rules"
down_revision = "0020_attendance_hours"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pay_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chatter_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("hourly_minor", sa.BigInteger(), nullable=False),
        sa.Column("hours_basis", sa.String(length=16), nullable=False),
        sa.Column("commission_basis_points", sa.Integer(), nullable=False),
        sa.Column("commission_after_fee", sa.Boolean(), nullable=False),
        sa.Column("bonus_minor", sa.BigInteger(), nullable=False),
        sa.Column("minimum_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("hourly_minor >= 0", name=op.f("ck_pay_rules_hourly_minor")),
        sa.CheckConstraint(
            "commission_basis_points >= 0 AND commission_basis_points <= 10000",
            name=op.f("ck_pay_rules_commission_basis_points"),
        ),
        sa.CheckConstraint("bonus_minor >= 0", name=op.f("ck_pay_rules_bonus_minor")),
        sa.CheckConstraint("minimum_minor >= 0", name=op.f("ck_pay_rules_minimum_minor")),
        sa.CheckConstraint(
            "hours_basis IN ('online', 'active', 'scheduled')",
            name=op.f("ck_pay_rules_hours_basis"),
        ),
        sa.ForeignKeyConstraint(
            ["chatter_id"],
            ["chatters.id"],
            name=op.f("fk_pay_rules_chatter_id_chatters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_rules")),
        sa.UniqueConstraint(
            "chatter_id", "valid_from", name=op.f("uq_pay_rules_chatter_id_valid_from")
        ),
    )


def downgrade() -> None:
    op.drop_table("pay_rules")
