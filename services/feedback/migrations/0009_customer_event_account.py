"""Customer events keep the account (B2B customer or customer group) a purchase or a return
names (issue 14 part 3); earlier events name none."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_customer_event_account"
down_revision = "0008_triage_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.drop_column("account")
