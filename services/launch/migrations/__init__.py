"""Launch's schema history: its Alembic revisions are the modules beside this one."""

from __future__ import annotations

from services.launch.tables import metadata
from shared.migrations import service_history

history = service_history("launch", __name__, metadata)
