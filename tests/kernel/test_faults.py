"""Which failures hold a partition (the database's) and which dead-letter (the event's).

Every error here is a real one, raised by SQLite, PostgreSQL or pydantic, not built by hand.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from shared.broker import free_port
from shared.db import Database
from shared.errors import Invalid
from shared.faults import InvalidEvent, is_event_error, is_transient
from tests.support import pg_database


async def error_of(statement: str, url: str, **engine_options: object) -> BaseException:
    engine = create_async_engine(url, **engine_options)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    except Exception as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError(f"{statement} did not fail")


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'faults.db'}"
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE thing (id INTEGER PRIMARY KEY)"))
    await db.dispose()
    return url


async def test_a_locked_sqlite_database_is_transient(sqlite_url: str) -> None:
    holder = Database(sqlite_url)
    try:
        async with holder.engine.begin() as conn:  # BEGIN IMMEDIATE: the write lock
            await conn.execute(text("INSERT INTO thing (id) VALUES (1)"))
            # A second writer that does not wait for the lock gets SQLite's own error.
            locked = await error_of("DELETE FROM thing", sqlite_url, connect_args={"timeout": 0})
    finally:
        await holder.dispose()
    assert "database is locked" in str(locked)
    assert is_transient(locked)
    assert not is_event_error(locked)


@pytest.mark.parametrize(
    "statement", ["SELEKT 1", "SELECT * FROM no_such_table", "INSERT INTO thing VALUES (1, 2)"]
)
async def test_other_sqlite_operational_errors_are_not_transient(
    sqlite_url: str, statement: str
) -> None:
    error = await error_of(statement, sqlite_url)
    assert not is_transient(error), error
    assert not is_event_error(error)


async def test_a_refused_postgres_connection_is_transient() -> None:
    db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing")
    try:
        with pytest.raises(ConnectionRefusedError) as refused:
            await db.ping()
    finally:
        await db.dispose()
    assert is_transient(refused.value), repr(refused.value)


@pytest.mark.postgres
async def test_a_postgres_connection_killed_mid_transaction_is_transient() -> None:
    async with pg_database() as url:
        db = Database(url)
        try:
            async with db.engine.connect() as victim:
                pid = await victim.scalar(text("SELECT pg_backend_pid()"))
                async with db.engine.connect() as other:
                    await other.execute(text(f"SELECT pg_terminate_backend({pid})"))
                with pytest.raises(DBAPIError) as killed:
                    await victim.execute(text("SELECT 1"))
        finally:
            await db.dispose()
    assert is_transient(killed.value), repr(killed.value)


@pytest.mark.postgres
async def test_postgres_errors_of_the_statement_are_not_transient() -> None:
    async with pg_database() as url:
        duplicate = await error_of(
            "CREATE TABLE t (id int primary key); INSERT INTO t VALUES (1), (1)", url
        )
        syntax = await error_of("SELEKT 1", url)
    for error in (duplicate, syntax):
        assert not is_transient(error), repr(error)
        assert not is_event_error(error)


async def test_timeouts_are_transient() -> None:
    with pytest.raises(TimeoutError) as timed_out:
        async with asyncio.timeout(0):
            await asyncio.sleep(1)
    assert is_transient(timed_out.value)


class Payload(BaseModel):
    quantity: int


def test_validation_and_domain_errors_are_the_events_own() -> None:
    with pytest.raises(ValidationError) as invalid:
        Payload.model_validate({"quantity": "many"})
    refused = Invalid("a purchase needs a quantity")
    unreadable = InvalidEvent("feedback.requirement.identified.v1 e-1 has no words in its text")
    for error in (invalid.value, refused, unreadable):
        assert is_event_error(error)
        assert not is_transient(error)


def test_a_plain_bug_is_neither() -> None:
    empty: dict[str, int] = {}
    with pytest.raises(KeyError) as bug:
        empty["missing"]
    assert not is_event_error(bug.value)
    assert not is_transient(bug.value)
