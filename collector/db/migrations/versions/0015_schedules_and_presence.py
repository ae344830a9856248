"""shifts, shift_exceptions, coverage_rules (schedules) and presence (live state)

Revision ID: 0015_schedules_and_presence
Revises: 0014_device_retired
Create Date: 2026-11-30 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.db.base import UTCDateTime

revision = "0015_schedules_and_presence"
down_revision = "0014_device_retired"
branch_labels = None
depends_on = None


def _minutes(table: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint(
            "start_minute >= 0 AND start_minute < 1440", name=op.f(f"ck_{table}_start_minute")
        ),
        sa.CheckConstraint(
            "end_minute >= 0 AND end_minute < 1440", name=op.f(f"ck_{table}_end_minute")
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chatter_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("weekdays", sa.SmallInteger(), nullable=False),
        sa.Column("start_minute", sa.SmallInteger(), nullable=False),
        sa.Column("end_minute", sa.SmallInteger(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        *_minutes("shifts"),
        sa.CheckConstraint("weekdays >= 0 AND weekdays <= 127", name=op.f("ck_shifts_weekdays")),
        sa.ForeignKeyConstraint(
            ["chatter_id"], ["chatters.id"], name=op.f("fk_shifts_chatter_id_chatters")
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name=op.f("fk_shifts_creator_id_creators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
    )
    op.create_index("ix_shifts_chatter", "shifts", ["chatter_id"])
    op.create_index("ix_shifts_creator", "shifts", ["creator_id"])

    op.create_table(
        "shift_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("replacement_chatter_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'cancelled' AND replacement_chatter_id IS NULL)"
            " OR (kind = 'swapped' AND replacement_chatter_id IS NOT NULL)",
            name=op.f("ck_shift_exceptions_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"],
            ["shifts.id"],
            name=op.f("fk_shift_exceptions_shift_id_shifts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replacement_chatter_id"],
            ["chatters.id"],
            name=op.f("fk_shift_exceptions_replacement_chatter_id_chatters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_exceptions")),
        sa.UniqueConstraint("shift_id", "day", name=op.f("uq_shift_exceptions_shift_id_day")),
    )

    op.create_table(
        "coverage_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("weekdays", sa.SmallInteger(), nullable=False),
        sa.Column("start_minute", sa.SmallInteger(), nullable=False),
        sa.Column("end_minute", sa.SmallInteger(), nullable=False),
        sa.Column("required", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        *_minutes("coverage_rules"),
        sa.CheckConstraint(
            "weekdays >= 1 AND weekdays <= 127", name=op.f("ck_coverage_rules_weekdays")
        ),
        sa.CheckConstraint(
            "required >= 0 AND required <= 1000", name=op.f("ck_coverage_rules_required")
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name=op.f("fk_coverage_rules_creator_id_creators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_rules")),
    )
    op.create_index("ix_coverage_rules_creator", "coverage_rules", ["creator_id"])

    op.create_table(
        "presence",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("chatter_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("idle_seconds", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_presence_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["chatter_id"], ["chatters.id"], name=op.f("fk_presence_chatter_id_chatters")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_presence")),
    )
    op.create_index("ix_presence_chatter", "presence", ["chatter_id"])


def downgrade() -> None:
    op.drop_index("ix_presence_chatter", table_name="presence")
    op.drop_table("presence")
    op.drop_index("ix_coverage_rules_creator", table_name="coverage_rules")
    op.drop_table("coverage_rules")
    op.drop_table("shift_exceptions")
    op.drop_index("ix_shifts_creator", table_name="shifts")
    op.drop_index("ix_shifts_chatter", table_name="shifts")
    op.drop_table("shifts")
