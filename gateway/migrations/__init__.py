"""The gateway's schema history: its Alembic revisions are the modules beside this one."""

from __future__ import annotations

from gateway.tables import metadata
from shared.migrations import MigrationHistory

history = MigrationHistory("gateway", __name__, (metadata,))
