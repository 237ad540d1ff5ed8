"""Outbox rows can be parked (the kernel's change, shared by every service)."""

from __future__ import annotations

from shared.kernel_revisions import park_outbox_rows, unpark_outbox_rows

revision = "0003_outbox_rows_can_be_parked"
down_revision = "0002_price_proposer_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    park_outbox_rows()


def downgrade() -> None:
    unpark_outbox_rows()
