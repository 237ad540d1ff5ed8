"""Brand ranking benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_catalog_research [--benchmarks 10000] [--brands 200]
                                                          [--criteria 6] [--calls 1000]
                                                          [--no-postgres]

Seeds one product type with N benchmarks (scores one row per benchmark and criterion, about
1 in 10 benchmarks leaving one criterion out, 1 in 50 of one of our products) straight into
the catalog's tables, on SQLite and on a fresh PostgreSQL database when one answers, then
times `GET /v1/product-types/{code}/ranking` through the catalog app in-process (httpx over
ASGI: routing, auth, SQL, weighting and JSON, no network) next to two raw SQL reads: the
aggregate over every score row (mean per brand and criterion, what the ranking computed
before `benchmark_tally`) and the tally the ranking reads now.

Once seeded, the heap is settled as `productops serve` settles it once the app is built
(`shared.app.settle_heap`): what is alive then is out of the collector's reach. Without it,
every full collection walked the 155,000 objects of the modules and the app (about 100 ms of
CPU at load 9) in the middle of one call in 25, and p99 measured those pauses, which a
served catalog does not have. The collections during the API calls are printed too.
The default 1,000 calls make p99 the 10th slowest call, not the 2nd of 100.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import func, insert, select
from uuid6 import uuid7

from services.catalog.app import create_app
from services.catalog.migrations import history
from services.catalog.research.service import BRAND, PRODUCT
from services.catalog.research.tables import (
    BENCHMARK_COUNT,
    benchmark,
    benchmark_score,
    benchmark_tally,
    research_criteria_set,
    research_criterion,
)
from services.catalog.tables import product, product_type
from shared.app import settle_heap
from shared.auth import TokenSigner
from shared.migrations import upgrade
from shared.settings import Settings
from tests.perf.common import (
    SECRET,
    CollectorPauses,
    drop_postgres,
    figure,
    line,
    ms,
    optional_postgres,
    record,
)

CODE = "bench-kettle"
OUR_PRODUCTS = 20


async def timed(calls: int, call: Callable[[], Awaitable[None]], warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def seed(app: object, args: argparse.Namespace) -> None:
    """One product type, its criteria, our products and the benchmarks, in a few big inserts."""
    db = app.state.runtime.db  # type: ignore[attr-defined]
    # Migrated, not created: the app started on this database checks its revision.
    await upgrade(db, history)
    rng = random.Random(7)
    now = datetime.now(UTC)
    names = [f"criterion_{i}" for i in range(args.criteria)]
    brands = [f"Brand{n:03d}" for n in range(args.brands)]
    ours: list[dict[str, Any]] = [
        {
            "id": str(uuid7()),
            "sku": f"OURS-{i:03d}",
            "name": f"Our kettle {i}",
            "product_type": CODE,
            "brand": brands[i % len(brands)],
            "vendor": None,
            "description": None,
            "attributes": {},
            "cost_amount": None,
            "cost_currency": None,
            "lifecycle": "active",
            "completeness_score": 60,
            "completeness_missing": ["description"],
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "created_by": "bench",
        }
        for i in range(OUR_PRODUCTS)
    ]
    marks, scores = [], []
    for i in range(args.benchmarks):
        mine = ours[rng.randrange(OUR_PRODUCTS)] if i % 50 == 0 else None
        brand = mine["brand"] if mine else rng.choice(brands)
        marks.append(
            {
                "id": str(uuid7()),
                "product_type": CODE,
                "brand": brand,
                "product_id": mine["id"] if mine else None,
                "competitor_ref": None if mine else f"REF-{i}",
                "source": "bench",
                "notes": None,
                "recorded_at": now,
                "recorded_by": "bench",
                "recorded_by_name": "bench",
            }
        )
        skipped = rng.choice(names) if i % 10 == 0 else None
        scores += [
            {
                "benchmark_id": marks[-1]["id"],
                "criterion": name,
                "product_type": CODE,
                "brand": brand,
                "product_id": marks[-1]["product_id"],
                "score": round(rng.uniform(0, 10), 1),
            }
            for name in names
            if name != skipped
        ]
    started = time.perf_counter()
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(product_type).values(
                code=CODE, name="Bench kettle", required_attributes=[], created_at=now, version=1
            )
        )
        await conn.execute(
            insert(research_criteria_set).values(
                product_type=CODE,
                version=1,
                updated_at=now,
                updated_by="bench",
                updated_by_name="bench",
            )
        )
        await conn.execute(
            insert(research_criterion),
            [
                {"product_type": CODE, "name": n, "position": i, "weight": i + 1.0}
                for i, n in enumerate(names)
            ],
        )
        await conn.execute(insert(product), ours)
        for start in range(0, len(marks), 5000):
            await conn.execute(insert(benchmark), marks[start : start + 5000])
        for start in range(0, len(scores), 5000):
            await conn.execute(insert(benchmark_score), scores[start : start + 5000])
        await conn.execute(insert(benchmark_tally), tallies(marks, scores))
    if db.dialect == "postgresql":
        # What autovacuum would do soon after: statistics, and the visibility map that lets
        # the aggregate be an index-only scan.
        async with db.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("VACUUM ANALYZE")
    print(
        f"  seeded {len(marks)} benchmarks, {len(scores)} score rows, {args.brands} brands, "
        f"{args.criteria} criteria in {time.perf_counter() - started:.1f} s"
    )


def tallies(marks: list[dict], scores: list[dict]) -> list[dict]:
    """The ranking's aggregates of the seeded rows, as `record_benchmark` keeps them."""
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for mark in marks:
        sums[BRAND, mark["brand"], BENCHMARK_COUNT][1] += 1
        if mark["product_id"]:
            sums[PRODUCT, mark["product_id"], BENCHMARK_COUNT][1] += 1
    for score in scores:
        for scope, key in ((BRAND, score["brand"]), (PRODUCT, score["product_id"])):
            if key is not None:
                sums[scope, key, score["criterion"]][0] += score["score"]
                sums[scope, key, score["criterion"]][1] += 1
    return [
        {
            "product_type": CODE,
            "scope": scope,
            "key": key,
            "criterion": criterion,
            "total": total,
            "count": count,
        }
        for (scope, key, criterion), (total, count) in sums.items()
    ]


