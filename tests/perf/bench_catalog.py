"""Catalog and relay benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_catalog [--products 100000] [--creates 2000]
                                                 [--events 20000] [--no-postgres]
                                                 [--catalog-processes 2]

`--products 0` leaves out the reads, `--events 0` the relay (creates only).

- product creates per second (16 concurrent) through a real gateway process, and the same
  creates straight to the real catalog process, in the same run, with the CPU each process
  spent per create, and beside it what any request costs the catalog (a bare `/healthz`,
  an authenticated read of one product type); the limit under them in the same run, and
  their ratio to it: the same rows inserted with raw sqlite3 at the service's `synchronous`
  level, and on PostgreSQL with asyncpg alone over as many connections as there are clients;
- on each database, the same creates straight to one catalog process and spread over
  `--catalog-processes` of them on the same database, alternating (1, N, N, 1) in the same
  run: whether a second process adds creates, and its CPU per create;
- list and search p50/p99 with N products, on SQLite and on PostgreSQL, and beside the
  rare-SKU search in the same run what it is made of: a `/healthz` through the same client
  (no database) and the search's use case alone in this process (its queries, no HTTP);
- the outbox relay's events per second next to raw aiokafka producing the same events to
  the same broker in the same run (the raw limit).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import httpx
from pydantic import SecretStr
from sqlalchemy import distinct, func, insert, select, text
from uuid6 import uuid7

from services.catalog import service
from services.catalog.migrations import history
from services.catalog.tables import product
from shared.auth import TokenSigner
from shared.broker import EmbeddedBroker, ensure_topics, free_port
from shared.db import Database
from shared.events import encode, kafka_headers, new_event
from shared.migrations import upgrade
from shared.pagination import DEFAULT_LIMIT
from shared.relay import OutboxRelay, new_producer
from shared.settings import Settings
from shared.tables import metadata as kernel_metadata
from shared.tables import outbox
from shared.uow import UnitOfWork
from tests.perf.common import (
    SECRET,
    ServiceProcess,
    drop_postgres,
    figure,
    line,
    machine_busy,
    optional_postgres,
    postgres_url,
    record,
    section,
    timed,
)

BRANDS = [f"Brand{n:03d}" for n in range(200)]
# Issue 16: catalog creates through the gateway, 16 concurrent.
TARGET_CREATES_PER_S = 600
IDLE_S = 3.0
# The gateway's other upstreams: not started, only routing to the catalog is measured.
OTHERS = ("feedback", "launch", "pricing")
WORDS = ["kettle", "toaster", "blender", "grinder", "mixer", "lamp", "chair", "desk", "mug", "pan"]


class CoresBusy:
    """How many cores the whole machine (every process) and this bench's own HTTP clients
    kept busy while a measured run ran: what was left for the processes measured."""

    def __enter__(self) -> CoresBusy:
        self._machine, self._client = machine_busy()[0], time.process_time()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = time.perf_counter() - self._started
        self.machine = (machine_busy()[0] - self._machine) / elapsed
        self.client = (time.process_time() - self._client) / elapsed

    def report(self, label: str) -> None:
        print(
            f"    cores busy: the machine {self.machine:4.2f} of {os.cpu_count()},"
            f" this bench's clients {self.client:4.2f}"
        )
        figure(f"cores busy, the machine, {label}", self.machine)
        figure(f"cores busy, the bench's clients, {label}", self.client)


class Creates:
    """`POST /v1/products` at `concurrency`, each body a new product of the bench type."""

    def __init__(self, headers: dict[str, str], concurrency: int) -> None:
        self.headers = headers
        self.concurrency = concurrency
        self.run = uuid.uuid4().hex[:6]
        self.made = 0

    async def product_type(self, base: str) -> None:
        async with httpx.AsyncClient(base_url=base, headers=self.headers, timeout=30) as client:
            response = await client.post(
                "/v1/product-types",
                json={"code": "bench", "name": "Bench", "required_attributes": ["colour", "size"]},
            )
        assert response.status_code in (201, 409), response.text

    async def post(self, url: str | list[str], n: int) -> tuple[float, list[float]]:
        """`n` creates at `url` (taking a list's URLs in turn); seconds taken and each
        create's latency."""
        urls = [url] if isinstance(url, str) else url
        first, self.made = self.made, self.made + n
        # aiohttp's client, as the gateway's: httpx's cost the bench 1.1 ms of CPU a create,
        # a third of a core at 300/s taken from the processes measured on this 2-core machine.
        async with aiohttp.ClientSession(
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=30),
            connector=aiohttp.TCPConnector(limit=self.concurrency),
        ) as client:

            async def create(i: int) -> None:
                body = {
                    "sku": f"API-{self.run}-{first + i}",
                    "name": f"{random.choice(WORDS)} {i}",
                    "product_type": "bench",
                    "brand": random.choice(BRANDS),
                    "attributes": {"colour": "red"},
                    "cost": {"amount": "9.99", "currency": "EUR"},
                }
                async with client.post(urls[i % len(urls)], json=body) as r:
                    assert r.status == 201, await r.text()
                    await r.read()

            started = time.perf_counter()
            latencies = await timed(n, self.concurrency, create)
            return time.perf_counter() - started, latencies


