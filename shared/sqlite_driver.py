"""aiosqlite connections that run a statement, and read all its rows, in one trip to the
connection's thread.

aiosqlite runs each call on the connection's own thread and hands its result back to the
event loop: SQLAlchemy's adapter makes four such calls a statement (open a cursor, execute,
fetch the rows, close). Each trip needs the event loop's thread, and the GIL, twice; while
the loop runs Python for other requests (validating a batch) each of them waits, up to the
interpreter's switch interval. On SQLite the one write connection is the serial part of
every write, so those waits stretched every transaction. Here the cursor does the four on
the thread in one call and keeps what SQLAlchemy reads afterwards (the description, the row
count, the last row id, the rows). Measured (`tests/perf/bench_sqlite_inserts.py`): a
500-row ingestion insert beside a busy thread, 95 ms before and 54 ms after; in
`bench_ingest --roles split`, acceptance 0.45-0.49x raw before, 0.51-0.56x after.

No statement here streams its rows (`stream()`, `yield_per`): a result is read whole, as
SQLAlchemy's aiosqlite adapter reads it for every ordinary statement.

This leans on aiosqlite's `Connection._execute` (queue a function for the connection's
thread) and `_thread`, private names: `pyproject.toml` bounds the aiosqlite version, and
`tests/kernel/test_sqlite_driver.py` runs the engine through every kind of statement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

_Ran = tuple[Any, int, int | None, list[Any]]


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, *, many: bool = False) -> _Ran:
    """On the connection's thread: one statement, executed, read and closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        # After the rows: SQLite counts the rows a RETURNING statement changed as they are read.
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class _Cursor:
    """What SQLAlchemy's aiosqlite adapter asks of a cursor, answered from one call."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: list[Any] = []

    async def __aenter__(self) -> _Cursor:
        return self

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        self._keep(await self._connection.run(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> _Cursor:
        self._keep(await self._connection.run(sql, parameters, many=True))
        return self

    def _keep(self, ran: _Ran) -> None:
        self.description, self.rowcount, self.lastrowid, self._rows = ran

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        """Nothing to do: the statement's cursor was closed on the thread."""


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors cost one trip to its thread a statement."""

    def cursor(self) -> _Cursor:  # type: ignore[override]
        return _Cursor(self)

    async def run(self, sql: str, parameters: Any, *, many: bool = False) -> _Ran:
        def on_thread() -> _Ran:
            return _run(self._conn, sql, parameters, many=many)

        ran: _Ran = await self._execute(on_thread)  # type: ignore[no-untyped-call]
        return ran


async def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """Open `database` as `aiosqlite.connect` would (`kwargs` for `sqlite3.connect`)."""

    def connector() -> sqlite3.Connection:
        opened: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return opened

    connection = OneTripConnection(connector, iter_chunk_size=64)
    # As SQLAlchemy does for aiosqlite's own: a connection never closed must not keep the
    # interpreter alive at exit.
    connection._thread.daemon = True
    await connection
    return connection
