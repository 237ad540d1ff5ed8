"""Plans and the sales report benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_plans [--purchases 100000] [--products 500]
                                               [--accounts 50] [--no-postgres]

Purchases (with returns, one in twenty) of a quarter seeded straight into pricing's tables,
each product with two cost points; then, on SQLite and on PostgreSQL:
- the sales report of the quarter (`plans.queries.sales_report`: grouped in the database by
  key, price and cost, the money multiplied in Python);
- one product plan's performance (`plans.queries.performance`).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from services.pricing.migrations import history
from services.pricing.plans import queries
from services.pricing.tables import (
    financial_plan,
    plan_target,
    product,
    product_cost,
    purchase,
    sale_return,
)
from shared.db import Database
from shared.migrations import upgrade
from shared.periods import parse_period
from tests.perf.common import drop_postgres, line, optional_postgres, record, section

START = datetime(2030, 1, 1, tzinfo=UTC)
PRICES = [Decimal(p) for p in ("19.99", "21.50", "24.00", "17.99")]
BATCH = 5000


async def seed(db: Database, *, purchases: int, products: int, accounts: int) -> str:
    """The tables, filled; returns a plan id."""
    await upgrade(db, history)
    ids = [f"bench-{n:05d}" for n in range(products)]
    rng = random.Random(7)
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(product),
            [
                {
                    "id": pid,
                    "sku": pid.upper(),
                    "lifecycle": "active",
                    "cost_amount": Decimal("11.00"),
                    "cost_currency": "EUR",
                    "catalog_version": 2,
                    "event_sequence": 0,
                    "updated_at": START,
                }
                for pid in ids
            ],
        )
        await conn.execute(
            insert(product_cost),
            [
                {
                    "product_id": pid,
                    "valid_from": START + timedelta(days=offset),
                    "amount": amount,
                    "currency": "EUR",
                    "catalog_version": version,
                }
                for pid in ids
                for offset, amount, version in (
                    (-30, Decimal("10.00"), 1),
                    (45, Decimal("11.00"), 2),
                )
            ],
        )
        rows: list[dict[str, Any]] = []
        returns: list[dict[str, Any]] = []
        for n in range(purchases):
            at = START + timedelta(seconds=rng.randrange(90 * 86400))
            pid = rng.choice(ids)
            account = f"acct-{rng.randrange(accounts)}" if rng.random() < 0.6 else None
            price = rng.choice(PRICES)
            rows.append(
                {
                    "event_id": f"p-{n}",
                    "product_id": pid,
                    "occurred_at": at,
                    "quantity": rng.randint(1, 3),
                    "unit_price": price,
                    "currency": "EUR",
                    "received_at": at,
                    "account": account,
                }
            )
            if n % 20 == 0:
                returns.append(
                    {
                        "event_id": f"r-{n}",
                        "product_id": pid,
                        "account": account,
                        "occurred_at": at + timedelta(days=2),
                        "quantity": 1,
                        "unit_value": price,
                        "currency": "EUR",
                        "received_at": at,
                    }
                )
            if len(rows) >= BATCH:
                await conn.execute(insert(purchase), rows)
                rows = []
        if rows:
            await conn.execute(insert(purchase), rows)
        for start in range(0, len(returns), BATCH):
            await conn.execute(insert(sale_return), returns[start : start + BATCH])
        plan_id = str(uuid.uuid4())
        await conn.execute(
            insert(financial_plan).values(
                id=plan_id,
                kind="product",
                subject=ids[0],
                currency="EUR",
                source="manual",
                launch_id=None,
                version=1,
                created_by="bench",
                created_at=START,
                updated_by="bench",
                updated_at=START,
            )
        )
        await conn.execute(
            insert(plan_target),
            [
                {
                    "plan_id": plan_id,
                    "month": date(2030, m, 1),
                    "units": 500,
                    "revenue": Decimal("10000"),
                    "margin": Decimal("4000"),
                }
                for m in (1, 2, 3)
            ],
        )
    return plan_id


async def measure(label: str, url: str, args: argparse.Namespace) -> None:
    db = Database(url)
    section(label)
    try:
        started = time.perf_counter()
        plan_id = await seed(
            db, purchases=args.purchases, products=args.products, accounts=args.accounts
        )
        print(
            f"{label}: seeded {args.purchases} purchases in {time.perf_counter() - started:.1f} s"
        )
        period = parse_period("2030-Q1")
        report: list[float] = []
        plan: list[float] = []
        for _ in range(args.rounds):
            async with db.reader() as session:
                began = time.perf_counter()
                found = await queries.sales_report(session=session, period=period)
                report.append(time.perf_counter() - began)
                began = time.perf_counter()
                await queries.performance(session=session, plan_id=plan_id, today=date(2030, 3, 15))
                plan.append(time.perf_counter() - began)
        print(f"  {len(found.products)} product rows, {len(found.accounts)} account rows")
        line("sales report, one quarter", report)
        line("one plan's performance (3 months)", plan)
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--purchases", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        await measure("SQLite", f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}", args)
    if (url := await optional_postgres(skipped=args.no_postgres)) is not None:
        try:
            await measure("PostgreSQL", url, args)
        finally:
            await drop_postgres(url)
    record("plans", **vars(args))


if __name__ == "__main__":
    asyncio.run(main())
