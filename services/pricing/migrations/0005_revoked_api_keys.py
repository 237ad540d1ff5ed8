"""The API keys the gateway revoked, whose tokens this service refuses."""

from __future__ import annotations

from shared.kernel_revisions import drop_revoked_keys, keep_revoked_keys

revision = "0005_revoked_api_keys"
down_revision = "0004_dead_letter_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    keep_revoked_keys()


def downgrade() -> None:
    drop_revoked_keys()
