"""Launch benchmark (issue 10): prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_launch [--reviews 50] [--plans 10000] [--postgres]
                                                [--fetch-wait-ms MS] [--skip-reviews]

(a) Review to gate: catalog, feedback, launch and the gateway as real processes on the
    embedded broker, one product per review, each with an open plan. One critical review at
    a time, each at a random moment, is pushed through the GATEWAY (`POST
    /v1/customer-events`); the latency runs from the moment its 202 arrived to the
    `created_at` of launch's outbox row `launch.gate.changed.v1` that fails
    `no_critical_defects` for that product (target p99 under 250 ms, issue 16), split into
    its hops by the rows' timestamps (`HOPS`): feedback's `feedback.finding.opened.v1` row
    (triage), its `published_at` (feedback's relay), launch's inbox row for it (broker and
    launch's consumer), the gate row (launch's handler); and the CPU each process spent per
    review. The raw limit, measured in the same run: one broker hop, aiokafka produce
    (acks=all) to a consumer in this process with the services' fetch wait.
(b) Re-evaluation throughput: N open plans (one product each) in a launch database, then a
    catalog snapshot burst that makes every product incomplete, applied as launch's
    consumer applies it (inbox row, sequence check, handler, one transaction per event):
    plans re-evaluated per second. The raw limit: the same burst through a handler that does
    nothing (the kernel's inbox and transaction alone).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from pydantic import SecretStr
from sqlalchemy import func, select

from services.launch import service
from services.launch.app import create_app
from services.launch.contracts import PRODUCT_CREATED, PRODUCT_SNAPSHOT
from services.launch.migrations import history
from services.launch.settings import LaunchSettings
from shared.auth import Principal, TokenSigner
from shared.broker import EmbeddedBroker, ensure_topics
from shared.db import Database
from shared.events import CloudEvent, decode, kafka_headers
from shared.inbox import apply_event
from shared.migrations import upgrade
from shared.relay import new_producer
from shared.settings import Settings
from shared.tables import inbox, outbox
from tests.launch.conftest import product_created, record_of
from tests.perf.common import (
    SECRET,
    ServiceProcess,
    cpu_seconds,
    drop_postgres,
    figure,
    line,
    ms,
    pct,
    probe_headers,
    record,
    required_postgres,
    section,
)

PRICE_LIST = "eu-web"
# Five stars, yet a burn: triage marks it a critical safety defect (tests/feedback/triage).
BURN = "The lid burned my hand when I poured the water"
SERVICES = ("catalog", "feedback", "launch")
GATE_CHANGED = "launch.gate.changed.v1"
FINDING_OPENED = "feedback.finding.opened.v1"
# Nothing listens on port 1: the in-process launch of (b) keeps its events in its outbox.
NO_BROKER = "127.0.0.1:1"
PM = Principal(
    subject="bench-pm", name="bench", owner="bench-pm", scopes=frozenset({"launch:write"})
)


def token() -> str:
    return TokenSigner(SECRET).issue(
        subject="bench", name="bench", owner="bench", scopes=frozenset({"admin"})
    )


# --- (a) review to gate -------------------------------------------------------------------------


class Stack:
    """Catalog, feedback and launch as real processes, and the gateway in front of them."""

    def __init__(
        self, data_dir: Path, databases: dict[str, str], bootstrap: str, fetch_wait_ms: int
    ) -> None:
        fetch = {"PRODUCTOPS_CONSUMER_FETCH_MAX_WAIT_MS": str(fetch_wait_ms)}
        self.services = {
            name: ServiceProcess(
                name, data_dir, database_url=databases[name], bootstrap=bootstrap, extra_env=fetch
            )
            for name in SERVICES
        }
        ports = {f"PRODUCTOPS_{n.upper()}_PORT": str(s.port) for n, s in self.services.items()}
        self.gateway = ServiceProcess(
            "gateway",
            data_dir,
            database_url=databases["gateway"],
            bootstrap=bootstrap,
            extra_env=ports,
        )
        self.databases = {name: Database(databases[name]) for name in SERVICES}

    async def wait_ready(self) -> None:
        for process in [*self.services.values(), self.gateway]:
            await process.wait_ready(120)

    async def stop(self) -> None:
        for db in self.databases.values():
            await db.dispose()
        for process in [self.gateway, *self.services.values()]:
            process.stop()


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float, pause_s: float) -> bool:
    """Poll `check` until it holds or the time is up; whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(pause_s)
    return False