async def bench_ranking(database_url: str, args: argparse.Namespace, label: str) -> None:
    """Seed, then time the ranking through the API and the raw SQL aggregate."""
    print(f"\n== ranking on {label}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), jwt_secret=SecretStr(SECRET), catalog_database_url=database_url
        )
        # No lifespan: the relay and consumers are not needed to serve reads, so no broker.
        app = create_app(settings)
        db = app.state.runtime.db
        try:
            await seed(app, args)
            settle_heap()
            token = TokenSigner(SECRET).issue(
                subject="bench", name="bench", owner="bench", scopes=frozenset({"catalog:read"})
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                headers={"Authorization": f"Bearer {token}"},
            ) as client:
                body: dict = {}

                async def call_api() -> None:
                    nonlocal body
                    response = await client.get(f"/v1/product-types/{CODE}/ranking")
                    if response.status_code != 200:
                        raise RuntimeError(response.text)
                    body = response.json()

                cpu = time.process_time()
                with CollectorPauses() as pauses:
                    api = await timed(args.calls, call_api)
                # Client, app and driver share this process: CPU per call moves less than
                # wall time with what else the machine runs.
                cpu = (time.process_time() - cpu) / (args.calls + 5)

            stmt = (
                select(
                    benchmark_score.c.brand,
                    benchmark_score.c.criterion,
                    func.avg(benchmark_score.c.score),
                    func.count(),
                )
                .where(benchmark_score.c.product_type == CODE)
                .group_by(benchmark_score.c.brand, benchmark_score.c.criterion)
            )

            async def call_sql() -> None:
                async with db.reader() as session:
                    (await session.execute(stmt)).all()

            raw = await timed(args.calls, call_sql)
            tally_stmt = select(benchmark_tally).where(benchmark_tally.c.product_type == CODE)

            async def call_tally() -> None:
                async with db.reader() as session:
                    (await session.execute(tally_stmt)).all()

            read = await timed(args.calls, call_tally)
        finally:
            await db.dispose()
            # This run's app back in the collector's reach: the next run settles its own.
            gc.unfreeze()
    line("GET ranking through the API", api)
    print(f"  CPU per API call (client and app) {cpu * 1000:6.2f} ms")
    figure("CPU per API call", cpu * 1000, "ms")
    full, young = pauses.runs[2], pauses.runs[0] + pauses.runs[1]
    print(
        f"  collections during the API calls: {full} full (longest {ms(pauses.longest[2])}), "
        f"{young} younger (longest {ms(max(pauses.longest[:2]))})"
    )
    figure("longest full collection during the API calls", pauses.longest[2] * 1000, "ms")
    line("raw SQL: AVG per brand and criterion", raw)
    line("raw SQL: the maintained tally, all rows", read)
    top = body["brands"][0]
    print(
        f"  answer: {len(body['brands'])} brands, {body['benchmark_count']} benchmarks, "
        f"{len(body['our_products'])} of our products; #1 {top['brand']} {top['score']}"
    )


async def main(args: argparse.Namespace) -> None:
    print(
        f"ranking benchmark: {args.benchmarks} benchmarks, {args.brands} brands, "
        f"{args.criteria} criteria, {args.calls} calls, {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as tmp:
        await bench_ranking(f"sqlite+aiosqlite:///{tmp}/catalog.db", args, "SQLite")
    if (url := await optional_postgres(skipped=args.no_postgres)) is not None:
        try:
            await bench_ranking(url, args, "PostgreSQL")
        finally:
            await drop_postgres(url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--benchmarks", type=int, default=10_000)
    parser.add_argument("--brands", type=int, default=200)
    parser.add_argument("--criteria", type=int, default=6)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--no-postgres", action="store_true")
    asyncio.run(main(parser.parse_args()))
    record("catalog_research")
