"""Scale-out benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_scale [--events 20000] [--batch 500]
                                               [--concurrency 8] [--rounds 2]

Ingestion with ONE and then TWO feedback processes, in the same run, on PostgreSQL (a fresh
database each time; the two processes share it, their consumer group and its partitions)
and one embedded broker. The same number of customer events (the storefront mix of
`bench_ingest`) is pushed straight to the feedback processes' `POST /v1/customer-events`,
batches spread round-robin over the processes with the same number of connections in
total, so what changes is only how many processes take them. Printed per run: events/s
accepted (a 202 means durable), p50/p99 batch latency, how long until the outbox relay (one
per database, whichever process leads) has published them all, and the CPU the machine had;
then the ratio two / one. On a machine with few cores expect little gain: the processes,
PostgreSQL and the broker share the same cores (see the README's "Scaling out").
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from shared.auth import TokenSigner
from shared.broker import EmbeddedBroker
from tests.perf.bench_ingest import make_event, until
from tests.perf.common import (
    SECRET,
    ServiceProcess,
    cpu_seconds,
    drop_postgres,
    figure,
    machine_busy,
    pct,
    postgres_url,
    record,
    section,
)


@dataclass
class Run:
    """The figures of one configuration."""

    processes: int
    rate: float
    latencies: list[float]
    published_s: float
    busy: float
    # CPU cores the feedback processes used together while ingesting.
    cores: float

    def print(self) -> None:
        section(f"{self.processes} feedback process{'es' if self.processes > 1 else ''}")
        print(f"  ingest (202, durable)               {self.rate:9.0f} events/s")
        print(
            f"  batch latency                        p50 {pct(self.latencies, 50) * 1000:6.1f} ms"
            f"   p99 {pct(self.latencies, 99) * 1000:6.1f} ms   n={len(self.latencies)}"
        )
        print(f"  all published by the relay           {self.published_s:5.1f} s after the first")
        print(
            f"  CPU while ingesting                  feedback {self.cores:.2f} cores;"
            f" machine {self.busy * 100:.0f}% busy (every user's processes)"
        )
        figure("ingest (202, durable)", self.rate, "/s")
        figure("batch latency p50", pct(self.latencies, 50) * 1000, "ms")
        figure("batch latency p99", pct(self.latencies, 99) * 1000, "ms")
        figure("all published by the relay", self.published_s, "s")


async def backlog(client: httpx.AsyncClient, member: ServiceProcess) -> int:
    body = (await client.get(f"{member.url}/readyz", timeout=10)).json()
    return int(body.get("outbox_backlog", -1))


async def push(
    members: list[ServiceProcess], token: str, bodies: list[bytes], concurrency: int
) -> tuple[float, list[float]]:
    """POST every body, round-robin over the members, `concurrency` connections in all."""
    latencies: list[float] = []
    work = iter(zip(bodies, itertools.cycle(members), strict=False))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60, trust_env=False) as client:

        async def worker() -> None:
            for body, member in work:
                started = time.perf_counter()
                response = await client.post(
                    f"{member.url}/v1/customer-events", content=body, headers=headers
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


async def measure(
    processes: int, root: Path, bootstrap: str, token: str, args: argparse.Namespace
) -> Run:
    """Start `processes` feedback processes on a fresh database, warm them up, push."""
    database = await postgres_url()
    assert database is not None
    members: list[ServiceProcess] = []
    try:
        for n in range(processes):
            data_dir = root / f"{processes}-{n}"
            data_dir.mkdir()
            members.append(
                ServiceProcess("feedback", data_dir, database_url=database, bootstrap=bootstrap)
            )
        for member in members:
            await member.wait_ready(timeout_s=120)
        run = uuid.uuid4().hex[:6]
        # One batch per process first: connections, the first inserts, the relay's producer.
        warm = [
            orjson.dumps({"events": [make_event(i, f"warm{run}{n}") for i in range(args.batch)]})
            for n in range(processes)
        ]
        await push(members, token, warm, processes)
        async with httpx.AsyncClient(trust_env=False) as client:
            await until(lambda: _drained(client, members))
            events = [make_event(i, run) for i in range(args.events)]
            bodies = [
                orjson.dumps({"events": events[i : i + args.batch]})
                for i in range(0, len(events), args.batch)
            ]
            pids = [member.process.pid for member in members]
            busy_before, cpu_before = machine_busy(), sum(map(cpu_seconds, pids))
            started = time.perf_counter()
            elapsed, latencies = await push(members, token, bodies, args.concurrency)
            busy, total = (a - b for a, b in zip(machine_busy(), busy_before, strict=True))
            cores = (sum(map(cpu_seconds, pids)) - cpu_before) / elapsed
            await until(lambda: _drained(client, members))
            published_s = time.perf_counter() - started
        rate = len(events) / elapsed
        return Run(processes, rate, latencies, published_s, busy / total, cores)
    finally:
        for member in members:
            member.stop()
        await drop_postgres(database)


async def _drained(client: httpx.AsyncClient, members: list[ServiceProcess]) -> bool:
    return await backlog(client, members[0]) == 0


async def main(args: argparse.Namespace) -> None:
    probe = await postgres_url()
    if probe is None:
        print("bench_scale: PostgreSQL does not answer at 127.0.0.1:5432; nothing measured")
        return
    await drop_postgres(probe)
    print(
        f"scale-out benchmark: {args.events} events a run in batches of {args.batch},"
        f" {args.concurrency} connections, PostgreSQL, {os.cpu_count()} cores"
    )
    token = TokenSigner(SECRET).issue(
        subject="bench", name="storefront", owner="bench", scopes=frozenset({"feedback:ingest"})
    )
    # One then two, and with --rounds 2 back again (1, 2, 2, 1): a machine whose other load
    # drifts during the run then weighs on both configurations alike.
    order = ([1, 2, 2, 1] * args.rounds)[: 2 * args.rounds]
    runs: dict[int, list[Run]] = {1: [], 2: []}
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        for n, processes in enumerate(order):
            root = Path(tmp) / str(n)
            root.mkdir()
            run = await measure(processes, root, broker.bootstrap, token, args)
            run.print()
            runs[processes].append(run)
    one, two = runs[1], runs[2]
    section("two / one (means over the runs)")
    ingest = _mean(two, "rate") / _mean(one, "rate")
    print(f"  ingest events/s                      {ingest:9.2f}")
    published = _mean(one, "published_s") / _mean(two, "published_s")
    print(f"  time to all published, one / two     {published:9.2f}")
    figure("ingest events/s", ingest, "x")
    figure("time to all published, one / two", published, "x")
    record("scale", **vars(args))


def _mean(runs: list[Run], name: str) -> float:
    return statistics.mean(getattr(run, name) for run in runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="1: one, two; 2: one, two, two, one")
    asyncio.run(main(parser.parse_args(sys.argv[1:])))
