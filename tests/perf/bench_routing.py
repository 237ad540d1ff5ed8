"""Gateway routing benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_routing [--rounds 2000]

Starts the embedded broker, the real catalog service and the gateway as processes (SQLite),
creates one product, then in each round makes the same `GET /v1/products/{id}` once
straight to the catalog and once through the gateway (`/v1/catalog/products/{id}`), one
request at a time, alternating which goes first. Prints p50/p99 of both, what the gateway
adds at p50 and p99 (goal: at most 1 ms at p50) and the ratio of the two medians. Both are
measured in the same run, under the same load, over kept-alive connections. Also the CPU
each process spent per request (from /proc), which a loaded machine changes far less than
latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx

from shared.broker import EmbeddedBroker, free_port
from tests.gateway.services import ServiceProcess
from tests.gateway.store import Services, catalog_product
from tests.perf.common import cpu_seconds, figure, line, ms, pct, record
from tests.support import auth

READ = auth("catalog:read")
OTHERS = ("feedback", "launch", "pricing")


async def get(http: httpx.AsyncClient, url: str) -> float:
    started = time.perf_counter()
    response = await http.get(url, headers=READ)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
    return elapsed


async def rounds(
    catalog: ServiceProcess, gateway: ServiceProcess, product_id: str, count: int
) -> None:
    direct_url = f"{catalog.url}/v1/products/{product_id}"
    routed_url = f"{gateway.url}/v1/catalog/products/{product_id}"
    direct: list[float] = []
    routed: list[float] = []
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        for _ in range(50):  # warm connections and caches on every side
            await get(http, direct_url)
            await get(http, routed_url)
        cpu_before = {p: cpu_seconds(p.pid) for p in (catalog, gateway)}
        for n in range(count):
            if n % 2:
                routed.append(await get(http, routed_url))
                direct.append(await get(http, direct_url))
            else:
                direct.append(await get(http, direct_url))
                routed.append(await get(http, routed_url))
        cpu = {p: cpu_seconds(p.pid) - before for p, before in cpu_before.items()}
    print(f"\none product GET, {count} rounds (one request at a time), {os.cpu_count()} cores")
    line("straight to the catalog", direct)
    line("through the gateway", routed)
    for p in (50, 99):
        added = pct(routed, p) - pct(direct, p)
        print(f"  added by the gateway at p{p}: {ms(added)}")
        figure(f"added by the gateway at p{p}", added * 1000, "ms")
    ratio = pct(routed, 50) / pct(direct, 50)
    print(f"  ratio of the medians: {ratio:.2f}x")
    # Not "x": compare reads that unit as more is better; here less is.
    figure("ratio of the medians", ratio)
    # The catalog served every request twice (straight and routed); the gateway once.
    print(
        f"  CPU per request: catalog {ms(cpu[catalog] / (2 * count))},"
        f" gateway {ms(cpu[gateway] / count)}"
    )
    figure("CPU per request: catalog", cpu[catalog] / (2 * count) * 1000, "ms")
    figure("CPU per request: gateway", cpu[gateway] / count * 1000, "ms")


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    with EmbeddedBroker(log_path=root / "broker.log") as broker:
        catalog = ServiceProcess("catalog", data_dir=root, bootstrap=broker.bootstrap)
        gateway = ServiceProcess(
            "gateway",
            data_dir=root,
            bootstrap=broker.bootstrap,
            module="gateway",
            PRODUCTOPS_RATE_LIMIT_PER_S="100000",
            PRODUCTOPS_RATE_LIMIT_BURST="100000",
            PRODUCTOPS_CATALOG_PORT=str(catalog.port),
            # Nothing listens there: only routing to the catalog is measured.
            **{f"PRODUCTOPS_{name.upper()}_PORT": str(free_port()) for name in OTHERS},
        )
        started = [catalog, gateway]
        try:
            for process in started:
                process.start()
            for process in started:
                process.wait_healthy()
            product = await catalog_product(Services({"catalog": catalog.url}))
            if args.pause:
                print(f"gateway pid {gateway.pid}; profiling window {args.pause} s", flush=True)
                await asyncio.sleep(args.pause)
            await rounds(catalog, gateway, product["id"], args.rounds)
        finally:
            for process in started:
                process.stop()
    record("routing", rounds=args.rounds)
    print(f"(logs in {root})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--pause", type=float, default=0, help=argparse.SUPPRESS)
    asyncio.run(main(parser.parse_args()))