async def bench_creates(
    catalog: ServiceProcess, gateway: ServiceProcess, creates: Creates, n: int
) -> float:
    """The same creates straight to the catalog and through the gateway, in the same run,
    with the CPU each process spent per create: what 600/s would need in cores. Returns the
    creates a second through the gateway."""
    through_gateway = 0.0
    await creates.product_type(catalog.url)
    paths = {
        "straight to the catalog": f"{catalog.url}/v1/products",
        "through the gateway": f"{gateway.url}/v1/catalog/products",
    }
    for url in paths.values():  # connections, caches, the relay's producer
        await creates.post(url, 100)
    # What the catalog spends with no request (its consumers' polls, the relay's): in every
    # CPU-per-create figure below, a larger share of it the fewer creates a second.
    idle = catalog.cpu_seconds()
    await asyncio.sleep(IDLE_S)
    idle_ms = (catalog.cpu_seconds() - idle) / IDLE_S * 1000
    print(f"  catalog idle: {idle_ms:5.1f} ms of CPU a second")
    figure("catalog idle CPU a second", idle_ms, "ms")
    for path, url in paths.items():
        before = catalog.cpu_seconds(), gateway.cpu_seconds()
        with CoresBusy() as busy:
            elapsed, latencies = await creates.post(url, n)
        catalog_ms = (catalog.cpu_seconds() - before[0]) / n * 1000
        gateway_ms = (gateway.cpu_seconds() - before[1]) / n * 1000
        print(f"  creates {path} ({creates.concurrency} concurrent) {n / elapsed:8.0f} /s")
        figure(f"creates {path}", n / elapsed, "/s")
        line(f"create latency {path}", latencies)
        # The catalog's relay publishes each create's event in the same process: its CPU
        # is in the figure, as it is part of the work a create costs.
        print(f"    CPU per create: catalog {catalog_ms:5.2f} ms, gateway {gateway_ms:5.2f} ms")
        figure(f"catalog CPU per create {path}", catalog_ms, "ms")
        busy.report(path)
        if path == "through the gateway":
            through_gateway = n / elapsed
            figure("gateway CPU per create", gateway_ms, "ms")
            cores = TARGET_CREATES_PER_S * (catalog_ms + gateway_ms) / 1000
            print(
                f"    one catalog process: at most {1000 / catalog_ms:5.0f} /s on one core;"
                f" {TARGET_CREATES_PER_S}/s would need {cores:.1f} cores of this CPU"
            )
    return through_gateway


async def bench_catalog_processes(
    first: ServiceProcess, others: list[ServiceProcess], creates: Creates, n: int
) -> None:
    """The same creates straight to one catalog process and spread over all of them (one
    database), alternating 1, N, N, 1: what another process adds on this machine, and the
    CPU a create costs across the processes (the README's "Scaling out")."""
    everyone = [first, *others]
    for process in others:
        await process.wait_ready()
        await creates.post(f"{process.url}/v1/products", 100)  # connections, caches
    for round_, processes in enumerate([[first], everyone, everyone, [first]], start=1):
        before = sum(process.cpu_seconds() for process in everyone)
        with CoresBusy() as busy:
            elapsed, latencies = await creates.post(
                [f"{process.url}/v1/products" for process in processes], n
            )
        cpu_ms = (sum(process.cpu_seconds() for process in everyone) - before) / n * 1000
        label = f"{len(processes)} catalog process{'es' if len(processes) > 1 else ''}"
        print(
            f"  round {round_}: creates straight to {label} {n / elapsed:8.0f} /s,"
            f" {cpu_ms:5.2f} ms of catalog CPU a create (all processes)"
        )
        figure(f"creates straight, {label}, round {round_}", n / elapsed, "/s")
        figure(f"catalog CPU per create, {label}, round {round_}", cpu_ms, "ms")
        line(f"create latency, {label}, round {round_}", latencies)
        busy.report(f"{label}, round {round_}")


