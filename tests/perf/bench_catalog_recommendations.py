"""Requirements and recommendations benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_catalog_recommendations [--events 50000]
        [--distinct 2000] [--via handler|broker] [--batch 1] [--calls 100] [--no-postgres]

For SQLite and for PostgreSQL (a fresh database, dropped afterwards):

- feeds `--events` feedback.requirement.identified.v1 events over `--distinct` requirement
  texts, repeated Zipf-like (s = 1.1), a third of them search-miss clusters of 1-20
  occurrences, spread over 180 days and over products, product types and no target, through
  the real handler:
  `--via handler` (default): the kernel's inbox claim plus the catalog's handler, `--batch`
  events per unit of work (default 1, as the consumer does in production; more measures
  the handler without the per-transaction cost), in this process;
  `--via broker`: produced to `feedback.events` on an embedded broker and consumed by a real
  catalog process (one transaction per event, as in production);
- then times GET /v1/recommendations (first page of 50, a deeper page, with dismissed) and
  GET /v1/requirements against a real catalog process (uvicorn), p50/p99 over `--calls`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

# Run as a script: make the repository importable for the shared bench helpers.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.catalog import service as catalog_service

# Importing the app registers every catalog table on the metadata.
from services.catalog.app import core_notices
from services.catalog.domain import Lifecycle
from services.catalog.migrations import history
from services.catalog.requirements.domain import requirement_key
from services.catalog.requirements.events import REQUIREMENT_IDENTIFIED
from services.catalog.requirements.handlers import handle_requirement_identified
from services.catalog.schemas import ProductCreate, ProductTypeCreate
from shared.auth import Principal, TokenSigner
from shared.broker import EmbeddedBroker, ensure_topics
from shared.db import Database
from shared.events import CloudEvent, encode, kafka_headers, new_event
from shared.inbox import claim
from shared.migrations import upgrade
from shared.uow import UnitOfWork
from tests.perf.common import (
    SECRET,
    ServiceProcess,
    drop_postgres,
    figure,
    line,
    optional_postgres,
    probe_headers,
    record,
    section,
)

_ADJECTIVES = "quiet cordless glass copper compact smart foldable travel steel bamboo"
_NOUNS = "kettle toaster blender grinder mixer lamp chair desk mug pan teapot scale"
_FEATURES = (
    "temperature control|keep warm|timer|longer cable|dishwasher safe lid|usb charging|"
    "app control|silent motor|child lock|auto shut off|water filter|led display|"
    "carry handle|non slip feet|spare parts|2 year warranty|matte finish|wide spout"
)
ADJECTIVES, NOUNS, FEATURES = _ADJECTIVES.split(), _NOUNS.split(), _FEATURES.split("|")
TYPES = ["kettle", "toaster", "blender", "lamp"]
ACTOR = Principal(subject="bench", name="bench", owner="bench", scopes=frozenset({"admin"}))


def distinct_texts(count: int, rng: random.Random) -> list[str]:
    """`count` requirement texts with distinct normalised keys."""
    texts: dict[str, str] = {}
    while len(texts) < count:
        text = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} with {rng.choice(FEATURES)}"
        if rng.random() < 0.5:
            text += f" model {rng.randrange(1000)}"
        texts.setdefault(requirement_key(text), text)
    return list(texts.values())


async def seed_products(db: Database, count: int, rng: random.Random) -> list[str]:
    """Product types and products through the core use cases; every other one made active."""
    uow = UnitOfWork(db, service="catalog", on_commit=lambda: None)
    async with uow:
        for code in TYPES:
            await catalog_service.create_product_type(
                uow=uow, data=ProductTypeCreate(code=code, name=code.title())
            )
    notices = core_notices()
    ids = []
    for n in range(count):
        async with UnitOfWork(db, service="catalog", on_commit=lambda: None) as uow:
            row = await catalog_service.create_product(
                uow=uow,
                data=ProductCreate(
                    sku=f"BENCH-{n:05d}",
                    name=f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n}",
                    product_type=rng.choice(TYPES),
                    brand="Bench",
                    attributes={"timer": rng.random() < 0.3, "colour": "red"},
                ),
                actor=ACTOR,
                notices=notices,
            )
            if n % 2 == 0:
                for to in (Lifecycle.INCOMING, Lifecycle.ACTIVE):
                    row = await catalog_service.change_lifecycle(
                        uow=uow,
                        product_id=row.id,
                        to=to,
                        expected_version=None,
                        actor=ACTOR,
                        notices=notices,
                    )
        ids.append(row.id)
    return ids


def make_events(
    count: int, distinct: int, product_ids: list[str], rng: random.Random
) -> list[CloudEvent]:
    texts = distinct_texts(distinct, rng)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(distinct)]

    # Each text is heard about one to three targets (a product, a type, none): reports of a
    # text for one target merge into a requirement, its targets group into one idea.
    def random_target() -> dict[str, Any]:
        roll = rng.random()
        if roll < 0.4:
            return {"product_id": rng.choice(product_ids)}
        if roll < 0.7:
            return {"product_type": rng.choice(TYPES)}
        return {}

    targets = [[random_target() for _ in range(rng.choice((1, 1, 2, 3)))] for _ in texts]
    now = datetime.now(UTC)
    events = []
    for index in rng.choices(range(distinct), weights=weights, k=count):
        text, target = texts[index], rng.choice(targets[index])
        search_miss = rng.random() < 1 / 3
        data = {
            "kind": "search_miss" if search_miss else "requirement",
            "text": text,
            "occurrences": rng.randint(1, 20) if search_miss else 1,
            "occurred_at": (now - timedelta(days=rng.uniform(0, 180))).isoformat(),
            "quote": f"customer said {rng.randrange(50)}" if rng.random() < 0.3 else None,
            **target,
        }
        subject = target.get("product_id") or (
            f"type:{target['product_type']}"
            if "product_type" in target
            else f"query:{requirement_key(text)}"
        )
        events.append(
            new_event(source="/feedback", type=REQUIREMENT_IDENTIFIED, subject=subject, data=data)
        )
    return events


async def ingest_via_handler(db: Database, events: list[CloudEvent], batch: int) -> float:
    """The kernel's inbox claim and the handler, `batch` events per transaction."""
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        async with UnitOfWork(db, service="catalog", on_commit=lambda: None) as uow:
            for offset, event in enumerate(events[start : start + batch], start):
                record = ConsumerRecord(
                    "feedback.events", 0, offset, 0, 0, None, None, None, 0, 0, ()
                )
                if await claim(uow, consumer="catalog", event=event, record=record):
                    await handle_requirement_identified(event, uow)
    return time.perf_counter() - started


