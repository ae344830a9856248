"""slices: the agent's input timing (bursts, keyed_bursts, gaps, gap_ms_sum, gap_ms_sum_sq)
and the regular flag; activity_quarters and activity_days: regular_seconds
(METRICS.md "Regular (machine-like) input")

Revision ID: 0016_input_regularity
Revises: 0015_schedules_and_presence
Create Date: 2026-11-30 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_input_regularity"
down_revision = "0015_schedules_and_presence"
branch_labels = None
depends_on = None

_TIMING = (
    ("bursts", sa.Integer()),
    ("keyed_bursts", sa.Integer()),
    ("gaps", sa.Integer()),
    ("gap_ms_sum", sa.BigInteger()),
    ("gap_ms_sum_sq", sa.BigInteger()),
)


def upgrade() -> None:
    # Stored slices had no timing: NULL, never regular, so no rollup changes.
    with op.batch_alter_table("slices", recreate="never") as batch:
        for name, kind in _TIMING:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.add_column(
            sa.Column("regular", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    for table in ("activity_quarters", "activity_days"):
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.add_column(
                sa.Column("regular_seconds", sa.BigInteger(), nullable=False, server_default="0")
            )


def downgrade() -> None:
    for table in ("activity_days", "activity_quarters"):
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.drop_column("regular_seconds")
    with op.batch_alter_table("slices", recreate="never") as batch:
        batch.drop_column("regular")
        for name, _ in reversed(_TIMING):
            batch.drop_column(name)