async def gets(url: str, headers: dict[str, str], n: int, concurrency: int) -> float:
    """`n` GETs of `url` at `concurrency`; the seconds they took."""
    async with aiohttp.ClientSession(
        headers=headers, connector=aiohttp.TCPConnector(limit=concurrency)
    ) as client:

        async def call(_: int) -> None:
            async with client.get(url) as response:
                await response.read()
                assert response.status == 200, response.status

        started = time.perf_counter()
        await timed(n, concurrency, call)
        return time.perf_counter() - started


async def request_floor(
    catalog: ServiceProcess, headers: dict[str, str], n: int, concurrency: int
) -> None:
    """What any request costs the catalog, beside what a create costs it, in the same run:
    `GET /healthz` (uvicorn and a route, no token, no database) and an authenticated
    `GET /v1/product-types/bench` (the middleware, FastAPI's dependencies, the token, one
    read transaction), each `n` times at `concurrency`, straight to the catalog."""
    calls = {
        "a bare GET /healthz": (f"{catalog.url}/healthz", {}),
        "an authenticated GET of one product type": (
            f"{catalog.url}/v1/product-types/bench",
            headers,
        ),
    }
    for label, (url, sent) in calls.items():
        before = catalog.cpu_seconds()
        elapsed = await gets(url, sent, n, concurrency)
        cpu_ms = (catalog.cpu_seconds() - before) / n * 1000
        print(
            f"  floor: {label} ({concurrency} concurrent) {n / elapsed:8.0f} /s,"
            f" catalog CPU {cpu_ms:5.2f} ms a request"
        )
        figure(f"floor: {label}", n / elapsed, "/s")
        figure(f"floor: catalog CPU per request, {label}", cpu_ms, "ms")


async def relay_rounds(database_url: str) -> None:
    """How many events the catalog's relay published a round (one mark-published
    transaction, one time), over the creates above: each round is a few statements on
    the same writer as the creates."""
    db = Database(database_url)
    async with db.reader() as session:
        events, rounds = (
            await session.execute(
                select(func.count(), func.count(distinct(outbox.c.published_at))).where(
                    outbox.c.published_at.is_not(None)
                )
            )
        ).one()
    await db.dispose()
    print(f"  relay: {events} events in {rounds} rounds, {events / max(rounds, 1):.1f} a round")
    figure("events a relay round", events / max(rounds, 1))