async def poll(
    service: ServiceProcess, done: Callable[[dict[str, Any]], bool], timeout_s: float = 3600
) -> None:
    """Poll the process's /readyz until `done(body)` holds."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=service.url) as client:
        while time.monotonic() < deadline:
            if done((await client.get("/readyz", headers=probe_headers())).json()):
                return
            await asyncio.sleep(0.5)
    raise TimeoutError("the catalog process did not get there in time")


async def ingest_via_broker(
    service: ServiceProcess, bootstrap: str, events: list[CloudEvent]
) -> float:
    """Produce to feedback.events; wait until the catalog process has handled them all."""
    await ensure_topics(bootstrap, ["feedback.events"], partitions=6)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        futures = [
            await producer.send(
                "feedback.events",
                value=encode(event),
                key=(event.subject or "").encode(),
                headers=kafka_headers(),
            )
            for event in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    await poll(service, lambda body: body.get("consumer", {}).get("handled", 0) >= len(events))
    return time.perf_counter() - started


async def wait_for_relay(service: ServiceProcess) -> float:
    """Let the relay publish the outbox first, so it does not run beside the timed reads."""
    started = time.perf_counter()
    await poll(service, lambda body: body.get("outbox_backlog", 1) == 0)
    return time.perf_counter() - started


async def time_reads(service: ServiceProcess, calls: int) -> None:
    token = TokenSigner(SECRET).issue(
        subject="bench", name="bench", owner="bench", scopes=frozenset({"admin"})
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=30) as client:

        async def get(path: str, params: dict[str, Any]) -> dict[str, Any]:
            resp = await client.get(path, params=params)
            assert resp.status_code == 200, resp.text
            return resp.json()

        # A product manager has dismissed a few ideas near the top.
        page = await get("/v1/recommendations", {"limit": 200})
        for idea in page["items"][3:200:4]:
            resp = await client.post(
                f"/v1/recommendations/{idea['id']}/dismiss", json={"reason": "not for us"}
            )
            assert resp.status_code == 200, resp.text
        listed, cursor = 0, None
        while True:
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            body = await get("/v1/recommendations", params)
            listed += len(body["items"])
            if (cursor := body["next_cursor"]) is None:
                break
        print(f"  {listed} ideas with unmet demand listed (the others are met or dismissed)")
        first = await get("/v1/recommendations", {"limit": 50})
        deeper = first
        for _ in range(5):  # the cursor of page 6
            if deeper["next_cursor"] is None:
                break
            deeper = await get(
                "/v1/recommendations", {"limit": 50, "cursor": deeper["next_cursor"]}
            )
        top = first["items"][0] if first["items"] else None
        if top is not None:
            print(
                f"  top idea: {top['title']!r} score {top['score']:.1f}, count {top['count']},"
                f" {top['requirement_count']} requirements"
            )
        cases: dict[str, tuple[str, dict[str, Any]]] = {
            "GET /v1/recommendations (limit 50)": ("/v1/recommendations", {"limit": 50}),
            "GET /v1/recommendations page 6": (
                "/v1/recommendations",
                {"limit": 50, "cursor": deeper["next_cursor"]}
                if deeper["next_cursor"]
                else {"limit": 50},
            ),
            "  ... include_dismissed+adopted": (
                "/v1/recommendations",
                {"limit": 50, "include_dismissed": "true", "include_adopted": "true"},
            ),
            "GET /v1/requirements (by count)": ("/v1/requirements", {"limit": 50}),
            "GET /v1/requirements?sort=last_seen": (
                "/v1/requirements",
                {"limit": 50, "sort": "last_seen"},
            ),
        }
        if top is not None:
            cases["GET /v1/recommendations/{id}"] = (f"/v1/recommendations/{top['id']}", {})
        for label, (path, params) in cases.items():
            for _ in range(5):  # warm-up
                await get(path, params)
            latencies = []
            for _ in range(calls):
                started = time.perf_counter()
                await get(path, params)
                latencies.append(time.perf_counter() - started)
            line(label, latencies)


async def bench_recommendations(
    label: str,
    database_url: str,
    *,
    events: int = 50_000,
    distinct: int = 2_000,
    products: int = 400,
    via: str = "handler",
    batch: int = 1,
    calls: int = 100,
) -> None:
    """Ingest requirement events through the real handler, then time the reads."""
    section(f"requirements and recommendations on {label}")
    rng = random.Random(7)
    db = Database(database_url)
    # The schema as the service makes it at start: its migration history.
    await upgrade(db, history)
    started = time.perf_counter()
    product_ids = await seed_products(db, products, rng)
    print(
        f"  seeded {products} products ({products // 2} active) through the core use cases"
        f" in {time.perf_counter() - started:.1f} s"
    )
    stream = make_events(events, distinct, product_ids, rng)
    occurrences = sum(event.data["occurrences"] for event in stream)
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        if via == "handler":
            elapsed = await ingest_via_handler(db, stream, batch)
            await db.dispose()
            how = f"handler in-process, {batch} events per transaction"
            service = ServiceProcess(
                "catalog", Path(tmp), database_url=database_url, bootstrap=broker.bootstrap
            )
            await service.wait_ready()
        else:
            await db.dispose()
            service = ServiceProcess(
                "catalog", Path(tmp), database_url=database_url, bootstrap=broker.bootstrap
            )
            await service.wait_ready()
            elapsed = await ingest_via_broker(service, broker.bootstrap, stream)
            how = "broker -> catalog process consumer, 1 event per transaction"
        try:
            print(
                f"  ingested {events} events ({occurrences} occurrences, {distinct} distinct"
                f" texts) via {how}: {elapsed:.1f} s = {events / elapsed:,.0f} events/s"
            )
            figure("ingested", events / elapsed, "/s")
            drained = await wait_for_relay(service)
            print(f"  relay published the {events} outbox events in {drained:.1f} s more")
            figure("relay published the outbox events", drained, "s")
            await time_reads(service, calls)
        finally:
            service.stop()


async def main(args: argparse.Namespace) -> None:
    print(
        f"recommendations benchmark: {args.events} events, {args.distinct} distinct, via {args.via}"
    )
    options = {
        "events": args.events,
        "distinct": args.distinct,
        "products": args.products,
        "via": args.via,
        "batch": args.batch,
        "calls": args.calls,
    }
    with tempfile.TemporaryDirectory() as tmp:
        await bench_recommendations(
            "SQLite", f"sqlite+aiosqlite:///{tmp}/catalog-{uuid.uuid4().hex[:6]}.db", **options
        )
    if (url := await optional_postgres(skipped=args.no_postgres)) is not None:
        try:
            await bench_recommendations("PostgreSQL", url, **options)
        finally:
            await drop_postgres(url)
    record("catalog_recommendations", **options)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--distinct", type=int, default=2_000)
    parser.add_argument("--products", type=int, default=400)
    parser.add_argument("--via", choices=["handler", "broker"], default="handler")
    parser.add_argument(
        "--batch", type=int, default=1, help="events per transaction (production: 1)"
    )
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--no-postgres", action="store_true")
    asyncio.run(main(parser.parse_args()))
