"""user_creators: a manager login limited to chosen creators (a team lead)

Revision ID: 0010_manager_creators
Revises: 0009_conversation_duration
Create Date: 2026-11-30 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_manager_creators"
down_revision = "0009_conversation_duration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_creators",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_creators_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_user_creators_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "creator_id", name=op.f("pk_user_creators")),
    )


def downgrade() -> None:
    op.drop_table("user_creators")
