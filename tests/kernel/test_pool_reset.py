"""A SQLite connection goes back to its pool without a transaction: one left open is rolled
back on its return (`shared.db._end_open_transaction`, which skips the round trip when
none is open)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from shared.db import Database


async def test_a_transaction_left_open_is_rolled_back_when_its_connection_returns(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'reset.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE thing (id INTEGER PRIMARY KEY)")
        async with db.engine.connect() as conn:
            # Begun and written under SQLAlchemy's nose, so only the pool can end it.
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute("BEGIN IMMEDIATE")
            await driver.execute("INSERT INTO thing (id) VALUES (1)")
            assert driver.in_transaction
        # The writer's one connection is free again (a held write lock would make this
        # BEGIN IMMEDIATE wait out the busy timeout, then fail), and the row never was.
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("INSERT INTO thing (id) VALUES (2)")
        async with db.reader() as session:
            ids = list((await session.execute(text("SELECT id FROM thing"))).scalars())
        assert ids == [2]
    finally:
        await db.dispose()
