"""SQLite bulk insert beside a busy thread: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.benchsqlite_insert_statements [--batches 30] [--rows 500]

Stores `--batches` batches of `--rows` customer events (built as ingestion builds them, one
transaction each, `synchronous=full`) three ways, first in an idle process, then beside one
thread that runs Python without pause, as the event loop does while it validates other
requests:

- raw sqlite3 `executemany` of the rows' parameters: what `insert_rows` did before;
- raw sqlite3, one multi-row `INSERT ... VALUES (...), (...)` of the same parameters: the
  limit (no SQLAlchemy, no aiosqlite);
- `shared.inserts.insert_rows` through the service's own engine (aiosqlite, BEGIN IMMEDIATE).

sqlite3 lets go of the GIL around each row's step; `executemany` then waits for it again for
every row, and beside a busy thread each wait can last the interpreter's switch interval.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from services.feedback.ingest import service as ingestion
from services.feedback.tables import customer_event
from services.feedback.tables import metadata as feedback_metadata
from shared.auth import Principal
from shared.clock import utc_now
from shared.db import Database
from shared.inserts import insert_rows, sqlite_insert_statement
from tests.perf.bench_ingest import make_event
from tests.perf.common import figure, load_average, record, section

SHOP = Principal(subject="bench-key", name="bench", scopes=frozenset(), owner="bench")


@contextmanager
def busy_thread(on: bool) -> Iterator[None]:
    """One thread running Python without pause while the block runs (when `on`)."""
    stop = threading.Event()

    def spin() -> None:
        total = 0
        while not stop.is_set():
            for i in range(1_000):
                total += i * i

    thread = threading.Thread(target=spin, daemon=True)
    if on:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if on:
            thread.join()


class Batches:
    """Fresh batches of rows as ingestion stores them: never a conflict, never a replay."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.made = 0

    def next(self) -> list[dict[str, Any]]:
        events = [make_event(self.made + i, "sqlite-bench") for i in range(self.rows)]
        self.made += self.rows
        prepared = ingestion.prepare(events=events, principal=SHOP, now=utc_now())
        return list(prepared.rows.values())


def raw_parameters(db: Database, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows' values as SQLAlchemy stores them on SQLite."""
    dialect = db.engine.dialect
    processors = {
        name: column.type.dialect_impl(dialect).bind_processor(dialect)
        for name, column in customer_event.c.items()
    }
    return [
        tuple(
            process(value) if (process := processors[name]) else value
            for name, value in row.items()
        )
        for row in rows
    ]


def raw_insert(path: Path, batches: Batches, db: Database, n: int, *, many: bool) -> list[float]:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=FULL")
    latencies = []
    for _ in range(n):
        rows = batches.next()
        columns = tuple(rows[0])
        parameters = raw_parameters(db, rows)
        conflict = ("source", "event_id")
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        if many:
            connection.executemany(
                sqlite_insert_statement(customer_event.name, columns, 1, conflict), parameters
            )
        else:
            flat = [value for row in parameters for value in row]
            connection.execute(
                sqlite_insert_statement(customer_event.name, columns, len(rows), conflict), flat
            )
        connection.execute("COMMIT")
        latencies.append(time.perf_counter() - started)
    connection.close()
    return latencies


async def service_insert(db: Database, batches: Batches, n: int) -> list[float]:
    latencies = []
    for _ in range(n):
        rows = batches.next()
        started = time.perf_counter()
        async with db.sessions() as session, session.begin():
            await insert_rows(
                session, customer_event, rows, skip_conflicts_on=("source", "event_id")
            )
        latencies.append(time.perf_counter() - started)
    return latencies


def report(label: str, latencies: list[float], rows: int) -> float:
    ordered = sorted(latencies)
    p50, p99 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    rate = rows * len(latencies) / sum(latencies)
    print(f"  {label:<34} {rate:>9.0f} rows/s   p50 {p50 * 1e3:7.1f} ms   p99 {p99 * 1e3:7.1f} ms")
    figure(f"{label} rows/s", rate, "/s")
    figure(f"{label} p50", p50 * 1e3, "ms")
    figure(f"{label} p99", p99 * 1e3, "ms")
    return statistics.fmean(latencies)


async def main(args: argparse.Namespace) -> None:
    print(
        f"SQLite inserts: {args.batches} transactions of {args.rows} customer events each way,"
        f" synchronous=full; load {load_average()}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "feedback.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.create_all([feedback_metadata])
        batches = Batches(args.rows)
        for busy in (False, True):
            section(f"{'beside a busy thread' if busy else 'idle process'}")
            with busy_thread(busy):
                many = raw_insert(path, batches, db, args.batches, many=True)
                multi = raw_insert(path, batches, db, args.batches, many=False)
                service = await service_insert(db, batches, args.batches)
            report("raw sqlite3 executemany (before)", many, args.rows)
            limit = report("raw sqlite3 multi-row VALUES (limit)", multi, args.rows)
            ours = report("insert_rows (service engine)", service, args.rows)
            print(f"  insert_rows / limit                {limit / ours:9.2f}x")
            figure("insert_rows / limit", limit / ours, "x")
        await db.dispose()
    record("sqlite_inserts", **vars(args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--rows", type=int, default=500)
    asyncio.run(main(parser.parse_args()))
