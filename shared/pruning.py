"""Rows past their retention, deleted in bounded chunks, and the loop that does it every few
minutes: the inbox (`shared.inbox`) and the kept `Idempotency-Key` responses
(`shared.idempotency`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import Column, Table, delete, select, tuple_

from shared.clock import Clock, utc_now
from shared.db import rows_affected
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def delete_older_than(
    uow_factory: Callable[[], UnitOfWork],
    table: Table,
    *,
    stamp: Column[datetime],
    older_than: datetime,
    chunk: int = 1000,
) -> int:
    """Delete `table`'s rows whose `stamp` is before `older_than`, `chunk` rows per
    transaction, so no transaction holds the table (or SQLite's single writer) for long.
    Returns the count."""
    key = list(table.primary_key.columns)
    oldest = select(*key).where(stamp < older_than).limit(chunk)
    total = 0
    while True:
        async with uow_factory() as uow:
            result = await uow.session.execute(delete(table).where(tuple_(*key).in_(oldest)))
        deleted = rows_affected(result) or 0
        total += deleted
        if deleted < chunk:
            return total


async def prune_forever(
    what: str,
    prune: Callable[[datetime], Awaitable[int]],
    *,
    retention_s: float,
    clock: Clock = utc_now,
    every_s: float = 300.0,
) -> None:
    """`prune(cutoff)` the rows older than `retention_s` at once, then every `every_s`,
    until cancelled. `what` names them in the log."""
    while True:
        try:
            pruned = await prune(clock() - timedelta(seconds=retention_s))
            if pruned:
                log.info("rows pruned", extra={"table": what, "rows": pruned})
        except Exception as exc:  # a busy or absent database only delays pruning
            log.warning(
                "pruning failed", extra={"table": what, "error": f"{type(exc).__name__}: {exc}"}
            )
        await asyncio.sleep(every_s)
