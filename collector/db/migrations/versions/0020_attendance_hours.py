"""attendance_hours and attendance_versions; active time without regular input kept too

Revision ID: 0020_attendance_hours
Revises: 0019_alert_claims_and_quiet
Create Date: 2026-12-01 02:00:00

Both derived (METRICS.md, "How attendance is kept").  The minutes' ``human`` columns start
as their active columns (no regular input is known for minutes whose slices are purged);
the upgrade then rebuilds attendance from the slices still kept, which flags the regular
input in them.  The hours are added up from every minute here; the spans are dropped (they
are a cache).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_attendance_hours"
down_revision = "0019_alert_claims_and_quiet"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attendance_minutes") as batch:
        batch.add_column(sa.Column("human", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("first_human", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("human_until", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE attendance_minutes SET human = active, first_human = first_active, "
        "human_until = active_until"
    )
    op.execute("DELETE FROM attendance_spans")
    with op.batch_alter_table("attendance_spans") as batch:
        batch.add_column(sa.Column("human", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("first_human", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_human", sa.BigInteger(), nullable=True))
    op.create_table(
        "attendance_hours",
        sa.Column("chatter_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Integer(), nullable=False),
        sa.Column("first_active", sa.BigInteger(), nullable=True),
        sa.Column("last_active", sa.BigInteger(), nullable=True),
        sa.Column("human", sa.Integer(), nullable=False),
        sa.Column("first_human", sa.BigInteger(), nullable=True),
        sa.Column("last_human", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chatter_id"],
            ["chatters.id"],
            name=op.f("fk_attendance_hours_chatter_id_chatters"),
        ),
        sa.PrimaryKeyConstraint("chatter_id", "hour", name=op.f("pk_attendance_hours")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "attendance_versions",
        sa.Column("chatter_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chatter_id"],
            ["chatters.id"],
            name=op.f("fk_attendance_versions_chatter_id_chatters"),
        ),
        sa.PrimaryKeyConstraint("chatter_id", name=op.f("pk_attendance_versions")),
    )
    op.execute(
        "INSERT INTO attendance_hours (chatter_id, hour, online, active, paused, first_active, "
        "last_active, human, first_human, last_human) "
        "SELECT chatter_id, minute - minute % 3600, sum(online), sum(active), sum(paused), "
        "min(minute + first_active), max(minute + active_until), sum(human), "
        "min(minute + first_human), max(minute + human_until) "
        "FROM attendance_minutes GROUP BY 1, 2"
    )


def downgrade() -> None:
    op.drop_table("attendance_versions")
    op.drop_table("attendance_hours")
    with op.batch_alter_table("attendance_spans") as batch:
        batch.drop_column("last_human")
        batch.drop_column("first_human")
        batch.drop_column("human")
    with op.batch_alter_table("attendance_minutes") as batch:
        batch.drop_column("human_until")
        batch.drop_column("first_human")
        batch.drop_column("human")
