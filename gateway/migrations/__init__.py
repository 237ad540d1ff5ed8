"""The gateway's schema history: its Alembic revisions are the modules beside this one.

It holds the kernel's tables too: the gateway publishes through an outbox (issue 12)."""

from __future__ import annotations

from gateway.tables import metadata
from shared.migrations import service_history

history = service_history("gateway", __name__, metadata)
