"""Pricing benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_pricing [--products 10000] [--per-product 10]
                                                 [--samples 2000] [--due 10000]
                                                 [--scheduler-only] [--no-postgres]

- effective-price lookups p50/p99 with N prices (seeded straight into the database)
  through the API of a real `productops serve pricing` process, next to the raw query
  (the same SQL plus the resolution, in this process, no HTTP) as the limit;
- how late the scheduler publishes under load: M approved prices all due at one instant
  (a burst) and M due spread over 10 s (a stream): lateness p50/p99/max, publish rate and
  the service process's CPU per price (its relay sending the events included: the CPU is
  read once every outbox row is sent).
  `--scheduler-only` skips the lookups;
- with the service stopped, M more due prices published by the scheduler's statements as
  raw SQL (`pricing_raw`): the database's own limit in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, insert, select, text
from uuid6 import uuid7

from services.pricing.migrations import history
from services.pricing.service import scheduled_windows, window_of
from services.pricing.tables import price, price_list, product
from services.pricing.timeline import resolve
from shared.auth import TokenSigner
from shared.broker import EmbeddedBroker
from shared.db import Database
from shared.migrations import upgrade
from shared.tables import outbox
from tests.perf.common import (
    SECRET,
    ServiceProcess,
    drop_postgres,
    figure,
    line,
    optional_postgres,
    record,
    section,
    timed,
)
from tests.perf.pricing_raw import raw_limit

LISTS = ("eu-web", "eu-app")


# --- seeding ------------------------------------------------------------------------------------


def _price_row(
    product_id: str,
    code: str,
    kind: str,
    amount: Decimal,
    start: datetime,
    end: datetime | None,
    status: str,
    published: bool,
) -> dict[str, Any]:
    return {
        "id": str(uuid7()),
        "product_id": product_id,
        "price_list": code,
        "currency": "EUR",
        "kind": kind,
        "amount": amount,
        "valid_from": start,
        "valid_to": end,
        "reason": "seeded",
        "status": status,
        "guardrail_violations": [],
        "violations_at_proposal": [],
        "cost_amount": None,
        "cost_currency": None,
        "current_amount": None,
        "proposed_by": "bench-pm",
        "proposed_by_name": "bench",
        "proposed_by_owner": "bench-pm",
        "proposed_at": start - timedelta(days=1),
        "decided_by": "bench-boss",
        "decided_by_name": "bench",
        "decided_at": start - timedelta(hours=1),
        "override_reason": None,
        "rejection_reason": None,
        "effective_from": start,
        "effective_to": end,
        "published_at": start if published else None,
        "replaces_price_id": None,
        "closed_at": None,
        "closed_by": None,
        "close_reason": None,
        "version": 3,
    }


def history_rows(product_id: str, code: str, per_list: int, now: datetime) -> list[dict]:
    """Base prices one after another over the last months (the last one open), and one
    promotion: running now for one product in five (the Omnibus path), else in the past."""
    rows = []
    bases = per_list - 1
    for n in range(bases):
        start = now - timedelta(days=20 * (bases - n))
        end = None if n == bases - 1 else start + timedelta(days=20)
        status = "published" if end is None else "expired"
        amount = Decimal(random.randint(1000, 9999)) / 100
        rows.append(_price_row(product_id, code, "base", amount, start, end, status, True))
    running = random.random() < 0.2
    start = now - timedelta(days=2) if running else now - timedelta(days=45)
    end = start + timedelta(days=7)
    rows.append(
        _price_row(
            product_id,
            code,
            "promotion",
            Decimal(random.randint(500, 999)) / 100,
            start,
            end,
            "published" if running else "expired",
            True,
        )
    )
    return rows


async def seed(db: Database, products: int, per_product: int) -> list[str]:
    """Price lists, products and `products * per_product` prices, straight into tables."""
    now = datetime.now(UTC)
    # Migrated, not created: the service started on this database checks its revision.
    await upgrade(db, history)
    ids = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(products)]
    started = time.perf_counter()
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(price_list),
            [
                {
                    "code": code,
                    "currency": "EUR",
                    "channel": code.split("-")[1],
                    "min_margin_pct": None,
                    "max_change_pct": None,
                    "floor": None,
                    "ceiling": None,
                    "version": 1,
                    "created_by": "bench",
                    "created_at": now,
                    "updated_at": now,
                }
                for code in LISTS
            ],
        )
        await conn.execute(
            insert(product),
            [
                {
                    "id": pid,
                    "sku": pid.upper(),
                    "lifecycle": "active",
                    "cost_amount": Decimal("5.00"),
                    "cost_currency": "EUR",
                    "catalog_version": 1,
                    "event_sequence": 0,
                    "updated_at": now,
                }
                for pid in ids
            ],
        )
        batch: list[dict] = []
        for pid in ids:
            for code in LISTS:
                batch += history_rows(pid, code, per_product // len(LISTS), now)
            if len(batch) >= 5000:
                await conn.execute(insert(price), batch)
                batch = []
        if batch:
            await conn.execute(insert(price), batch)
    if not db.is_sqlite:
        # What autovacuum would do soon after a bulk load: fresh planner statistics.
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
    async with db.reader() as session:
        total = await session.scalar(select(func.count()).select_from(price))
    print(
        f"  seeded {total} prices for {products} products in {time.perf_counter() - started:.1f} s"
    )
    return ids


# --- effective price ----------------------------------------------------------------------------


async def bench_lookups(
    base: str, headers: dict[str, str], db: Database, ids: list[str], samples: int
) -> None:
    now = datetime.now(UTC)
    picks = [(random.choice(ids), random.choice(LISTS)) for _ in range(samples)]
    promos: list[int] = []

    async def raw(i: int) -> None:
        product_id, code = picks[i]
        async with db.reader() as session:
            stmt = scheduled_windows(
                product_id=product_id, price_list_code=code, starts_before=now, ends_after=now
            )
            rows = (await session.execute(stmt)).all()
        winner = resolve([window_of(r) for r in rows], now)
        assert winner is not None
        if winner.kind == "promotion":
            promos.append(i)

    for i in range(20):
        await raw(i)
    promos.clear()
    line("raw query + resolution (no HTTP), now", await timed(samples, 1, raw))
    print(f"  {'':<44} ({len(promos)} of {samples} lookups hit a running promotion)")

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

        async def via_api(i: int, at: datetime | None = None) -> None:
            product_id, code = picks[i]
            params = {"price_list": code}
            if at is not None:
                params["at"] = at.isoformat()
            resp = await client.get(f"/v1/products/{product_id}/price", params=params)
            assert resp.status_code == 200, resp.text

        for i in range(20):
            await via_api(i)
        line("API GET /price (now), sequential", await timed(samples, 1, via_api))
        promo_only = [i for i in promos] or [0]
        line(
            "API GET /price, promotions (+ Omnibus)",
            await timed(len(promo_only), 1, lambda k: via_api(promo_only[k])),
        )
        past = now - timedelta(days=30)
        line("API GET /price?at=30 days ago", await timed(samples, 1, lambda i: via_api(i, past)))
        started = time.perf_counter()
        latencies = await timed(samples, 16, via_api)
        rate = samples / (time.perf_counter() - started)
        line("API GET /price, 16 concurrent", latencies)
        print(f"  {'':<44} ({rate:.0f}/s)")
        figure("API GET /price, 16 concurrent", rate, "/s")


# --- scheduler under load -----------------------------------------------------------------------


async def insert_due(
    db: Database, ids: list[str], due: int, start: datetime, spread_s: float
) -> str:
    """`due` approved base prices taking effect from `start` over `spread_s`, on random
    products and lists; returns the marker in their `reason`."""
    marker = f"due-{uuid.uuid4().hex[:8]}"
    rows = []
    for n in range(due):
        at = start + timedelta(seconds=spread_s * n / max(1, due - 1))
        row = _price_row(
            random.choice(ids), random.choice(LISTS), "base", Decimal("12.34"), at, None,
            "approved", False,
        )  # fmt: skip
        rows.append(row | {"reason": marker})
    async with db.engine.begin() as conn:
        for chunk in range(0, due, 5000):
            await conn.execute(insert(price), rows[chunk : chunk + 5000])
    return marker


async def bench_scheduler(
    db: Database, service: ServiceProcess, ids: list[str], due: int, spread_s: float
) -> None:
    """Insert `due` approved prices taking effect within `spread_s` from 3 s from now;
    wait until the running service has published them all; report lateness and the
    service's CPU per price."""
    marker = await insert_due(db, ids, due, datetime.now(UTC) + timedelta(seconds=3), spread_s)
    mine = price.c.reason == marker
    cpu_before = service.cpu_seconds()
    deadline = time.monotonic() + 120 + spread_s
    while time.monotonic() < deadline:
        async with db.reader() as session:
            left = await session.scalar(
                select(func.count()).select_from(price).where(mine, price.c.status == "approved")
            )
        if not left:
            break
        await asyncio.sleep(0.2)
    # The CPU of the whole job: the relay's sending too, so it waits for the relay to
    # finish (otherwise its tail would be counted in the next run's figure).
    while time.monotonic() < deadline:
        async with db.reader() as session:
            unsent = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        if not unsent:
            break
        await asyncio.sleep(0.2)
    cpu = service.cpu_seconds() - cpu_before
    async with db.reader() as session:
        done = (
            await session.execute(
                select(price.c.id, price.c.effective_from, price.c.published_at).where(
                    mine, price.c.published_at.is_not(None)
                )
            )
        ).all()
        written = (
            await session.execute(
                select(outbox.c.created_at, outbox.c.payload).where(
                    outbox.c.type == "pricing.price.published.v1"
                )
            )
        ).all()
    # When the event row was written: just before the batch's commit.
    events = {orjson.loads(r.payload)["data"]["price_id"]: r.created_at for r in written}
    lateness = [(r.published_at - r.effective_from).total_seconds() for r in done]
    committed = [(events[r.id] - r.effective_from).total_seconds() for r in done if r.id in events]
    label = (
        "burst: all due at one instant" if not spread_s else f"stream: due over {spread_s:.0f} s"
    )
    print(f"  {label}: {len(done)} of {due} published")
    if lateness:
        kind = "stream" if spread_s else "burst"
        line(f"  lateness ({kind}), published_at - valid_from", lateness)
        line(f"  lateness ({kind}), event written - valid_from", committed)
        first = min(r.effective_from for r in done)
        last = max(events.get(r.id, r.published_at) for r in done)
        window = max((last - first).total_seconds(), 1e-6)
        # For the stream this is bounded by how fast prices come due (due / spread_s).
        print(f"    {len(done) / window:,.0f} prices/s, first due to last event written")
        figure(f"scheduler ({kind}), first due to last event written", len(done) / window, "/s")
        print(f"    service CPU {cpu:.2f} s = {cpu / len(done) * 1000:.3f} ms per price")
        figure(f"scheduler ({kind}), service CPU per price", cpu / len(done) * 1000, "ms")