async def outbox_row_at(
    db: Database, event_type: str, key: str, match: Callable[[dict[str, Any]], bool]
) -> datetime | None:
    """When the service wrote its first event of `event_type` about `key` that `match`es."""
    async with db.reader() as session:
        rows = await session.execute(
            select(outbox.c.created_at, outbox.c.payload)
            .where(outbox.c.type == event_type, outbox.c.key == key)
            .order_by(outbox.c.seq)
        )
        for created_at, payload in rows:
            if match(decode(payload).data):
                return created_at
    return None


def fails_defects_gate(data: dict[str, Any]) -> bool:
    gate = data["gate"]
    return gate["name"] == "no_critical_defects" and gate["status"] == "fail"


async def seed_plans(client: httpx.AsyncClient, stack: Stack, count: int) -> list[str]:
    """`count` complete kettles in the catalog, each with an open plan in launch."""
    catalog, launch = stack.services["catalog"].url, stack.services["launch"].url
    await client.post(
        f"{catalog}/v1/product-types",
        json={"code": "kettle", "name": "Kettle", "required_attributes": ["capacity_l"]},
    )
    ids = []
    for n in range(count):
        made = await client.post(
            f"{catalog}/v1/products",
            json={
                "sku": f"BENCH-{uuid.uuid4().hex[:8]}-{n}",
                "name": "Bench kettle",
                "product_type": "kettle",
                "brand": "Boilwell",
                "description": "A kettle",
                "attributes": {"capacity_l": 1.7},
            },
        )
        made.raise_for_status()
        ids.append(made.json()["id"])
    target = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    for product_id in ids:
        body = {"product_id": product_id, "target_date": target, "price_list": PRICE_LIST}

        async def planned(body: dict[str, str] = body) -> bool:
            # 422 until launch's consumer has heard of the product.
            return (await client.post(f"{launch}/v1/launches", json=body)).status_code == 201

        if not await until(planned, 60, 0.1):
            raise RuntimeError("launch did not learn of the products")
    return ids


async def review(client: httpx.AsyncClient, gateway: str, product_id: str) -> datetime:
    """Push one critical review through the gateway; the moment its 202 arrived."""
    body = {
        "events": [
            {
                "event_id": f"bench-{uuid.uuid4().hex}",
                "kind": "review",
                "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
                "product_id": product_id,
                "customer_ref": "cust-bench",
                "rating": 5,
                "text": BURN,
            }
        ]
    }
    response = await client.post(f"{gateway}/v1/customer-events", json=body)
    accepted = datetime.now(UTC)
    if response.status_code != 202:
        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
    return accepted


# The hops of one review, in order: each is the time between two rows' timestamps (the 202
# is the client's clock; every process runs on this machine's clock).
HOPS = (
    "  202 -> finding row (triage worker)",
    "  finding row -> published (feedback relay)",
    "  published -> launch inbox (broker, consumer)",
    "  launch inbox -> gate row (handler)",
)


async def finding_row(db: Database, product_id: str) -> tuple[str, datetime, datetime | None]:
    """Feedback's `finding.opened` row about the product: event id, written, published."""
    async with db.reader() as session:
        row = (
            await session.execute(
                select(outbox.c.id, outbox.c.created_at, outbox.c.published_at)
                .where(outbox.c.type == FINDING_OPENED, outbox.c.key == product_id)
                .order_by(outbox.c.seq)
                .limit(1)
            )
        ).one()
    return row.id, row.created_at, row.published_at


async def measure_review(
    client: httpx.AsyncClient, stack: Stack, product_id: str
) -> tuple[float, list[float]] | None:
    """Seconds from the 202 to the gate change for one review and the time of each of
    `HOPS`, or None when the gate never failed."""
    accepted = await review(client, stack.gateway.url, product_id)
    found: dict[str, datetime] = {}

    async def gate_failed() -> bool:
        at = await outbox_row_at(
            stack.databases["launch"], GATE_CHANGED, product_id, fails_defects_gate
        )
        if at is not None:
            found["gate"] = at
        return at is not None

    # A tight poll only to know when to send the next review: the figures are row times.
    if not await until(gate_failed, 15, 0.02):
        return None
    row: dict[str, tuple[str, datetime, datetime | None]] = {}

    async def marked_published() -> bool:
        # Launch may write its gate row before feedback's relay records the broker's ack.
        row["finding"] = await finding_row(stack.databases["feedback"], product_id)
        return row["finding"][2] is not None

    await until(marked_published, 5, 0.02)
    event_id, opened, published = row["finding"]
    async with stack.databases["launch"].reader() as session:
        received = await session.scalar(
            select(inbox.c.processed_at).where(
                inbox.c.consumer == "launch", inbox.c.event_id == event_id
            )
        )
    assert published is not None
    assert received is not None
    gate = found["gate"]
    marks = [accepted, opened, published, received, gate]
    hops = [(b - a).total_seconds() for a, b in itertools.pairwise(marks)]
    return (gate - accepted).total_seconds(), hops


