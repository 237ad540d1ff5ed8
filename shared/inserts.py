"""INSERT statements that differ between SQLite and PostgreSQL.

`dialect_insert` gives the backend's own INSERT, which knows `ON CONFLICT DO NOTHING` and
upserts (`on_conflict_do_nothing()`, `on_conflict_do_update(...)`); `insert_rows` is the
many-row insert of the hot paths (the outbox, ingestion).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import rows_affected


def dialect_insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` with ON CONFLICT support on `dialect` ("postgresql" or
    "sqlite", as `Database.dialect` and `UnitOfWork.dialect` name it)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_conflicts_on: Sequence[str] = (),
) -> int:
    """Insert rows that all have the same keys, in one statement; returns how many were
    inserted as the driver counts them (exact on SQLite).

    `skip_conflicts_on`: the columns of a unique constraint; a row that would break it is
    left out (`ON CONFLICT (...) DO NOTHING`), any other error still fails the insert.

    On SQLite the rows go straight to the driver with each column's own bind processor
    applied (so values are stored exactly as SQLAlchemy would store them), skipping
    SQLAlchemy's per-parameter statement machinery, which costs more than SQLite's own
    work here; and as multi-row `VALUES`, not `executemany` (`sqlite_insert_statement`).
    PostgreSQL takes SQLAlchemy's multi-row INSERT.
    """
    if not rows:
        return 0
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        statement = dialect_insert(dialect.name, table)
        if skip_conflicts_on:
            statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        return rows_affected(await session.execute(statement, list(rows)))
    columns = list(rows[0])
    processors = [
        (position, processor)
        for position, name in enumerate(columns)
        # dialect_impl: the processor SQLAlchemy itself would use on this backend.
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        is not None
    ]
    # Many columns hold one object for the whole batch (its time, the outbox headers):
    # each processor remembers its last input, so that object is converted once.
    last: dict[int, tuple[Any, Any]] = {}
    params: list[Any] = []
    for row in rows:
        values = [row[name] for name in columns]
        for position, processor in processors:
            value = values[position]
            seen = last.get(position)
            if seen is not None and seen[0] is value:
                values[position] = seen[1]
            else:
                values[position] = converted = processor(value)
                last[position] = (value, converted)
        params.extend(values)
    per_statement = max(1, SQLITE_MAX_VARIABLES // len(columns))
    inserted = 0
    for start in range(0, len(rows), per_statement):
        count = min(per_statement, len(rows) - start)
        result = await connection.exec_driver_sql(
            sqlite_insert_statement(table.name, tuple(columns), count, tuple(skip_conflicts_on)),
            tuple(params[start * len(columns) : (start + count) * len(columns)]),
        )
        # SQLite counts the rows one statement inserted; a skipped conflict inserts none.
        inserted += result.rowcount
    return inserted


# The most parameters one SQLite statement may bind: SQLITE_MAX_VARIABLE_NUMBER's default
# since SQLite 3.32 (tests/kernel/test_inserts.py checks the SQLite in use allows it).
SQLITE_MAX_VARIABLES = 32_766


@functools.lru_cache(maxsize=64)
def sqlite_insert_statement(
    table: str, columns: tuple[str, ...], rows: int, conflict: tuple[str, ...]
) -> str:
    """`INSERT INTO table (columns) VALUES (?, ...), ... [ON CONFLICT (...) DO NOTHING]` for
    `rows` rows.

    One statement, not `executemany`: sqlite3 lets go of the GIL around each row's step and
    takes it back for the next row's parameters, and while the event loop's thread is busy
    in Python each take waits for the interpreter's switch interval. Measured here: 500
    rows in 2.7 ms on an idle process, 609 ms beside one busy thread; as one statement,
    2.2 ms and 17.8 ms. The text is cached, and so, by sqlite3, is its prepared statement.
    """
    names = ", ".join(f'"{name}"' for name in columns)
    row = "(" + ", ".join("?" * len(columns)) + ")"
    on_conflict = ""
    if conflict:
        unique = ", ".join(f'"{name}"' for name in conflict)
        on_conflict = f" ON CONFLICT ({unique}) DO NOTHING"
    values = ", ".join([row] * rows)
    return f'INSERT INTO "{table}" ({names}) VALUES {values}{on_conflict}'  # noqa: S608 - our names
