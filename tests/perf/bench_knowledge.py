"""Knowledge sheet and training pack benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_knowledge [--rounds 100] [--budget 0.8]

Starts the embedded broker, the real catalog, feedback, launch and pricing services and the
gateway as processes (SQLite), seeds the knowledge sheet's store (tests/gateway/store.py: a
kettle with every section filled, a second active kettle, a draft), then, one request at a
time: the sheet as JSON, Markdown and HTML, and the training pack of the type (2 products)
as HTML; p50/p99 of each, and how many answers had a section missing (each asks the catalog
eight things at once within the view budget, the pack that per product).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from shared.broker import EmbeddedBroker
from tests.gateway.services import ServiceProcess
from tests.gateway.store import Services, knowledge_store
from tests.perf.common import figure, line, record, section
from tests.support import auth

SERVICES = ("catalog", "feedback", "launch", "pricing")
READ_ALL = auth("catalog:read feedback:read pricing:read launch:read")


async def rounds(http: httpx.AsyncClient, url: str, accept: str, n: int) -> None:
    latencies: list[float] = []
    incomplete = size = 0
    for _ in range(n):
        started = time.perf_counter()
        response = await http.get(url, headers={**READ_ALL, "Accept": accept})
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
        size = len(response.content)
        if "Missing: the" in response.text or '"state":"missing"' in response.text:
            incomplete += 1
    # The size is printed, not part of the name: the figures of two runs must line up.
    line(accept, latencies)
    print(f"  {size:,} bytes; answers with a section missing: {incomplete} of {n}")
    figure(f"{accept} answers with a section missing", incomplete)


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-knowledge-"))
    with EmbeddedBroker(log_path=root / "broker.log") as broker:
        services = {
            name: ServiceProcess(name, data_dir=root, bootstrap=broker.bootstrap)
            for name in SERVICES
        }
        ports = {f"PRODUCTOPS_{n.upper()}_PORT": str(s.port) for n, s in services.items()}
        gateway = ServiceProcess(
            "gateway",
            data_dir=root,
            bootstrap=broker.bootstrap,
            module="gateway",
            PRODUCTOPS_VIEW_BUDGET_S=str(args.budget),
            PRODUCTOPS_RATE_LIMIT_PER_S="100000",
            PRODUCTOPS_RATE_LIMIT_BURST="100000",
            **ports,
        )
        started = [*services.values(), gateway]
        try:
            for process in started:
                process.start()
            for process in started:
                process.wait_healthy()
            store = await knowledge_store(Services({n: s.url for n, s in services.items()}))
            sheet = f"{gateway.url}/v1/products/{store.kettle.id}/knowledge-sheet"
            pack = f"{gateway.url}/v1/product-types/{store.product_type}/training-pack"
            async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
                for _ in range(10):  # warm connections and caches on every side
                    await http.get(sheet, headers=READ_ALL)
                section("knowledge sheet")
                print(f"{args.rounds} rounds, view budget {args.budget} s")
                for accept in ("application/json", "text/markdown", "text/html"):
                    await rounds(http, sheet, accept, args.rounds)
                section("training pack of 2 products")
                print(f"{args.rounds} rounds")
                await rounds(http, pack, "text/html", args.rounds)
        finally:
            for process in started:
                process.stop()
    print(f"\n(logs in {root})")
    record("knowledge", **vars(args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--budget", type=float, default=0.8)
    asyncio.run(main(parser.parse_args()))
