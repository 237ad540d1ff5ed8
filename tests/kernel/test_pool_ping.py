"""A pooled PostgreSQL connection is tested as it is checked out (`shared.db._ping_on_checkout`):
one the server dropped while it sat in the pool is replaced before a transaction runs on it,
and a live one is kept."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from shared.db import Database
from tests.support import pg_database

pytestmark = pytest.mark.postgres


async def backend_pid(db: Database) -> int:
    async with db.engine.begin() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def terminate(url: str, pid: int) -> None:
    """End session `pid` from another connection, and wait until the server has."""
    other = Database(url)
    try:
        async with other.engine.begin() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):
            async with other.engine.begin() as conn:
                alive = await conn.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                )
            if not alive:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"session {pid} outlived pg_terminate_backend")
    finally:
        await other.dispose()


async def test_a_connection_dropped_in_the_pool_is_replaced_at_checkout() -> None:
    async with pg_database() as url:
        db = Database(url)
        try:
            dropped = await backend_pid(db)
            await terminate(url, dropped)

            # Without a test at checkout this transaction would fail on the dead connection.
            async with db.engine.begin() as conn:
                await conn.execute(text("CREATE TABLE thing (id int primary key)"))
                await conn.execute(text("INSERT INTO thing VALUES (1)"))
                replacement = await conn.scalar(text("SELECT pg_backend_pid()"))
            async with db.reader() as session:
                rows = list((await session.execute(text("SELECT id FROM thing"))).scalars())
        finally:
            await db.dispose()
    assert replacement != dropped
    assert rows == [1]


async def test_a_live_pooled_connection_is_kept() -> None:
    async with pg_database() as url:
        db = Database(url)
        try:
            first = await backend_pid(db)
            again = await backend_pid(db)
        finally:
            await db.dispose()
    assert again == first