async def raw_sqlite_creates(n: int) -> float:
    """The limit under the API's creates on SQLite, in the same run: the standard library's
    sqlite3, one thread, on a migrated catalog database (its indexes and search triggers),
    each transaction what a create writes: the type read, the product row and its outbox row,
    committed at the service's default `synchronous=full` (one sync of the log each).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/raw.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db, history)
        await db.dispose()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        now = datetime.now(UTC).isoformat()
        conn.execute(
            "INSERT INTO product_type (code, name, required_attributes, created_at, version)"
            " VALUES ('bench', 'Bench', '[\"colour\", \"size\"]', ?, 1)",
            (now,),
        )
        started = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("SELECT required_attributes FROM product_type WHERE code = 'bench'")
            product_id = str(uuid7())
            conn.execute(
                "INSERT INTO product (id, sku, name, product_type, brand, attributes,"
                " cost_amount, cost_currency, lifecycle, completeness_score,"
                " completeness_missing, version, created_at, updated_at, created_by)"
                " VALUES (?, ?, ?, 'bench', ?, '{\"colour\": \"red\"}', '9.99', 'EUR', 'draft',"
                " 60, '[\"description\"]', 1, ?, ?, 'bench')",
                (product_id, f"RAW-{i}", f"{WORDS[i % 10]} {i}", BRANDS[i % 200], now, now),
            )
            conn.execute(
                "INSERT INTO outbox (id, topic, key, type, payload, headers, created_at,"
                " attempts) VALUES (?, 'catalog.events', ?, 'catalog.product.created.v1', ?,"
                " '{}', ?, 0)",
                (str(uuid7()), product_id, "x" * 600, now),
            )
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    print(f"  limit: raw sqlite3, same rows, one thread, synchronous=full {n / elapsed:8.0f} /s")
    figure("raw sqlite3 creates, same rows", n / elapsed, "/s")
    return n / elapsed


# What one create writes, as the catalog writes it (`raw_postgres_creates`).
_RAW_PG_STATEMENTS = (
    "SELECT required_attributes FROM product_type WHERE code = 'bench'",
    "SELECT pg_advisory_xact_lock(1, hashtext($1))",
    "SELECT 1 FROM product WHERE sku = $1 UNION ALL SELECT 1 FROM product_variant WHERE sku = $1",
    "INSERT INTO product (id, sku, name, product_type, brand, attributes, cost_amount,"
    " cost_currency, lifecycle, completeness_score, completeness_missing, version, created_at,"
    " updated_at, created_by) VALUES ($1, $2, $3, 'bench', $4, '{\"colour\": \"red\"}',"
    " 9.99, 'EUR', 'draft', 60, '[\"description\"]', 1, $5, $5, 'bench')",
    "INSERT INTO outbox (id, topic, key, type, payload, headers, created_at, attempts)"
    " VALUES ($1, 'catalog.events', $2, 'catalog.product.created.v1', $3, '{}', $4, 0)",
)


async def raw_postgres_creates(n: int, concurrency: int) -> float:
    """The limit under the API's creates on PostgreSQL, in the same run: asyncpg alone, with
    as many connections as the API has clients, on a migrated catalog database of its own
    (its trigram and B-tree indexes), each transaction what a create alone writes: the type
    read, the SKU's advisory lock and check, the product row and its outbox row, committed
    at PostgreSQL's durable default."""
    url = await postgres_url()
    if url is None:
        raise RuntimeError("PostgreSQL stopped answering during the run")
    try:
        db = Database(url)
        await upgrade(db, history)
        await db.dispose()
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        conns = [await asyncpg.connect(dsn) for _ in range(concurrency)]
        try:
            now = datetime.now(UTC)
            await conns[0].execute(
                "INSERT INTO product_type (code, name, required_attributes, created_at, version)"
                " VALUES ('bench', 'Bench', '[\"colour\", \"size\"]', $1, 1)",
                now,
            )
            read_type, lock, check, insert_product, insert_event = _RAW_PG_STATEMENTS

            async def writer(conn: asyncpg.Connection, first: int) -> None:
                for i in range(first, n, concurrency):
                    sku, product_id = f"RAW-{i}", str(uuid7())
                    async with conn.transaction():
                        await conn.fetchval(read_type)
                        await conn.execute(lock, sku)
                        await conn.fetch(check, sku)
                        name = f"{WORDS[i % 10]} {i}"
                        await conn.execute(
                            insert_product, product_id, sku, name, BRANDS[i % 200], now
                        )
                        await conn.execute(insert_event, str(uuid7()), product_id, "x" * 600, now)

            started = time.perf_counter()
            await asyncio.gather(*(writer(conn, k) for k, conn in enumerate(conns)))
            elapsed = time.perf_counter() - started
        finally:
            for conn in conns:
                await conn.close()
    finally:
        await drop_postgres(url)
    print(
        f"  limit: raw asyncpg, same rows, {concurrency} connections, a transaction a create"
        f" {n / elapsed:8.0f} /s"
    )
    figure("raw asyncpg creates, same rows", n / elapsed, "/s")
    return n / elapsed


