"""The dead-letter store and the inbox's age index (the kernel's change, shared by every
service)."""

from __future__ import annotations

from shared.kernel_revisions import drop_dead_letters, keep_dead_letters

revision = "0004_dead_letter_store"
down_revision = "0003_triage_retries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    keep_dead_letters()


def downgrade() -> None:
    drop_dead_letters()
