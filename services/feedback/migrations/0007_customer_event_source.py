"""Customer events are unique per source (the sending key's owner) and carry a status: held
while the catalog has not named their product, accepted, or expired (security issue 12,
finding 5). Rows stored before keep the key id that sent them as their source."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_customer_event_source"
down_revision = "0006_revoked_api_keys"
branch_labels = None
depends_on = None

_HELD = sa.text("status = 'held'")
_EXPIRED = sa.text("status = 'expired'")


def upgrade() -> None:
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=8), server_default="accepted", nullable=False)
        )
    op.execute("UPDATE customer_event SET source = ingested_by")
    op.execute(
        "UPDATE customer_event SET status = 'held' WHERE product_id IS NULL AND sku IS NOT NULL"
    )
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.alter_column("source", existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_constraint(batch_op.f("uq_customer_event_event_id"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_customer_event_source_event_id"), ["source", "event_id"]
        )
        batch_op.create_index(
            "ix_customer_event_held",
            ["product_id", "ingested_at"],
            unique=False,
            sqlite_where=_HELD,
            postgresql_where=_HELD,
        )
        batch_op.create_index(
            "ix_customer_event_expired",
            ["seq"],
            unique=False,
            sqlite_where=_EXPIRED,
            postgresql_where=_EXPIRED,
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_customer_event_expired", sqlite_where=_EXPIRED, postgresql_where=_EXPIRED
        )
        batch_op.drop_index("ix_customer_event_held", sqlite_where=_HELD, postgresql_where=_HELD)
        batch_op.drop_constraint(batch_op.f("uq_customer_event_source_event_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_customer_event_event_id"), ["event_id"])
        batch_op.drop_column("status")
        batch_op.drop_column("source")
