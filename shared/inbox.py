"""The inbox: each event applied at most once per consumer, in order per subject.

An event is applied in one transaction that also records `(consumer, event_id)` in the inbox,
so a redelivered event changes nothing. The consumer and a dead-letter replay both apply
events through `apply_event`, so a replay is deduplicated exactly like a delivery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final, Literal

from aiokafka import ConsumerRecord
from sqlalchemy import select, update

from shared.db import rows_affected
from shared.dead_letters import is_dead_lettered
from shared.events import CloudEvent
from shared.inserts import dialect_insert
from shared.observability import causation_id_var, correlation_id_var
from shared.pruning import delete_older_than
from shared.tables import inbox, subject_position
from shared.uow import UnitOfWork

Handler = Callable[[CloudEvent, UnitOfWork], Awaitable[None]]

HANDLED: Final = "handled"
DUPLICATE: Final = "duplicate"
STALE: Final = "stale"
# Dead-lettered on an earlier delivery: left to the operator, not tried again.
DEAD_LETTERED_BEFORE: Final = "dead_lettered_before"
Applied = Literal["handled", "duplicate", "stale", "dead_lettered_before"]


async def claim(
    uow: UnitOfWork, *, consumer: str, event: CloudEvent, record: ConsumerRecord
) -> bool:
    """Record the event in the inbox; False when this consumer has already handled it."""
    result = await uow.session.execute(
        dialect_insert(uow.dialect, inbox)
        .values(
            consumer=consumer,
            event_id=event.id,
            type=event.type,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            processed_at=uow.clock(),
        )
        .on_conflict_do_nothing()
    )
    return rows_affected(result) == 1


async def advance_position(uow: UnitOfWork, *, consumer: str, event: CloudEvent) -> bool:
    """Move the subject's applied sequence forward; False when the event is stale.

    An equal sequence counts as already applied: a subject's version names one state, so a
    second event carrying it (a republished snapshot, `shared/republish.py`) has nothing new.
    """
    sequence = event.sequence_number
    if sequence is None or event.subject is None:
        return True
    key = (
        (subject_position.c.consumer == consumer)
        & (subject_position.c.source == event.source)
        & (subject_position.c.subject == event.subject)
    )
    current = await uow.session.scalar(select(subject_position.c.sequence).where(key))
    if current is None:
        await uow.session.execute(
            dialect_insert(uow.dialect, subject_position).values(
                consumer=consumer, source=event.source, subject=event.subject, sequence=sequence
            )
        )
        return True
    if sequence <= current:
        return False
    await uow.session.execute(update(subject_position).where(key).values(sequence=sequence))
    return True


async def apply_event(
    uow_factory: Callable[[], UnitOfWork],
    *,
    consumer: str,
    record: ConsumerRecord,
    event: CloudEvent,
    handler: Handler,
    replaying: bool = False,
) -> Applied:
    """Apply one event through its handler in one transaction with its inbox row.

    Returns `handled`, `duplicate` or `stale`; outside a replay, `dead_lettered_before` for
    an event this consumer has dead-lettered already. Raises whatever the handler raised,
    after rolling back.
    """
    correlation = correlation_id_var.set(event.correlationid or event.id)
    causation = causation_id_var.set(event.id)
    try:
        async with uow_factory() as uow:
            if not replaying and await is_dead_lettered(
                uow.session, consumer=consumer, event_id=event.id
            ):
                return DEAD_LETTERED_BEFORE
            if not await claim(uow, consumer=consumer, event=event, record=record):
                return DUPLICATE
            if not await advance_position(uow, consumer=consumer, event=event):
                return STALE
            await handler(event, uow)
        return HANDLED
    finally:
        correlation_id_var.reset(correlation)
        causation_id_var.reset(causation)


async def prune_inbox(
    uow_factory: Callable[[], UnitOfWork], *, older_than: datetime, chunk: int = 1000
) -> int:
    """Delete inbox rows handled before `older_than`, in chunks; returns the count."""
    return await delete_older_than(
        uow_factory, inbox, stamp=inbox.c.processed_at, older_than=older_than, chunk=chunk
    )
