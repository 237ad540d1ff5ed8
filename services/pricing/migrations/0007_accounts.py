"""Accounts (issue 14 part 3): a purchase keeps the B2B customer or customer group it was
made for, and a price list may be scoped to one account (one list per account and
currency). Earlier purchases and lists name no account."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_accounts"
down_revision = "0006_guardrail_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account", sa.String(length=128), nullable=True))
        batch_op.create_index(
            "ix_purchase_account_occurred_at", ["account", "occurred_at"], unique=False
        )
    with op.batch_alter_table("price_list", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account", sa.String(length=128), nullable=True))
        batch_op.create_index(
            "ix_price_list_account_currency", ["account", "currency"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("price_list", schema=None) as batch_op:
        batch_op.drop_index("ix_price_list_account_currency")
        batch_op.drop_column("account")
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_account_occurred_at")
        batch_op.drop_column("account")
