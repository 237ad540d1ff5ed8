"""Prices keep the owner of the key that proposed them, for the four-eyes rule.

An earlier proposal is owned by its proposer's name: the gateway's own migration gives each
earlier key its name as owner, so a person still cannot approve what their key proposed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_price_proposer_owner"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added nullable, filled, then made NOT NULL: existing rows need a value first.
    op.add_column("price", sa.Column("proposed_by_owner", sa.String(length=255), nullable=True))
    op.execute("UPDATE price SET proposed_by_owner = proposed_by_name")
    with op.batch_alter_table("price") as batch_op:
        batch_op.alter_column(
            "proposed_by_owner", existing_type=sa.String(length=255), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("price") as batch_op:
        batch_op.drop_column("proposed_by_owner")