async def seed(database_url: str, count: int) -> None:
    """Insert products straight into the catalog's tables (the API path is measured above)."""
    db = Database(database_url)
    now = datetime.now(UTC)
    rows = []
    for i in range(count):
        rows.append(
            {
                "id": str(uuid7()),
                "sku": f"SEED-{i:07d}",
                "name": f"{WORDS[i % 10]} model {i}",
                "product_type": "bench",
                "brand": BRANDS[i % len(BRANDS)],
                "vendor": None,
                "description": None,
                "attributes": {"colour": "red", "size": str(i % 5)},
                "cost_amount": None,
                "cost_currency": None,
                "lifecycle": ["draft", "incoming", "active", "discontinued"][i % 4],
                "completeness_score": 80,
                "completeness_missing": ["description"],
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "created_by": "bench",
            }
        )
    started = time.perf_counter()
    async with db.engine.begin() as conn:
        for start in range(0, count, 5000):
            await conn.execute(insert(product), rows[start : start + 5000])
    # What autovacuum would do soon after a bulk load; without statistics the planner
    # guesses and picks poor plans for the filtered and searched queries.
    async with db.engine.connect() as conn:
        await conn.execute(text("ANALYZE product"))
        await conn.commit()
    await db.dispose()
    print(f"  seeded {count} products directly in {time.perf_counter() - started:.1f} s")


def rare_sku(i: int) -> str:
    """The `i`-th sample's needle: one seeded product's SKU."""
    return f"SEED-{(i * 7919) % 100000:07d}"


async def bench_reads(base: str, headers: dict[str, str], samples: int, database_url: str) -> None:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

        async def get(path: str, params: dict[str, str | int]) -> dict:
            r = await client.get(path, params=params)
            assert r.status_code == 200, r.text
            return r.json()

        cases: dict[str, Callable[[int], dict[str, str | int]]] = {
            "list first page (limit 50)": lambda i: {"limit": 50},
            "filter brand": lambda i: {"brand": BRANDS[i % len(BRANDS)], "limit": 50},
            "filter lifecycle + type": lambda i: {"lifecycle": "active", "product_type": "bench"},
            "search q (substring, 1 word)": lambda i: {"q": WORDS[i % 10], "limit": 50},
            "search q (rare: one sku)": lambda i: {"q": rare_sku(i)},
        }
        for label, params_of in cases.items():
            for i in range(5):  # warm-up
                await get("/v1/products", params_of(i))
            latencies = []
            for i in range(samples):
                started = time.perf_counter()
                await get("/v1/products", params_of(i))
                latencies.append(time.perf_counter() - started)
            line(label, latencies)

        # Walk 40 pages deep with the cursor: keyset pagination keeps every page cheap.
        latencies = []
        cursor = None
        for _ in range(40):
            params: dict[str, str | int] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            started = time.perf_counter()
            body = await get("/v1/products", params)
            latencies.append(time.perf_counter() - started)
            cursor = body["next_cursor"]
        line("cursor walk, pages of 200", latencies)

        # What the rare-SKU search is made of, in the same run: a request that reaches no
        # database through the same client, and the use case's own queries without HTTP.
        latencies = []
        for _ in range(samples):
            started = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            latencies.append(time.perf_counter() - started)
        line("floor: GET /healthz, this client", latencies)
    await rare_search_alone(database_url, samples)


async def rare_search_alone(database_url: str, samples: int) -> None:
    """The rare-SKU search as the route runs it (`service.list_products` in a reader
    session), in this process, with no HTTP, token or response around it."""
    db = Database(database_url)
    latencies = []
    try:
        for i in range(-5, samples):  # five warm-up calls
            started = time.perf_counter()
            async with db.reader() as session:
                page = await service.list_products(
                    session=session,
                    q=rare_sku(i),
                    product_type=None,
                    brand=None,
                    lifecycle=None,
                    limit=DEFAULT_LIMIT,
                    cursor=None,
                )
            assert len(page.items) == 1, page
            if i >= 0:
                latencies.append(time.perf_counter() - started)
    finally:
        await db.dispose()
    line("search q (rare: one sku), use case alone", latencies)