async def broker_hop(bootstrap: str, samples: int, fetch_wait_ms: int) -> list[float]:
    """One event at a time, produced (acks=all) and consumed in this process with the
    services' fetch wait: the raw produce-to-consume latency of the broker they talk
    through."""
    topic = f"bench.hop.{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic], partitions=1)
    producer = new_producer(Settings(kafka_bootstrap=bootstrap, jwt_secret=SecretStr(SECRET)))
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="latest",
        fetch_max_wait_ms=fetch_wait_ms,
    )
    await producer.start()
    await consumer.start()
    latencies = []
    try:
        await consumer.seek_to_end()
        for n in range(samples):
            # At a random moment of the consumer's fetch cycle, as an event from a service.
            await asyncio.sleep(random.uniform(0, fetch_wait_ms / 1000))
            started = time.perf_counter()
            await producer.send_and_wait(topic, value=b"%d" % n, headers=kafka_headers())
            while not await consumer.getmany(timeout_ms=1000):
                pass
            latencies.append(time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()
    return latencies


async def bench_review_to_gate(args: argparse.Namespace, tmp: Path, broker: EmbeddedBroker) -> None:
    pg = {name: await required_postgres() for name in SERVICES} if args.postgres else {}
    databases = {
        name: pg.get(name) or f"sqlite+aiosqlite:///{tmp / f'{name}.db'}"
        for name in (*SERVICES, "gateway")
    }
    section("(a) critical review at the gateway -> no_critical_defects fails in launch")
    print(
        f"  databases: {databases['launch'].split(':', 1)[0]}; one review at a time;"
        f" consumers' fetch wait {args.fetch_wait_ms} ms"
    )
    stack = Stack(tmp, databases, broker.bootstrap, args.fetch_wait_ms)
    headers = {"Authorization": f"Bearer {token()}"}
    try:
        await stack.wait_ready()
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            started = time.perf_counter()
            ids = await seed_plans(client, stack, args.reviews + args.warmup)
            print(
                f"  {len(ids)} products with an open plan in {time.perf_counter() - started:.1f} s"
            )
            feedback = stack.services["feedback"].url

            async def model_ready() -> bool:
                ready = (await client.get(f"{feedback}/readyz", headers=probe_headers())).json()
                return ready.get("triage", {}).get("model") == "ready"

            await until(model_ready, 120, 0.5)
            # The first texts warm the model and every connection on the way.
            for product_id in ids[: args.warmup]:
                await measure_review(client, stack, product_id)
            results = []
            processes = {"gateway": stack.gateway, **stack.services}
            cpu_before = {name: cpu_seconds(p.process.pid) for name, p in processes.items()}
            for product_id in ids[args.warmup :]:
                # Sent at a random moment of launch's fetch cycle, not just after the fetch
                # that brought the previous review's finding.
                await asyncio.sleep(random.uniform(0, args.fetch_wait_ms / 1000))
                results.append(await measure_review(client, stack, product_id))
            # Per review, idle work (polls, heartbeats) included: what the chain costs the
            # machine, which its load changes far less than the latency.
            cpu_ms = {
                name: (cpu_seconds(p.process.pid) - cpu_before[name]) * 1000 / len(results)
                for name, p in processes.items()
            }
    finally:
        await stack.stop()
        for url in pg.values():
            await drop_postgres(url)
    done = [r for r in results if r is not None]
    if len(done) < len(results):
        print(f"  {len(results) - len(done)} reviews did not fail the gate within 15 s")
    if not done:
        return
    total = [r[0] for r in done]
    line("accepted (202) -> gate failed in launch", total)
    for n, hop_label in enumerate(HOPS):
        line(hop_label, [r[1][n] for r in done])
    print("  CPU per review: " + ", ".join(f"{n} {v:.1f} ms" for n, v in cpu_ms.items()))
    for name, value in cpu_ms.items():
        figure(f"CPU per review, {name}", value, "ms")
    hop = await broker_hop(broker.bootstrap, args.hop_samples, args.fetch_wait_ms)
    line("raw: one broker hop, produce -> consume", hop)
    print(
        f"  p99 {ms(pct(total, 99)).strip()} against the target 250 ms; "
        f"p50 / raw hop p50 = {pct(total, 50) / pct(hop, 50):.2f}"
    )


# --- (b) re-evaluation throughput ---------------------------------------------------------------


def snapshot(product_id: str, *, version: int, at: datetime) -> CloudEvent:
    """The catalog's snapshot of the product after an edit left it incomplete."""
    incomplete = product_created(product_id, score=80, missing=("attributes.wattage",), at=at)
    return incomplete.model_copy(
        update={
            "type": PRODUCT_SNAPSHOT,
            "sequence": str(version),
            "data": {**incomplete.data, "version": version, "decision": None},
        }
    )


async def apply_all(runtime: Any, events: list[CloudEvent], handler: Any) -> float:
    """Apply the events one transaction each, as the consumer does; the elapsed seconds."""
    started = time.perf_counter()
    for offset, event in enumerate(events):
        await apply_event(
            runtime.uow,
            consumer="launch",
            record=record_of(event, offset),
            event=event,
            handler=handler,
        )
    return time.perf_counter() - started


async def _nothing(event: CloudEvent, uow: Any) -> None:
    return None


async def count_of(db: Database, event_type: str) -> int:
    async with db.reader() as session:
        return (
            await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.type == event_type)
            )
            or 0
        )


