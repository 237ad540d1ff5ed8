"""The unit of work's outbox: `publish` and `publish_many` write rows in order, in the
transaction, stamped by its clock, and wake the relay once per commit. SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, String, Table, select

from shared.db import Database, new_metadata
from shared.events import CloudEvent, decode, encode_new_events, encoded, new_event
from shared.tables import metadata as kernel_metadata
from shared.tables import outbox
from shared.uow import UnitOfWork

MOMENT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
metadata = new_metadata()
note = Table("note", metadata, Column("id", String(32), primary_key=True))


class Wakeups:
    """Stands in for the relay's `notify`: counts the wake-ups."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_all([kernel_metadata, metadata])
    yield database
    await database.dispose()


def uow_on(db: Database, wakeups: Wakeups) -> UnitOfWork:
    return UnitOfWork(db, service="shop", on_commit=wakeups, clock=lambda: MOMENT)


def event(subject: str, n: int) -> CloudEvent:
    return new_event(source="/shop", type="shop.thing.v1", subject=subject, data={"n": n})


async def stored(db: Database) -> list:
    async with db.reader() as session:
        return list((await session.execute(select(outbox).order_by(outbox.c.seq))).all())


async def test_publish_many_writes_rows_in_order_and_wakes_the_relay_once(db: Database) -> None:
    wakeups = Wakeups()
    single, last = event("p-0", 0), event("p-last", 1201)
    many = encode_new_events(
        source="/shop",
        type="shop.bulk.v1",
        time=MOMENT,
        items=[(f"p-{n % 7}", {"n": n}) for n in range(1, 1201)],
    )
    async with uow_on(db, wakeups) as uow:
        await uow.session.execute(note.insert().values(id="n-1"))
        uow.publish(single)
        uow.publish_many(many, topic="storefront.things")
        uow.publish_many(iter([last]))
        assert await stored(db) == [], "nothing is visible before the commit"
    assert wakeups.count == 1
    rows = await stored(db)
    published = [encoded(single), *many, encoded(last)]
    assert [row.id for row in rows] == [e.id for e in published]
    assert [row.payload for row in rows] == [e.value for e in published]
    assert decode(rows[0].payload) == single
    assert [row.key for row in rows] == [e.subject for e in published]
    assert [row.type for row in rows] == [e.type for e in published]
    assert {row.topic for row in rows[1:-1]} == {"storefront.things"}
    assert (rows[0].topic, rows[-1].topic) == ("shop.events", "shop.events")
    assert {row.created_at for row in rows} == {MOMENT}
    assert all(row.headers == {"content-type": "application/cloudevents+json"} for row in rows)
    assert all(row.attempts == 0 and row.published_at is None for row in rows)


async def test_a_commit_without_events_wakes_nothing(db: Database) -> None:
    wakeups = Wakeups()
    async with uow_on(db, wakeups) as uow:
        await uow.session.execute(note.insert().values(id="n-2"))
        uow.publish_many([])
    assert wakeups.count == 0
    assert await stored(db) == []


async def test_a_rollback_drops_the_events_and_wakes_nothing(db: Database) -> None:
    wakeups = Wakeups()

    async def failing_use_case() -> None:
        async with uow_on(db, wakeups) as uow:
            await uow.session.execute(note.insert().values(id="n-3"))
            uow.publish_many([event("p-1", 1), event("p-2", 2)])
            raise RuntimeError("use case failed")

    with pytest.raises(RuntimeError, match="use case failed"):
        await failing_use_case()
    assert wakeups.count == 0
    assert await stored(db) == []
    async with db.reader() as session:
        assert (await session.execute(select(note))).all() == []


async def test_each_commit_wakes_the_relay_once_and_starts_empty(db: Database) -> None:
    wakeups = Wakeups()
    uow = uow_on(db, wakeups)
    for n in range(3):
        async with uow:
            uow.publish_many([event("p", 2 * n), event("p", 2 * n + 1)])
    assert wakeups.count == 3
    assert [decode(row.payload).data["n"] for row in await stored(db)] == list(range(6))


# --- SQLite's writer runs in the event loop's thread, but never waits for a lock there -------


async def test_sqlite_writer_waits_for_another_writer_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create_all([kernel_metadata, metadata])
    # Another process's writer (here a plain connection) holds the write lock.
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO note (id) VALUES ('theirs')")
    ticks: list[int] = []
    turned = asyncio.Event()

    async def ticker() -> None:
        while True:
            ticks.append(len(ticks))
            if len(ticks) == 50:
                turned.set()
            await asyncio.sleep(0)

    ticks_at_begin: list[int] = []

    async def write() -> None:
        async with uow_on(db, Wakeups()) as uow:
            # The first statement begins the transaction: BEGIN IMMEDIATE waits for the lock
            # in aiosqlite's thread.
            await uow.session.execute(note.insert().values(id="ours"))
            ticks_at_begin.append(len(ticks))
            uow.publish(event("n-1", 1))

    writing = asyncio.create_task(write())
    ticking = asyncio.create_task(ticker())
    # The loop keeps turning while the writer waits for the lock...
    await turned.wait()
    assert not writing.done()
    assert ticks_at_begin == []
    other.execute("COMMIT")
    other.close()
    await writing
    ticking.cancel()

    # ...and the write goes through once the other writer is done.
    assert ticks_at_begin[0] >= 50
    async with db.reader() as session:
        assert set((await session.scalars(select(note.c.id))).all()) == {"theirs", "ours"}
    assert [row.key for row in await stored(db)] == ["n-1"]
    await db.dispose()
