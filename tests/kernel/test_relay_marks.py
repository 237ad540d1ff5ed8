"""The relay writes the marks of what it published together, not once a round (issue 16),
against the real embedded broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from shared.db import Database
from shared.relay import OutboxRelay
from shared.tables import outbox
from tests.kernel.test_relay_failures import read_data, sample_event, write_events

pytestmark = pytest.mark.broker


def count_marks(db: Database) -> list[str]:
    """The statements that mark rows published, as the engine runs them."""
    marks: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX SET PUBLISHED_AT"):
            marks.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    return marks


async def unpublished(db: Database) -> int:
    async with db.reader() as session:
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int(await session.scalar(query) or 0)


def relay_of_tens(make_settings: Any, db: Database, interval_s: float) -> OutboxRelay:
    """A relay taking rounds of at most 10 rows, writing its marks `interval_s` apart."""
    settings = make_settings(relay_batch_size=10, relay_mark_interval_s=interval_s)
    return OutboxRelay(db=db, settings=settings, service="s")


async def drain_counting_marks(relay: OutboxRelay, db: Database) -> tuple[int, list[str]]:
    """One drain, then the relay closed: what it published, and its mark statements."""
    marks = count_marks(db)
    try:
        return await relay.drain(), marks
    finally:
        await relay.close()


@pytest.mark.parametrize(("interval_s", "writes"), [(3600.0, 1), (0.0, 4)])
async def test_a_drain_marks_every_row_it_sent_once_sent_each_once(
    make_settings, broker, db, topic, interval_s, writes
):
    relay = relay_of_tens(make_settings, db, interval_s)
    await write_events(db, topic, [sample_event("k", n=n) for n in range(35)])
    published, marks = await drain_counting_marks(relay, db)
    assert published == 35

    # Rows sent but not yet marked are left out of the next rounds: nothing goes twice.
    found = await read_data(broker.bootstrap, topic, 36, timeout_s=3)
    assert [one["n"] for one in found] == list(range(35))
    assert await unpublished(db) == 0
    # Four rounds of at most 10: marked at the end of the drain, or after every round when
    # the interval is over at once.
    assert len(marks) == writes


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_relay_publishes_while_another_process_holds_the_write_lock(
    make_settings, broker, db, topic
):
    # An API-only replica ingesting into the same SQLite file holds its one write lock most
    # of the time; the relay must not wait for it once a round.
    relay = relay_of_tens(make_settings, db, 3600)
    await write_events(db, topic, [sample_event("k", n=n) for n in range(35)])
    other = sqlite3.connect(make_url(db.url).database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    drain = asyncio.create_task(relay.drain())
    try:
        found = await read_data(broker.bootstrap, topic, 35)
        assert [one["n"] for one in found] == list(range(35))
        assert not drain.done(), "the marks wait for the lock, the sends did not"
        assert await unpublished(db) == 35
    finally:
        other.execute("COMMIT")
        other.close()
    assert await asyncio.wait_for(drain, timeout=30) == 35
    await relay.close()
    assert await unpublished(db) == 0


async def test_a_round_that_leaves_rows_behind_marks_at_once(make_settings, broker, db, topic):
    # A partition's record batch holds 256 KiB: a round of ten 100 kB events sends two and
    # leaves the rest pending before its last row, so later rounds may not read past it.
    relay = relay_of_tens(make_settings, db, 3600)
    await write_events(db, topic, [sample_event("k", n=n, text="x" * 100_000) for n in range(10)])
    published, marks = await drain_counting_marks(relay, db)
    assert published == 10

    found = await read_data(broker.bootstrap, topic, 11, timeout_s=3)
    assert [one["n"] for one in found] == list(range(10))
    assert await unpublished(db) == 0
    assert len(marks) > 1
