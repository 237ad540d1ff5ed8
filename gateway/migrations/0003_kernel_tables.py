"""The kernel's tables: the gateway publishes its events through an outbox, like a service."""

from __future__ import annotations

from shared.kernel_revisions import (
    create_kernel_tables,
    drop_dead_letters,
    drop_kernel_tables,
    drop_revoked_keys,
    keep_dead_letters,
    keep_revoked_keys,
    park_outbox_rows,
    unpark_outbox_rows,
)

revision = "0003_kernel_tables"
down_revision = "0002_api_key_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()
    park_outbox_rows()
    keep_dead_letters()
    keep_revoked_keys()


def downgrade() -> None:
    drop_revoked_keys()
    drop_dead_letters()
    unpark_outbox_rows()
    drop_kernel_tables()
