"""Schema changes of the kernel's own tables (outbox, inbox, ...), written once.

Every service's database holds the kernel tables, so each service's migration history
carries the same change as one revision that calls the function here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.types import UtcDateTime


def park_outbox_rows() -> None:
    """The relay sets aside rows the broker can never take (docs/delivery.md)."""
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("parked_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("discarded_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("discard_reason", sa.Text(), nullable=True))


def unpark_outbox_rows() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("discard_reason")
        batch_op.drop_column("discarded_at")
        batch_op.drop_column("parked_at")
