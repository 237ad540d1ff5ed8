"""The limit `bench_pricing` sets next to the publishing scheduler: the same statements per
batch of 500 as `services.pricing.publishing.publish_due` (read the due prices, read the
windows they may replace, publish them, link what they replace, move their products' event
counters, write one outbox row each, commit), as raw SQL straight through the driver, with
one event text made beforehand. What the database alone costs per price: no SQLAlchemy, no
event built, no service around it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tests.perf.common import cpu_seconds, figure

BATCH = 500
TOPIC = "pricing.events"
EVENT_TYPE = "pricing.price.published.v1"
HEADERS = '{"content-type": "application/cloudevents+json"}'
WINDOW = "id, product_id, price_list, kind, amount, effective_from, effective_to"


def _replaces(due: Sequence[Any], windows: Sequence[Any]) -> list[tuple[str, str]]:
    """(replaced id, due id): the latest published window of each due price's pair, a
    stand-in for the timeline's answer with the same number of links."""
    latest: dict[tuple[str, str], Any] = {}
    for w in windows:
        key = (w[1], w[2])
        if w[7] == "published" and (key not in latest or w[5] > latest[key][5]):
            latest[key] = w
    return [(latest[(d[1], d[2])][0], d[0]) for d in due if (d[1], d[2]) in latest]


def _by_list(due: Sequence[Any]) -> dict[str, list[str]]:
    groups: dict[str, set[str]] = {}
    for row in due:
        groups.setdefault(row[2], set()).add(row[1])
    return {code: sorted(products) for code, products in groups.items()}


def _sqlite_text(moment: datetime) -> str:
    # How SQLAlchemy stores a datetime on SQLite (UtcDateTime: in UTC).
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_publish_all(path: str, event_text: str) -> int:
    """Publish every due approved price in batches; returns how many."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=FULL"):
        conn.execute(f"PRAGMA {pragma}")
    done = 0
    while True:
        now = datetime.now(UTC)
        stamp = _sqlite_text(now)
        conn.execute("BEGIN IMMEDIATE")
        due = conn.execute(
            f"SELECT {WINDOW} FROM price WHERE status = 'approved' AND effective_from <= ?"
            " ORDER BY effective_from, id LIMIT ?",
            (stamp, BATCH),
        ).fetchall()
        if not due:
            conn.execute("COMMIT")
            break
        groups = _by_list(due)
        pairs = " OR ".join(
            f"(price_list = ? AND product_id IN ({', '.join('?' * len(p))}))"
            for p in groups.values()
        )
        windows = conn.execute(
            f"SELECT {WINDOW}, status FROM price WHERE ({pairs}) AND effective_from <= ?"
            " AND (effective_to IS NULL OR effective_to >= ?)",
            [
                *(x for code, products in groups.items() for x in (code, *products)),
                max(row[5] for row in due),
                min(row[5] for row in due),
            ],
        ).fetchall()
        ids = [row[0] for row in due]
        published = conn.execute(
            "UPDATE price SET status = 'published', published_at = ?, version = version + 1"
            f" WHERE id IN ({', '.join('?' * len(ids))}) AND status = 'approved' RETURNING *",
            [stamp, *ids],
        ).fetchall()
        conn.executemany(
            "UPDATE price SET replaces_price_id = ? WHERE id = ?", _replaces(due, windows)
        )
        products = sorted({row[1] for row in due})
        held = conn.execute(
            "SELECT id, event_sequence FROM product"
            f" WHERE id IN ({', '.join('?' * len(products))}) ORDER BY id",
            products,
        ).fetchall()
        conn.executemany(
            "UPDATE product SET event_sequence = ? WHERE id = ?",
            [(sequence + 1, pid) for pid, sequence in held],
        )
        conn.executemany(
            "INSERT INTO outbox (id, topic, key, type, payload, headers, created_at, attempts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            [
                (str(uuid.uuid4()), TOPIC, row[1], EVENT_TYPE, event_text, HEADERS, stamp)
                for row in published
            ],
        )
        conn.execute("COMMIT")
        done += len(published)
    conn.close()
    return done


async def postgres_publish_all(dsn: str, event_text: str) -> tuple[int, float]:
    """Publish every due approved price in batches; returns how many and the CPU seconds
    of the PostgreSQL backend that did it (its process on this machine)."""
    conn = await asyncpg.connect(dsn)
    backend = await conn.fetchval("SELECT pg_backend_pid()")
    cpu_before = cpu_seconds(backend)
    done = 0
    while True:
        now = datetime.now(UTC)
        async with conn.transaction():
            due = await conn.fetch(
                f"SELECT {WINDOW} FROM price WHERE status = 'approved' AND effective_from <= $1"
                " ORDER BY effective_from, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                now,
                BATCH,
            )
            if not due:
                break
            groups = _by_list(due)
            pairs = " OR ".join(
                f"(price_list = ${2 * n + 1} AND product_id = ANY(${2 * n + 2}::varchar[]))"
                for n in range(len(groups))
            )
            last = 2 * len(groups)
            windows = await conn.fetch(
                f"SELECT {WINDOW}, status FROM price WHERE ({pairs})"
                f" AND effective_from <= ${last + 1}"
                f" AND (effective_to IS NULL OR effective_to >= ${last + 2})",
                *(x for code, products in groups.items() for x in (code, products)),
                max(row[5] for row in due),
                min(row[5] for row in due),
            )
            published = await conn.fetch(
                "UPDATE price SET status = 'published', published_at = $1,"
                " version = version + 1 WHERE id = ANY($2::varchar[]) AND status = 'approved'"
                " RETURNING *",
                now,
                [row[0] for row in due],
            )
            await conn.executemany(
                "UPDATE price SET replaces_price_id = $1 WHERE id = $2", _replaces(due, windows)
            )
            held = await conn.fetch(
                "SELECT id, event_sequence FROM product WHERE id = ANY($1::varchar[])"
                " ORDER BY id FOR UPDATE",
                sorted({row[1] for row in due}),
            )
            await conn.executemany(
                "UPDATE product SET event_sequence = $1 WHERE id = $2",
                [(row[1] + 1, row[0]) for row in held],
            )
            await conn.executemany(
                "INSERT INTO outbox (id, topic, key, type, payload, headers, created_at,"
                " attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
                [
                    (str(uuid.uuid4()), TOPIC, row[1], EVENT_TYPE, event_text, HEADERS, now)
                    for row in published
                ],
            )
        done += len(published)
    cpu = cpu_seconds(backend) - cpu_before
    await conn.close()
    return done, cpu


async def raw_limit(database_url: str, event_text: str) -> None:
    """Publish every due price with raw SQL; print the rate and the CPU per price."""
    started, cpu_before = time.perf_counter(), cpu_seconds(os.getpid())
    if database_url.startswith("sqlite"):
        done = await asyncio.to_thread(
            sqlite_publish_all, database_url.split("///", 1)[1], event_text
        )
        server = 0.0
    else:
        done, server = await postgres_publish_all(database_url.replace("+asyncpg", ""), event_text)
    wall = time.perf_counter() - started
    cpu = cpu_seconds(os.getpid()) - cpu_before + server
    print(
        f"  raw SQL, the same writes, {done} prices: {done / wall:,.0f} prices/s,"
        f" CPU {cpu / done * 1000:.3f} ms per price"
        + (f" (of which the PostgreSQL backend {server / done * 1000:.3f})" if server else "")
    )
    figure("raw SQL, the same writes", done / wall, "/s")
    figure("raw SQL, the same writes, CPU per price", cpu / done * 1000, "ms")
