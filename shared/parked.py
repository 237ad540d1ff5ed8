"""Outbox rows the relay set aside (parked) because the broker can never take them: what the
dead-letter routes list beside the consumer's letters (docs/delivery.md). The relay parks,
re-queues and discards them (`OutboxRelay.retry_parked`, `discard_parked`); this reads them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.pagination import Keyset, Page
from shared.tables import outbox

PARKED_ROWS = Keyset(outbox.c.seq.desc())


async def list_parked(
    session: AsyncSession,
    *,
    type: str | None,
    topic: str | None,
    error: str | None,
    discarded: bool | None,
    limit: int,
    cursor: str | None,
) -> Page[Row[Any]]:
    """Parked rows, newest first, filtered; `discarded` None lists both kinds."""
    stmt = select(outbox).where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_not(None))
    if type is not None:
        stmt = stmt.where(outbox.c.type == type)
    if topic is not None:
        stmt = stmt.where(outbox.c.topic == topic)
    if error:
        stmt = stmt.where(func.lower(outbox.c.last_error).contains(error.lower(), autoescape=True))
    if discarded is not None:
        stmt = stmt.where(
            outbox.c.discarded_at.is_not(None) if discarded else outbox.c.discarded_at.is_(None)
        )
    return await PARKED_ROWS.page(session, stmt, limit=limit, cursor=cursor)


async def get_outbox_row(session: AsyncSession, *, event_id: str) -> Row[Any] | None:
    """The outbox row of an event, parked or not."""
    return (await session.execute(select(outbox).where(outbox.c.id == event_id))).first()
