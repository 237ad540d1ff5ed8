"""Customer events are counted by ingestion time for the dashboard's rate (issue 11)."""

from __future__ import annotations

from alembic import op

revision = "0005_customer_event_ingested_at"
down_revision = "0004_dead_letter_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customer_event_ingested_at", "customer_event", ["ingested_at"])


def downgrade() -> None:
    op.drop_index("ix_customer_event_ingested_at", table_name="customer_event")
