"""alert_deliveries.claim_token and alerts.quiet_key

Revision ID: 0019_alert_claims_and_quiet
Revises: 0018_alerts
Create Date: 2026-12-01 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_alert_claims_and_quiet"
down_revision = "0018_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alert_deliveries", sa.Column("claim_token", sa.String(length=32), nullable=True))
    op.add_column("alerts", sa.Column("quiet_key", sa.String(length=200), nullable=True))
    op.create_index(op.f("ix_alerts_quiet_key"), "alerts", ["quiet_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_alerts_quiet_key"), table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("quiet_key")
    with op.batch_alter_table("alert_deliveries") as batch:
        batch.drop_column("claim_token")
