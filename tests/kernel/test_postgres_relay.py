"""The outbox relay on PostgreSQL: one leader per service by advisory lock, and pruning."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import event, func, select, text, update

from shared.broker import EmbeddedBroker, ensure_topics
from shared.db import Database
from shared.events import new_event
from shared.relay import OutboxRelay
from shared.settings import Settings
from shared.tables import metadata, outbox
from shared.uow import UnitOfWork
from tests.support import eventually, pg_database

pytestmark = [pytest.mark.postgres, pytest.mark.broker]

SERVICE = "pgrelay"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def read_keys(bootstrap: str, topic: str, count: int, timeout_s: float = 30) -> list[str]:
    """The keys of a topic's records, read from the beginning until `count` arrived."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    keys: list[str] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(keys) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                keys.extend(r.key.decode() for r in records)
    finally:
        await consumer.stop()
    return keys


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with pg_database() as url:
        yield url


@pytest.fixture
async def databases(pg_url) -> AsyncIterator[tuple[Database, Database]]:
    """Two engines on one database, as two replicas of a service would have."""
    first, second = Database(pg_url), Database(pg_url)
    try:
        await first.create_all([metadata])
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


@pytest.fixture
async def topic(broker) -> str:
    name = unique("pgrelay.events")
    await ensure_topics(broker.bootstrap, [name], partitions=1)
    return name


async def write_events(db: Database, topic: str, count: int, prefix: str) -> list[str]:
    """Commit `count` events to the outbox through a unit of work; returns their keys."""
    keys = [f"{prefix}-{n}" for n in range(count)]
    async with UnitOfWork(db, service=SERVICE, on_commit=lambda: None) as uow:
        for key in keys:
            uow.publish(
                new_event(source="/pgrelay", type="pgrelay.thing.v1", subject=key, data={}),
                topic=topic,
            )
    return keys


async def unpublished(db: Database) -> int:
    async with db.reader() as session:
        count = await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
    assert count is not None  # a count has one row
    return count


async def close(*relays: OutboxRelay) -> None:
    """What the end of `run()` does for a relay only ever drained by hand."""
    for relay in relays:
        await relay._drop_producer()
        await relay._release_leadership()


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=10)


async def test_one_relay_leads_and_the_other_takes_over_after_it_stops(
    make_settings: Callable[..., Settings],
    broker: EmbeddedBroker,
    databases: tuple[Database, Database],
    topic: str,
) -> None:
    settings = make_settings(relay_poll_s=0.1)
    first = OutboxRelay(db=databases[0], settings=settings, service=SERVICE)
    second = OutboxRelay(db=databases[1], settings=settings, service=SERVICE)
    tasks: list[asyncio.Task[None]] = []
    try:
        keys = await write_events(databases[0], topic, 5, "a")
        counts = await asyncio.gather(first.drain(), second.drain())
        assert sorted(counts) == [0, 5], "exactly one relay published, the other stood by"
        leader, follower = (first, second) if counts[0] == 5 else (second, first)
        assert await unpublished(databases[0]) == 0

        # The follower stays out while the leader holds the lock, drain after drain.
        later = await write_events(databases[0], topic, 3, "b")
        assert await follower.drain() == 0
        assert await follower.drain() == 0
        assert await unpublished(databases[0]) == 3

        tasks.append(asyncio.create_task(leader.run(), name="leader"))
        await eventually(lambda: _unpublished_is(databases[0], 0))
        await stop(tasks.pop())  # its `finally` gives up leadership

        last = await write_events(databases[0], topic, 4, "c")
        # Bounded: the follower gets the lock once the leader's session let it go.
        deadline = time.monotonic() + 5
        taken = 0
        while taken == 0 and time.monotonic() < deadline:
            taken = await follower.drain()
            if taken == 0:
                await asyncio.sleep(0.2)
        assert taken == 4, "the follower took over once the leader stopped"
        assert await unpublished(databases[0]) == 0
        # The old leader, should it come back, now stands by.
        await write_events(databases[0], topic, 1, "d")
        assert await leader.drain() == 0
    finally:
        for task in tasks:
            await stop(task)
        await close(first, second)

    published = await read_keys(broker.bootstrap, topic, 12)
    assert sorted(published) == sorted(keys + later + last)


async def test_only_one_relay_publishes_at_a_time(make_settings, broker, databases, topic):
    """Drained side by side, round after round, two relays never both publish."""
    settings = make_settings()
    relays = [OutboxRelay(db=db, settings=settings, service=SERVICE) for db in databases]
    try:
        keys = await write_events(databases[0], topic, 6, "x")
        counts = await asyncio.gather(*(relay.drain() for relay in relays))
        assert sorted(counts) == [0, 6]
        more = await write_events(databases[1], topic, 2, "y")
        counts = await asyncio.gather(*(relay.drain() for relay in relays))
        assert sorted(counts) == [0, 2]
        assert sum(relay.published_total for relay in relays) == 8
        assert 0 in [relay.published_total for relay in relays]
    finally:
        await close(*relays)
    assert sorted(await read_keys(broker.bootstrap, topic, 8)) == sorted(keys + more)


