"""Group commit for ingestion on SQLite: batches that arrive while one is being stored are
stored together, in the next transaction.

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

import asyncio
import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from services.feedback.ingest import service as ingestion
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

# At most this many rows in one transaction: ten batches of 500. Larger groups would hold
# the write lock longer, while the triage worker and the relay wait for it too.
MAX_GROUP_ROWS = 5_000

_Waiting = tuple[ingestion.Prepared, "asyncio.Future[ingestion.Ingested]"]


class IngestWriter:
    """Stores prepared batches; on SQLite, those waiting are stored together."""

    def __init__(self, *, unit_of_work: Callable[[], UnitOfWork], grouped: bool) -> None:
        self._uow = unit_of_work
        self._grouped = grouped
        self._waiting: list[_Waiting] = []
        self._draining: asyncio.Task[None] | None = None

    async def store(self, batch: ingestion.Prepared) -> ingestion.Ingested:
        """Store `batch` (in a transaction shared with other waiting batches on SQLite);
        returns once it is committed."""
        if not self._grouped:
            return (await self._store([batch]))[0]
        stored: asyncio.Future[ingestion.Ingested] = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, stored))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        # Shielded: a request that goes away does not take back a batch already in a
        # transaction with others.
        return await asyncio.shield(stored)

    async def _drain(self) -> None:
        while self._waiting:
            group = self._next_group()
            try:
                stored = await self._store([batch for batch, _ in group])
            except asyncio.CancelledError:
                # The process is stopping: nothing of this group was committed.
                for _, future in group + self._waiting:
                    future.cancel()
                self._waiting = []
                raise
            except Exception as exc:
                if len(group) == 1:
                    _settle(group[0][1], error=exc)
                    continue
                # One batch's failure is its own: each is stored alone, and answered so.
                log.warning("a group of batches failed; storing each alone", exc_info=exc)
                for batch, future in group:
                    try:
                        _settle(future, result=(await self._store([batch]))[0])
                    except Exception as alone:
                        _settle(future, error=alone)
                continue
            for (_, future), result in zip(group, stored, strict=True):
                _settle(future, result=result)

    def _next_group(self) -> list[_Waiting]:
        """The oldest waiting batches, up to MAX_GROUP_ROWS rows (at least one batch)."""
        rows = count = 0
        for batch, _ in self._waiting:
            rows += len(batch.rows)
            if count and rows > MAX_GROUP_ROWS:
                break
            count += 1
        group, self._waiting = self._waiting[:count], self._waiting[count:]
        return group

    async def _store(self, batches: list[ingestion.Prepared]) -> list[ingestion.Ingested]:
        async with self._uow() as uow:
            return await ingestion.store(uow=uow, batches=batches)


def _settle(
    future: asyncio.Future[ingestion.Ingested],
    *,
    result: ingestion.Ingested | None = None,
    error: BaseException | None = None,
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)


async def _app_writer(request: Request) -> IngestWriter:
    return request.app.state.ingest_writer


WriterDep = Annotated[IngestWriter, Depends(_app_writer)]
