"""INSERT statements that differ between SQLite and PostgreSQL.

`dialect_insert` gives the backend's own INSERT, which knows `ON CONFLICT DO NOTHING` and
upserts (`on_conflict_do_nothing()`, `on_conflict_do_update(...)`); `insert_rows` is the
many-row insert of the hot paths (the outbox, ingestion).
"""

from __future__ import annotations

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

    On SQLite the rows go straight to the driver's `executemany` with each column's own
    bind processor applied (so values are stored exactly as SQLAlchemy would store them),
    skipping SQLAlchemy's per-parameter statement machinery, which costs more than
    SQLite's own work here. PostgreSQL takes SQLAlchemy's multi-row INSERT.
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
    params = []
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
        params.append(tuple(values))
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" * len(columns))
    conflict = ""
    if skip_conflicts_on:
        unique = ", ".join(f'"{name}"' for name in skip_conflicts_on)
        conflict = f" ON CONFLICT ({unique}) DO NOTHING"
    result = await connection.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}){conflict}',  # noqa: S608 - our names
        params,
    )
    # sqlite3 sums the rows each parameter set inserted; a skipped conflict inserts none.
    return result.rowcount
