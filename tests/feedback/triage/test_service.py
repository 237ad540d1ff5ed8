"""The triage queue on either database: a failed event waits for its backoff, a failure is
counted once, and given-up events go back to the queue only when an admin asks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.feedback.ingest import service as ingestion
from services.feedback.tables import customer_event
from services.feedback.tables import metadata as feedback_metadata
from services.feedback.triage import service as triaging
from services.feedback.triage.domain import RetryPolicy
from shared.auth import Principal
from shared.db import Database
from shared.tables import metadata as kernel_metadata
from shared.uow import UnitOfWork
from tests.feedback.conftest import event

NOW = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=3, first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=5)
)
STOREFRONT = Principal(
    subject="storefront-1", name="storefront", scopes=frozenset(), owner="storefront"
)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_all([kernel_metadata, feedback_metadata])
    yield database
    await database.dispose()


def unit_of_work(db: Database) -> UnitOfWork:
    return UnitOfWork(db, service="feedback", on_commit=lambda: None)


async def queue(db: Database, *event_ids: str) -> None:
    batch = ingestion.prepare(
        events=[event("question", event_id=event_id) for event_id in event_ids],
        principal=STOREFRONT,
        now=datetime.now(UTC),
    )
    async with unit_of_work(db) as uow:
        await ingestion.store(uow=uow, batches=[batch])


async def due(db: Database, now: datetime) -> list[str]:
    async with db.reader() as session:
        rows = await triaging.next_batch(session=session, size=100, now=now)
    return [row.event_id for row in rows]


async def fail(
    db: Database, now: datetime, *event_ids: str, policy: RetryPolicy = POLICY
) -> triaging.Failures:
    """The model fails on these events of the batch due at `now`."""
    async with db.reader() as session:
        rows = await triaging.next_batch(session=session, size=100, now=now)
    async with unit_of_work(db) as uow:
        return await triaging.record_failures(
            uow=uow,
            rows=[row for row in rows if row.event_id in event_ids],
            policy=policy,
            now=now,
        )


async def triage_of(db: Database, event_id: str) -> tuple[str, int]:
    async with db.reader() as session:
        row = (
            await session.execute(
                select(customer_event.c.triage, customer_event.c.triage_attempts).where(
                    customer_event.c.event_id == event_id
                )
            )
        ).one()
    return row.triage, row.triage_attempts


async def requeue(db: Database, event_ids: list[str] | None) -> int:
    async with unit_of_work(db) as uow:
        return await triaging.requeue_failed(uow=uow, event_ids=event_ids)


async def test_a_failed_event_waits_for_its_backoff_then_keeps_its_place(db: Database) -> None:
    await queue(db, "first", "second")

    assert await fail(db, NOW, "first") == triaging.Failures(retried=1, gave_up=0)

    assert await due(db, NOW) == ["second"]
    assert await due(db, NOW + timedelta(seconds=59)) == ["second"]
    assert await due(db, NOW + timedelta(minutes=1)) == ["first", "second"]
    assert await triage_of(db, "first") == ("queued", 1)


async def test_an_event_is_given_up_after_its_tries_then_requeued_afresh(db: Database) -> None:
    await queue(db, "unreadable")
    now = NOW
    outcomes = []
    for _ in range(POLICY.max_attempts):
        outcomes.append(await fail(db, now, "unreadable"))
        now += POLICY.max_delay

    assert [(o.retried, o.gave_up) for o in outcomes] == [(1, 0), (1, 0), (0, 1)]
    assert await triage_of(db, "unreadable") == ("failed", 3)
    assert await due(db, now + timedelta(days=365)) == []

    assert await requeue(db, None) == 1
    assert await triage_of(db, "unreadable") == ("queued", 0)
    assert await due(db, now) == ["unreadable"]


async def test_a_failure_read_by_two_workers_is_counted_once(db: Database) -> None:
    await queue(db, "shared")
    async with db.reader() as session:
        read_twice = [await triaging.next_batch(session=session, size=10, now=NOW)] * 2

    counted = []
    for rows in read_twice:
        async with unit_of_work(db) as uow:
            counted.append(
                await triaging.record_failures(uow=uow, rows=rows, policy=POLICY, now=NOW)
            )

    assert counted == [triaging.Failures(1, 0), triaging.Failures(0, 0)]
    assert await triage_of(db, "shared") == ("queued", 1)


async def test_requeue_by_ids_moves_only_the_failed_among_them(db: Database) -> None:
    once = RetryPolicy(max_attempts=1, first_delay=timedelta(1), max_delay=timedelta(1))
    await queue(db, "a", "b", "c")
    await fail(db, NOW, "a", "b", policy=once)

    assert await requeue(db, ["a", "c", "unknown"]) == 1

    assert await triage_of(db, "a") == ("queued", 0)
    assert await triage_of(db, "b") == ("failed", 1)
    assert await triage_of(db, "c") == ("queued", 0)
    assert await requeue(db, ["a"]) == 0
