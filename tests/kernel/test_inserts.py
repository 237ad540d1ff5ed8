"""The backend-specific inserts: the bulk insert stores values exactly as SQLAlchemy's own
insert does, and `dialect_insert` ignores or updates on conflict on both backends."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, String, Table, Text, insert, select, text

from shared import inserts
from shared.db import Database, new_metadata
from shared.inserts import dialect_insert, insert_rows
from shared.tables import JsonType
from shared.types import Amount, UtcDateTime

metadata = new_metadata()
thing = Table(
    "thing",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("amount", Amount, nullable=True),
    Column("note", Text, nullable=True),
    Column("count", Integer, nullable=True),
    Column("meta", JsonType, nullable=False),
)


async def test_bulk_rows_read_back_like_orm_rows(database_url: str) -> None:
    db = Database(database_url)
    await db.create_all([metadata])
    moment = datetime(2025, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    meta = {"content-type": "application/cloudevents+json"}
    row = {
        "id": "bulk",
        "at": moment,
        # Money is never a float: 10.10 must stay 10.10, not 10.1 or 10.0999...
        "amount": Decimal("10.10"),
        "note": "line one\nline two",
        "count": None,
        "meta": meta,
    }
    try:
        async with db.sessions() as session, session.begin():
            # The same objects in several rows: each is converted once and stored in each.
            await insert_rows(session, thing, [row, {**row, "id": "bulk-2"}])
            await session.execute(insert(thing), [{**row, "id": "orm"}])
        async with db.reader() as session:
            stored = {r.id: r for r in (await session.execute(select(thing))).all()}
            if db.is_sqlite:
                raw = (
                    await session.execute(text("SELECT at, amount, meta FROM thing ORDER BY id"))
                ).all()
                assert raw[0] == raw[1] == raw[2]
        bulk, orm = stored["bulk"], stored["orm"]
        assert bulk.at == moment
        assert bulk.amount == Decimal("10.10")
        assert str(bulk.amount) in {"10.10", "10.1000"}
        assert bulk.meta == meta
        assert stored["bulk-2"]._mapping == {**bulk._mapping, "id": "bulk-2"}
        assert {k: v for k, v in bulk._mapping.items() if k != "id"} == {
            k: v for k, v in orm._mapping.items() if k != "id"
        }
    finally:
        await db.dispose()


async def test_no_rows_insert_nothing(database_url: str) -> None:
    db = Database(database_url)
    await db.create_all([metadata])
    try:
        async with db.sessions() as session, session.begin():
            await insert_rows(session, thing, [])
        async with db.reader() as session:
            assert (await session.execute(select(thing))).all() == []
    finally:
        await db.dispose()


async def test_dialect_insert_ignores_or_updates_on_conflict(database_url: str) -> None:
    db = Database(database_url)
    await db.create_all([metadata])
    moment = datetime(2025, 5, 1, tzinfo=UTC)
    first = {"id": "a", "at": moment, "note": "first", "count": 1, "meta": {}}
    try:
        async with db.sessions() as session, session.begin():
            stmt = dialect_insert(db.dialect, thing)
            await session.execute(stmt.values(first).on_conflict_do_nothing())
            await session.execute(
                stmt.values({**first, "note": "ignored"}).on_conflict_do_nothing()
            )
            await session.execute(
                stmt.values({**first, "id": "b"}).on_conflict_do_update(
                    index_elements=["id"], set_={"count": thing.c.count + 1}
                )
            )
            await session.execute(
                stmt.values({**first, "id": "b"}).on_conflict_do_update(
                    index_elements=["id"], set_={"count": thing.c.count + 1}
                )
            )
        async with db.reader() as session:
            rows = {r.id: r for r in (await session.execute(select(thing))).all()}
        assert rows["a"].note == "first"
        assert rows["b"].count == 2
    finally:
        await db.dispose()


async def test_bulk_insert_skips_rows_conflicting_on_the_named_key(database_url: str) -> None:
    db = Database(database_url)
    await db.create_all([metadata])
    moment = datetime(2025, 5, 1, tzinfo=UTC)
    row = {"id": "a", "at": moment, "amount": None, "note": "first", "count": 1, "meta": {}}
    try:
        async with db.sessions() as session, session.begin():
            assert await insert_rows(session, thing, [row]) == 1
        async with db.sessions() as session, session.begin():
            inserted = await insert_rows(
                session,
                thing,
                [{**row, "note": "replayed"}, {**row, "id": "b"}],
                skip_conflicts_on=("id",),
            )
        if db.is_sqlite:  # the count the SQLite path relies on
            assert inserted == 1
        async with db.reader() as session:
            rows = {r.id: r.note for r in (await session.execute(select(thing))).all()}
        assert rows == {"a": "first", "b": "first"}
    finally:
        await db.dispose()


def test_the_sqlite_in_use_binds_as_many_parameters_as_one_insert_may_use() -> None:
    connection = sqlite3.connect(":memory:")
    try:
        limit = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    finally:
        connection.close()
    assert limit >= inserts.SQLITE_MAX_VARIABLES


async def test_rows_past_one_statements_parameters_go_in_several_and_are_all_counted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Three rows of six columns a statement, so 10 rows take four statements.
    monkeypatch.setattr(inserts, "SQLITE_MAX_VARIABLES", 18)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}")
    await db.create_all([metadata])
    moment = datetime(2025, 5, 1, tzinfo=UTC)

    def row(key: str, note: str) -> dict[str, Any]:
        return {"id": key, "at": moment, "amount": None, "note": note, "count": 1, "meta": {}}

    try:
        async with db.sessions() as session, session.begin():
            assert await insert_rows(session, thing, [row("k4", "first")]) == 1
        batch = [row(f"k{n}", "batch") for n in range(10)] + [row("k2", "again")]
        async with db.sessions() as session, session.begin():
            inserted = await insert_rows(session, thing, batch, skip_conflicts_on=("id",))
        assert inserted == 9, "k4 was stored before, and k2 came twice"
        async with db.reader() as session:
            notes = dict((await session.execute(select(thing.c.id, thing.c.note))).all())
        assert notes == {f"k{n}": "first" if n == 4 else "batch" for n in range(10)}
    finally:
        await db.dispose()