async def bench_backend(
    label: str, database_url: str, broker: EmbeddedBroker, args: argparse.Namespace
) -> None:
    section(f"catalog on {label}")
    with tempfile.TemporaryDirectory() as tmp:
        catalog = ServiceProcess(
            "catalog", Path(tmp), database_url=database_url, bootstrap=broker.bootstrap
        )
        gateway = ServiceProcess(
            "gateway",
            Path(tmp),
            database_url=f"sqlite+aiosqlite:///{tmp}/gateway.db",
            bootstrap=broker.bootstrap,
            extra_env={
                "PRODUCTOPS_CATALOG_PORT": str(catalog.port),
                "PRODUCTOPS_RATE_LIMIT_PER_S": "100000",
                "PRODUCTOPS_RATE_LIMIT_BURST": "100000",
                # Nothing listens there: only routing to the catalog is measured.
                **{f"PRODUCTOPS_{name.upper()}_PORT": str(free_port()) for name in OTHERS},
            },
        )
        try:
            await catalog.wait_ready()
            await gateway.wait_ready()
            headers = {
                "Authorization": "Bearer "
                + TokenSigner(SECRET).issue(
                    subject="bench", name="bench", owner="bench", scopes=frozenset({"admin"})
                )
            }
            creates = Creates(headers, args.concurrency)
            through_gateway = await bench_creates(catalog, gateway, creates, args.creates)
            await request_floor(catalog, headers, args.creates, args.concurrency)
            await relay_rounds(database_url)
            if args.catalog_processes > 1:
                others = [
                    ServiceProcess(
                        "catalog", Path(tmp), database_url=database_url, bootstrap=broker.bootstrap
                    )
                    for _ in range(args.catalog_processes - 1)
                ]
                try:
                    await bench_catalog_processes(catalog, others, creates, args.creates)
                finally:
                    for process in others:
                        process.stop()
            if label == "SQLite":
                limit = await raw_sqlite_creates(args.creates)
            else:
                limit = await raw_postgres_creates(args.creates, args.concurrency)
            print(f"  creates through the gateway / this limit {through_gateway / limit:8.2f}x")
            figure("creates through the gateway / raw", through_gateway / limit, "x")
            if args.products:
                await seed(database_url, args.products)
                await bench_reads(catalog.url, headers, args.samples, database_url)
        finally:
            gateway.stop()
            catalog.stop()


async def bench_relay(broker: EmbeddedBroker, events: int) -> None:
    print(f"\n== outbox relay vs raw aiokafka, {events} events, same broker, same run")
    topic = f"bench.{uuid.uuid4().hex[:6]}"
    await ensure_topics(broker.bootstrap, [topic], partitions=6)
    subjects = [f"p{i % 1000}" for i in range(events)]
    payloads = [
        new_event(
            source="/bench",
            type="bench.thing.happened.v1",
            subject=subject,
            data={"n": i, "text": "x" * 200},
        )
        for i, subject in enumerate(subjects)
    ]
    settings = Settings(kafka_bootstrap=broker.bootstrap, jwt_secret=SecretStr(SECRET))

    producer = new_producer(settings)
    await producer.start()
    started = time.perf_counter()
    futures = [
        await producer.send(topic, value=encode(e), key=subject.encode(), headers=kafka_headers())
        for e, subject in zip(payloads, subjects, strict=True)
    ]
    await asyncio.gather(*futures)
    raw = events / (time.perf_counter() - started)
    await producer.stop()

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/relay.db")
        await db.create_all([kernel_metadata])
        relay = OutboxRelay(db=db, settings=settings, service="bench")
        for start in range(0, events, 1000):
            async with UnitOfWork(db, service="bench", on_commit=lambda: None) as uow:
                for event in payloads[start : start + 1000]:
                    uow.publish(event, topic=topic)
        started = time.perf_counter()
        published = await relay.drain()
        relayed = published / (time.perf_counter() - started)
        assert published == events
        assert await relay.backlog() == 0
        await relay.close()
        await db.dispose()
    print(f"  raw aiokafka (acks=all, linger 2 ms)     {raw:9.0f} events/s")
    print(
        f"  outbox relay (SQLite, batches of {settings.relay_batch_size})  "
        f"{relayed:9.0f} events/s   = {relayed / raw:.2f} x raw"
    )


async def main(args: argparse.Namespace) -> None:
    print(
        f"catalog benchmark: {args.products} products, {args.creates} API creates, "
        f"{os.cpu_count()} cores"
    )
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        await bench_backend("SQLite", f"sqlite+aiosqlite:///{tmp}/catalog.db", broker, args)
        if (url := await optional_postgres(skipped=args.no_postgres)) is not None:
            try:
                await bench_backend("PostgreSQL", url, broker, args)
            finally:
                await drop_postgres(url)
        if args.events:
            await bench_relay(broker, args.events)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--creates", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--catalog-processes",
        type=int,
        default=2,
        help="catalog processes on one database the creates are spread over (1: not measured)",
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments))
    record("catalog", **vars(arguments))
