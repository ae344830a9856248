"""slices.slice_seconds: a device's slices never overlap

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 10:00:00

Rows stored before this revision did not record their length.  Each gets the
shortest allowed length that holds its duration and that its start is aligned
to: its true length is at least that, so every overlap this finds is real, and
the repair (``stats rebuild``, run by ``db upgrade`` from an older revision)
removes them.  Durations of 60 s need no work: 60 is the only length that holds
them, and the column's default.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Frozen here: a migration must not change when the protocol module does.
_LENGTHS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
_CHUNK = 5000


def shortest_length(start: dt.datetime, duration: int) -> int:
    # SQLite hands back naive UTC text, PostgreSQL an aware timestamp.
    aware = start if start.tzinfo is not None else start.replace(tzinfo=dt.UTC)
    epoch = int(aware.timestamp())
    for length in _LENGTHS:
        if length >= duration and epoch % length == 0:
            return length
    return 60  # aligned to no length that holds it (never valid): the widest span


def upgrade() -> None:
    with op.batch_alter_table("slices") as batch:
        batch.add_column(
            sa.Column("slice_seconds", sa.Integer(), nullable=False, server_default="60")
        )
    connection = op.get_bind()
    slices = sa.table(
        "slices",
        sa.column("id", sa.Integer()),
        sa.column("start", sa.DateTime(timezone=True)),
        sa.column("duration", sa.Integer()),
        sa.column("slice_seconds", sa.Integer()),
    )
    statement = (
        sa.update(slices)
        .where(slices.c.id == sa.bindparam("row_id"))
        .values(slice_seconds=sa.bindparam("length"))
    )
    last = 0
    while True:  # pages by id: memory stays flat however many short slices there are
        rows = connection.execute(
            sa.select(slices.c.id, slices.c.start, slices.c.duration)
            .where(slices.c.duration < 60, slices.c.id > last)
            .order_by(slices.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        updates = [
            {"row_id": row_id, "length": length}
            for row_id, start, duration in rows
            if (length := shortest_length(start, duration)) != 60
        ]
        if updates:
            connection.execute(statement, updates)


def downgrade() -> None:
    with op.batch_alter_table("slices") as batch:
        batch.drop_column("slice_seconds")