async def terminate_lock_holder(db: Database) -> None:
    """Kill the session holding the relay's advisory lock, as an operator or a failover may."""
    async with db.engine.connect() as conn:
        pids = list(
            await conn.scalars(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            )
        )
        assert len(pids) == 1
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]})
        await conn.commit()


async def test_a_leader_whose_session_was_killed_stops_publishing(
    make_settings, broker, databases, topic
):
    settings = make_settings()
    first = OutboxRelay(db=databases[0], settings=settings, service=SERVICE)
    second = OutboxRelay(db=databases[1], settings=settings, service=SERVICE)
    try:
        early = await write_events(databases[0], topic, 2, "early")
        assert await first.drain() == 2
        await terminate_lock_holder(databases[1])
        # The lock went with the session: the other relay takes over...
        late = await write_events(databases[0], topic, 3, "late")
        assert await second.drain() == 3
        # ...and the old leader, which never gave up on its own, must notice and stand by.
        last = await write_events(databases[0], topic, 2, "last")
        assert await first.drain() == 0
        assert await second.drain() == 2
    finally:
        await close(first, second)
    assert sorted(await read_keys(broker.bootstrap, topic, 7)) == sorted(early + late + last)


async def test_relays_of_different_services_do_not_block_each_other(
    make_settings, broker, databases, topic
):
    settings = make_settings()
    mine = OutboxRelay(db=databases[0], settings=settings, service=SERVICE)
    other = OutboxRelay(db=databases[1], settings=settings, service="another-service")
    try:
        await write_events(databases[0], topic, 2, "s")
        assert await mine.drain() == 2
        await write_events(databases[0], topic, 1, "t")
        # Same table, different lock name: the other service's relay leads its own outbox.
        assert await other.drain() == 1
    finally:
        await close(mine, other)


async def _unpublished_is(db: Database, expected: int) -> bool:
    return await unpublished(db) == expected


async def test_prune_deletes_only_rows_published_before_the_window(
    make_settings, broker, databases, topic
):
    db = databases[0]
    relay = OutboxRelay(db=db, settings=make_settings(), service=SERVICE)
    try:
        await write_events(db, topic, 3, "old")
        assert await relay.drain() == 3
    finally:
        await close(relay)
    pending = await write_events(db, topic, 2, "pending")

    async with db.sessions() as session, session.begin():
        seqs = list(
            await session.scalars(
                select(outbox.c.seq)
                .where(outbox.c.published_at.is_not(None))
                .order_by(outbox.c.seq)
            )
        )
        assert len(seqs) == 3
        await session.execute(
            update(outbox)
            .where(outbox.c.seq == seqs[0])
            .values(published_at=datetime.now(UTC) - timedelta(days=3))
        )
        await session.execute(
            update(outbox)
            .where(outbox.c.seq == seqs[1])
            .values(published_at=datetime.now(UTC) - timedelta(hours=1))
        )

    async def remaining() -> list[str]:
        async with db.reader() as session:
            return sorted(await session.scalars(select(outbox.c.key)))

    day = OutboxRelay(db=db, settings=make_settings(outbox_retention_s=86_400), service=SERVICE)
    assert await day.prune() == 1, "only the row published three days ago is past a day"
    assert len(await remaining()) == 4

    now = OutboxRelay(db=db, settings=make_settings(outbox_retention_s=0), service=SERVICE)
    assert await now.prune() == 2, "with no retention every published row goes"
    assert await remaining() == sorted(pending), "unpublished rows are never pruned"
    assert await now.prune() == 0
    assert await unpublished(db) == 2


async def test_a_batch_read_stops_at_its_batch_whatever_the_backlog(make_settings, databases):
    """PostgreSQL, guessing few rows pending (no statistics yet, or taken when few were),
    would collect the whole backlog and sort it for every batch; the relay's read walks
    the pending rows in order and stops at the batch."""
    db = databases[0]
    await write_events(db, "pgrelay.backlog", 2000, "backlog")
    relay = OutboxRelay(db=db, settings=make_settings(relay_batch_size=50), service=SERVICE)

    def explained(_conn, _cursor, statement, parameters, _context, _many):
        if "OVER" in statement:  # the batch read, run for its plan
            statement = f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}"
        return statement, parameters

    event.listen(db.engine.sync_engine, "before_cursor_execute", explained, retval=True)
    try:
        [(plan,)] = await relay._next_batch()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", explained)
    scans = [node for node in plan_nodes(plan[0]["Plan"]) if node.get("Relation Name")]
    assert [(node["Node Type"], node["Relation Name"]) for node in scans] == [
        ("Index Scan", "outbox")
    ]
    # The window functions may look a row or two past the batch: never at the backlog.
    assert scans[0]["Actual Rows"] < 2 * 50, "about one batch read, not the 2,000 pending"


def plan_nodes(node: dict) -> list[dict]:
    return [node, *(one for child in node.get("Plans", []) for one in plan_nodes(child))]
