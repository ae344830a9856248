"""Conversation duration from the first call or message (no schema change)

Revision ID: 0009_conversation_duration
Revises: 0008
Create Date: 2026-11-30 13:00:00

Stored conversations measured their duration from the request event; the
glossary measures it from the first call or message (METRICS.md).  The facts and
rollups are derived data: ``db upgrade`` (collector/maintenance/upgrade.py)
recomputes them from the raw events when it crosses this revision, with the one
rebuild the ``stats rebuild`` command runs, rather than a second copy of the rule
in SQL here.
"""

from __future__ import annotations

revision = "0009_conversation_duration"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
