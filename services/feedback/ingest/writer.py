"""Group commit for ingestion on SQLite: batches that arrive while one is being stored are
stored together, in the next transaction (`shared/group_commit.py`).

SQLite has one writer, so batches wait for it one after another anyway, and each
transaction costs more than its rows: taking the write lock, the statements' trips to the
connection's thread (each waiting while the event loop validates another batch), and the
commit's sync of the write-ahead log. Stored together, the waiting batches share those
(docs/performance.md). Each request still answers only once its own rows are committed:
202 means durable, as before.

On PostgreSQL each batch keeps its own transaction: writers run side by side there, and
two batches racing for the same ids wait for each other row by row (`service._inserted`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from services.feedback.ingest import service as ingestion
from shared.group_commit import GroupCommit
from shared.uow import UnitOfWork

# At most this many rows in one transaction: ten batches of 500. Larger groups would hold
# the write lock longer, while the triage worker and the relay wait for it too.
MAX_GROUP_ROWS = 5_000


class IngestWriter:
    """Stores prepared batches; on SQLite, those waiting are stored together."""

    def __init__(self, *, unit_of_work: Callable[[], UnitOfWork], grouped: bool) -> None:
        self._uow = unit_of_work
        self._batches: GroupCommit[ingestion.Prepared, ingestion.Ingested] = GroupCommit(
            self._store,
            max_weight=MAX_GROUP_ROWS,
            weight=lambda batch: len(batch.rows),
            grouped=grouped,
        )

    async def store(self, batch: ingestion.Prepared) -> ingestion.Ingested:
        """Store `batch` (in a transaction shared with other waiting batches on SQLite);
        returns once it is committed."""
        return await self._batches.submit(batch)

    async def _store(self, batches: list[ingestion.Prepared]) -> list[ingestion.Ingested]:
        async with self._uow() as uow:
            return await ingestion.store(uow=uow, batches=batches)


async def _app_writer(request: Request) -> IngestWriter:
    return request.app.state.ingest_writer


WriterDep = Annotated[IngestWriter, Depends(_app_writer)]
