"""The SQLite engines' driver (`shared.sqlite_driver`): every kind of statement SQLAlchemy
sends works as on aiosqlite's own cursor (rows, row counts, RETURNING, many parameter sets,
last row ids, errors), and each costs one trip to the connection's thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, CursorResult, Integer, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from shared import sqlite_driver
from shared.db import Database, new_metadata

metadata = new_metadata()
note = Table(
    "note",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(16), nullable=False, unique=True),
    Column("body", String(64), nullable=False),
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    await database.create_all([metadata])
    try:
        yield database
    finally:
        await database.dispose()


async def test_the_engines_connect_through_the_one_trip_driver(db: Database) -> None:
    for engine in (db.engine, db.read_engine):
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_driver.OneTripConnection)


async def test_every_kind_of_statement_answers_as_sqlalchemy_expects(db: Database) -> None:
    async with db.sessions() as session, session.begin():
        one = await session.execute(insert(note).values(key="a", body="first"))
        # `execute` types every result as a `Result`: a DML statement's is a `CursorResult`,
        # the kind that counts rows.
        assert isinstance(one, CursorResult)
        assert one.inserted_primary_key == (1,)
        many = await session.execute(
            insert(note), [{"key": "b", "body": "x"}, {"key": "c", "body": "x"}]
        )
        assert isinstance(many, CursorResult)
        assert many.rowcount == 2
        returned = await session.execute(
            update(note).where(note.c.body == "x").values(body="y").returning(note.c.key)
        )
        assert sorted(returned.scalars()) == ["b", "c"]
        changed = await session.execute(delete(note).where(note.c.key == "c"))
        assert isinstance(changed, CursorResult)
        assert changed.rowcount == 1
    async with db.reader() as session:
        rows = (await session.execute(select(note.c.key, note.c.body).order_by(note.c.id))).all()
        empty = (await session.execute(select(note).where(note.c.key == "zz"))).all()
    assert [tuple(row) for row in rows] == [("a", "first"), ("b", "y")]
    assert empty == []


async def insert_twice(db: Database, key: str) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(insert(note).values(key=key, body="kept?"))
        await session.execute(insert(note).values(key=key, body="again"))


async def test_an_error_fails_the_statement_and_rolls_back_its_transaction(db: Database) -> None:
    with pytest.raises(IntegrityError):
        await insert_twice(db, "a")
    async with db.sessions() as session, session.begin():
        await session.execute(insert(note).values(key="b", body="after"))
    async with db.reader() as session:
        assert list((await session.execute(select(note.c.key))).scalars()) == ["b"]


async def test_a_statement_costs_one_trip_to_the_connections_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[Any] = []
    queue = sqlite_driver.OneTripConnection._execute

    async def counted(self: sqlite_driver.OneTripConnection, fn: Any, *args: Any) -> Any:
        trips.append(fn)
        return await queue(self, fn, *args)

    async with db.reader() as session:
        await session.execute(select(note))  # the pool's connection is open and warm
        monkeypatch.setattr(sqlite_driver.OneTripConnection, "_execute", counted)
        rows = list((await session.execute(select(note.c.key))).all())
        rows += (await session.execute(select(note.c.body))).all()
    assert rows == []
    # Two statements, two trips; then the rollback that ends the session's transaction.
    assert len(trips) == 3