# --- main ---------------------------------------------------------------------------------------


async def bench_backend(
    label: str, database_url: str, broker: EmbeddedBroker, args: argparse.Namespace
) -> None:
    section(f"pricing on {label}")
    db = Database(database_url)
    ids = await seed(db, args.products, args.per_product)
    with tempfile.TemporaryDirectory() as tmp:
        service = ServiceProcess(
            "pricing", Path(tmp), database_url=database_url, bootstrap=broker.bootstrap
        )
        try:
            await service.wait_ready()
            token = TokenSigner(SECRET).issue(
                subject="bench", name="bench", owner="bench", scopes=frozenset({"admin"})
            )
            headers = {"Authorization": f"Bearer {token}"}
            if not args.scheduler_only:
                await bench_lookups(service.url, headers, db, ids, args.samples)
            print(f"  scheduler ({args.due} prices; the service polls at most every 1 s):")
            await bench_scheduler(db, service, ids, args.due, 0)
            await bench_scheduler(db, service, ids, args.due, 10)
        finally:
            service.stop()
        try:
            # With the service stopped: the database alone, at this run's load.
            await insert_due(db, ids, args.due, datetime.now(UTC), 0)
            async with db.reader() as session:
                event_text = await session.scalar(
                    select(outbox.c.payload)
                    .where(outbox.c.type == "pricing.price.published.v1")
                    .limit(1)
                )
            assert event_text is not None, "the bench published no price"
            await raw_limit(database_url, event_text)
        finally:
            await db.dispose()


async def main(args: argparse.Namespace) -> None:
    print(
        f"pricing benchmark: {args.products * args.per_product} prices "
        f"({args.products} products x {len(LISTS)} lists), {args.samples} lookups, "
        f"{args.due} due prices, {os.cpu_count()} cores"
    )
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        await bench_backend("SQLite", f"sqlite+aiosqlite:///{tmp}/pricing.db", broker, args)
        if (url := await optional_postgres(skipped=args.no_postgres)) is not None:
            try:
                await bench_backend("PostgreSQL", url, broker, args)
            finally:
                await drop_postgres(url)
    record("pricing", **vars(args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--per-product", type=int, default=10)
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--scheduler-only", action="store_true", help="skip the lookups")
    parser.add_argument("--no-postgres", action="store_true")
    asyncio.run(main(parser.parse_args()))
