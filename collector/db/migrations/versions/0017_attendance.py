"""attendance_minutes and attendance_spans (attendance's fast path)

Revision ID: 0017_attendance
Revises: 0016_input_regularity
Create Date: 2026-12-01 00:00:00

Both are derived: filled by ``chatter-collector stats rebuild`` from the slices still
kept (an upgraded database has no attendance before it; the rebuild brings back what
the slices hold).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_attendance"
down_revision = "0016_input_regularity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attendance_minutes",
        sa.Column("chatter_id", sa.Integer(), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Integer(), nullable=False),
        sa.Column("first_active", sa.Integer(), nullable=True),
        sa.Column("active_until", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chatter_id"],
            ["chatters.id"],
            name=op.f("fk_attendance_minutes_chatter_id_chatters"),
        ),
        sa.PrimaryKeyConstraint("chatter_id", "minute", name=op.f("pk_attendance_minutes")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "attendance_spans",
        sa.Column("chatter_id", sa.Integer(), nullable=False),
        sa.Column("starts", sa.BigInteger(), nullable=False),
        sa.Column("ends", sa.BigInteger(), nullable=False),
        sa.Column("online", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.BigInteger(), nullable=False),
        sa.Column("paused", sa.BigInteger(), nullable=False),
        sa.Column("first_active", sa.BigInteger(), nullable=True),
        sa.Column("last_active", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chatter_id"],
            ["chatters.id"],
            name=op.f("fk_attendance_spans_chatter_id_chatters"),
        ),
        sa.PrimaryKeyConstraint("chatter_id", "starts", "ends", name=op.f("pk_attendance_spans")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_attendance_spans_ends", "attendance_spans", ["chatter_id", "ends"])


def downgrade() -> None:
    op.drop_index("ix_attendance_spans_ends", table_name="attendance_spans")
    op.drop_table("attendance_spans")
    op.drop_table("attendance_minutes")
