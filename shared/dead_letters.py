"""The dead-letter store: what a consumer could not apply, kept in its own database.

One row per `(consumer, event_id)`: a redelivered event is recognised and never dead-lettered
twice (reliability issue 9). The row keeps the record as it came (raw value, key, headers,
origin), so an operator can read it, replay it through the same handler and inbox, or discard
it with a reason. `dlq.<group>` on the broker gets a copy for tools that read topics.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from shared.db import rows_affected
from shared.inserts import dialect_insert
from shared.observability import DEAD_LETTERS
from shared.pagination import Keyset, Page
from shared.tables import dead_letter

ERROR_MESSAGE_LIMIT = 2000


class Status(StrEnum):
    OPEN = "open"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


def value_id(topic: str, value: bytes | None) -> str:
    """The key of a value that is no event (so it has no id): the same bytes on the same
    topic, the same key. The topic counts: the same bytes arriving on another topic are
    another record to keep (they were taken for a redelivery and left no trace)."""
    digest = hashlib.sha256(topic.encode())
    digest.update(b"\0")
    digest.update(value or b"")
    return "sha256:" + digest.hexdigest()


@dataclass(frozen=True)
class DeadLetter:
    """A record a consumer gives up on, and why."""

    consumer: str
    event_id: str
    type: str | None
    record: ConsumerRecord
    error: BaseException
    attempts: int

    def row(self, *, now: datetime) -> dict[str, Any]:
        record = self.record
        return {
            "id": str(uuid7()),
            "consumer": self.consumer,
            "event_id": self.event_id,
            "type": self.type,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode(errors="replace") if record.key is not None else None,
            "value": record.value or b"",
            # A header may come with no value at all (null), which is kept as such.
            "headers": [
                [name, None if value is None else value.decode(errors="replace")]
                for name, value in record.headers
            ],
            "error_type": type(self.error).__name__,
            "error_message": str(self.error)[:ERROR_MESSAGE_LIMIT],
            "attempts": self.attempts,
            "created_at": now,
            "status": Status.OPEN.value,
        }


def as_record(row: Any) -> ConsumerRecord:
    """A stored dead letter as the record it came from, to go through the inbox again."""
    headers = tuple(
        (name, None if value is None else value.encode()) for name, value in row.headers
    )
    key = row.key.encode() if row.key is not None else None
    return ConsumerRecord(
        row.topic, row.partition, row.offset, 0, 0, key, row.value, None, 0, 0, headers
    )


async def is_dead_lettered(session: AsyncSession, *, consumer: str, event_id: str) -> bool:
    """Whether this consumer has dead-lettered this event already (whatever became of it)."""
    found = await session.scalar(
        select(dead_letter.c.id).where(
            (dead_letter.c.consumer == consumer) & (dead_letter.c.event_id == event_id)
        )
    )
    return found is not None


async def record_dead_letter(
    session: AsyncSession, *, dialect: str, letter: DeadLetter, now: datetime
) -> bool:
    """Store a dead letter; False when this consumer had stored this event already."""
    result = await session.execute(
        dialect_insert(dialect, dead_letter).values(letter.row(now=now)).on_conflict_do_nothing()
    )
    return rows_affected(result) == 1


async def get_dead_letter(session: AsyncSession, *, letter_id: str) -> Any | None:
    """One dead letter by id, or None."""
    return (
        await session.execute(select(dead_letter).where(dead_letter.c.id == letter_id))
    ).one_or_none()


LETTERS = Keyset(dead_letter.c.id.desc())


async def list_dead_letters(
    session: AsyncSession,
    *,
    type: str | None,
    topic: str | None,
    consumer: str | None,
    status: Status | None,
    error: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Row[Any]]:
    """Dead letters, newest first (ids are UUIDv7), filtered, one keyset page."""
    stmt = select(dead_letter)
    for column, wanted in (
        (dead_letter.c.type, type),
        (dead_letter.c.topic, topic),
        (dead_letter.c.consumer, consumer),
        (dead_letter.c.status, status.value if status else None),
    ):
        if wanted is not None:
            stmt = stmt.where(column == wanted)
    if error:
        needle = error.lower()
        stmt = stmt.where(
            func.lower(dead_letter.c.error_type).contains(needle, autoescape=True)
            | func.lower(dead_letter.c.error_message).contains(needle, autoescape=True)
        )
    return await LETTERS.page(session, stmt, limit=limit, cursor=cursor)


async def resolve(
    session: AsyncSession,
    *,
    letter_id: str,
    status: Status,
    by: str,
    reason: str | None,
    now: datetime,
) -> bool:
    """Close an open dead letter; False when it was not open (someone else closed it)."""
    result = await session.execute(
        update(dead_letter)
        .where((dead_letter.c.id == letter_id) & (dead_letter.c.status == Status.OPEN.value))
        .values(status=status.value, resolved_at=now, resolved_by=by, reason=reason)
    )
    return rows_affected(result) == 1


async def record_failed_replay(
    session: AsyncSession, *, letter_id: str, error: BaseException
) -> None:
    """A replay failed: the letter stays open with the new error and one more attempt."""
    await session.execute(
        update(dead_letter)
        .where(dead_letter.c.id == letter_id)
        .values(
            error_type=type(error).__name__,
            error_message=str(error)[:ERROR_MESSAGE_LIMIT],
            attempts=dead_letter.c.attempts + 1,
        )
    )


async def count_dead_letters(session: AsyncSession, *, service: str) -> dict[str, dict[str, int]]:
    """Dead letters per consumer group and status; also sets the `/metrics` gauge."""
    rows = await session.execute(
        select(dead_letter.c.consumer, dead_letter.c.status, func.count()).group_by(
            dead_letter.c.consumer, dead_letter.c.status
        )
    )
    counts: dict[str, dict[str, int]] = {service: {}}
    for consumer, status, count in rows.all():
        counts.setdefault(consumer, {})[status] = count
    for consumer, by_status in counts.items():
        for status in Status:
            # Zeros are set too, so a group whose last letter was replayed shows 0, not stale.
            by_status.setdefault(status.value, 0)
            DEAD_LETTERS.labels(service, consumer, status.value).set(by_status[status.value])
    return counts
