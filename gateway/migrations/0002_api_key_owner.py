"""API keys name their owner; a key made before owners existed is owned by its name."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_api_key_owner"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added nullable, filled, then made NOT NULL: existing rows need a value first.
    op.add_column("api_key", sa.Column("owner", sa.String(length=100), nullable=True))
    op.execute("UPDATE api_key SET owner = name")
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.alter_column("owner", existing_type=sa.String(length=100), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.drop_column("owner")