async def bench_reevaluation(args: argparse.Namespace, tmp: Path) -> None:
    pg = await required_postgres() if args.postgres else None
    url = pg or f"sqlite+aiosqlite:///{tmp / 'launch-reeval.db'}"
    section(f"(b) gate re-evaluation, {args.plans} open plans, launch on {url.split(':', 1)[0]}")
    settings = Settings(
        data_dir=tmp,
        launch_database_url=url,
        kafka_bootstrap=NO_BROKER,
        jwt_secret=SecretStr(SECRET),
    )
    app = create_app(settings, launch=LaunchSettings())
    runtime = app.state.runtime
    handlers = runtime.spec.handlers
    try:
        await upgrade(runtime.db, history)
        now = datetime.now(UTC)
        ids = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(args.plans)]
        started = time.perf_counter()
        created = [product_created(p, at=now) for p in ids]
        await apply_all(runtime, created, handlers[PRODUCT_CREATED])
        target: date = (now + timedelta(days=30)).date()
        for product_id in ids:
            async with runtime.uow() as uow:
                await service.plan_launch(
                    uow=uow,
                    product_id=product_id,
                    price_list=PRICE_LIST,
                    target_date=target,
                    owner=None,
                    actor=PM,
                )
        print(f"  seeded {len(ids)} products and plans in {time.perf_counter() - started:.1f} s")

        before = await count_of(runtime.db, GATE_CHANGED)
        burst = [snapshot(p, version=2, at=now) for p in ids]
        elapsed = await apply_all(runtime, burst, handlers[PRODUCT_SNAPSHOT])
        changed = await count_of(runtime.db, GATE_CHANGED) - before
        rate = len(ids) / elapsed
        print(
            f"  snapshot burst re-evaluated            {rate:9.0f} plans/s   ({elapsed:.1f} s,"
            f" {changed} gate.changed events)"
        )
        # The floor: a burst of as many new events through a handler that does nothing.
        floor = [snapshot(p, version=3, at=now) for p in ids]
        raw = len(ids) / await apply_all(runtime, floor, _nothing)
        print(f"  raw: inbox + transaction, no handler   {raw:9.0f} events/s")
        print(f"  re-evaluation / raw                    {rate / raw:9.2f}")
        figure("snapshot burst re-evaluated", rate, "/s")
        figure("raw: inbox + transaction, no handler", raw, "/s")
        figure("re-evaluation / raw", rate / raw, "x")
    finally:
        await runtime.db.dispose()
        if pg is not None:
            await drop_postgres(pg)


async def main(args: argparse.Namespace) -> None:
    reviews = (
        "no reviews" if args.skip_reviews else f"{args.reviews} reviews (+{args.warmup} warm-up)"
    )
    print(f"launch benchmark: {reviews}, {args.plans} plans, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_reviews:
            with EmbeddedBroker() as broker:
                await bench_review_to_gate(args, Path(tmp), broker)
        if args.plans:
            await bench_reevaluation(args, Path(tmp))
    record("launch", **vars(args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reviews", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--hop-samples", type=int, default=100)
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--skip-reviews", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--fetch-wait-ms",
        type=int,
        default=Settings.model_fields["consumer_fetch_max_wait_ms"].default,
        help="the services' PRODUCTOPS_CONSUMER_FETCH_MAX_WAIT_MS (default: theirs)",
    )
    asyncio.run(main(parser.parse_args()))
