"""Customer events count their triage attempts and wait for the next one (issue 9)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.types

revision = "0003_triage_retries"
down_revision = "0002_outbox_rows_can_be_parked"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("triage_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("next_attempt_at", shared.types.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("triage_attempts")
