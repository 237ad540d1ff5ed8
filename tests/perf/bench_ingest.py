"""Ingestion benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_ingest [--events 100000] [--batch 500]
                                                [--concurrency 6] [--postgres]

Starts the embedded broker, the feedback service and the gateway as real processes, then:

- pushes customer events through the GATEWAY (`POST /v1/customer-events`, orjson bodies,
  batches of 500 over several connections): events/s and p50/p99 batch latency, and how
  long the outbox relay takes to have them all on `storefront.customer-events`;
- produces the same events with raw aiokafka to the same broker in the same run (the raw
  limit, acks=all as the relay) and prints the ratio;
- follows triage under that load: the worst triage lag seen, then triage throughput
  (texts/s) while the backlog drains.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from shared.auth import TokenSigner
from shared.broker import EmbeddedBroker, ensure_topics, free_port
from shared.events import encode, kafka_headers, new_event
from shared.relay import new_producer
from shared.settings import Settings
from tests.perf.common import (
    SECRET,
    drop_postgres,
    figure,
    pct,
    postgres_url,
    probe_headers,
    record,
)

PRODUCTS = [(str(uuid.uuid4()), f"SKU-{n:04d}") for n in range(200)]
TEXTS = {
    "review": [
        "The lid cracked after two weeks of daily use",
        "Love it, boils quickly and looks great",
        "Handle gets really hot, nearly burned my fingers",
        "Stopped working after a month, very disappointed",
        "Good value for the money, would buy again",
    ],
    "return": ["Too small for my family", "Arrived with a dent in the side"],
    "question": ["Is the jug dishwasher safe?", "Do you sell this in bulk for offices?"],
    "support_ticket": ["The base light does not turn on any more"],
}
# A storefront's day: mostly purchases, some texts for triage, a few search misses.
MIX = [("purchase", 70), ("review", 16), ("return", 5), ("question", 5), ("search_miss", 2),
       ("support_ticket", 2)]  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every process of every user."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), sum(values) / os.sysconf("SC_CLK_TCK")


def make_event(i: int, run: str) -> dict[str, Any]:
    kind = random.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
    product_id, sku = random.choice(PRODUCTS)
    moment = datetime.now(UTC) - timedelta(minutes=random.randint(1, 600))
    body: dict[str, Any] = {
        "event_id": f"{run}-{i}",
        "kind": kind,
        "occurred_at": moment.isoformat().replace("+00:00", "Z"),
        "product_id": product_id,
        "sku": sku,
        "customer_ref": f"cust-{random.randint(1, 50_000)}",
    }
    if kind == "purchase":
        body["quantity"] = random.randint(1, 3)
        body["unit_price"] = {"amount": f"{random.randint(5, 200)}.99", "currency": "EUR"}
    elif kind == "search_miss":
        body["query"] = random.choice(["glass kettle", "kettle with timer", "bamboo lid"])
    else:
        body["text"] = random.choice(TEXTS[kind])
        if kind == "review":
            body["rating"] = random.randint(1, 5)
        elif kind == "return":
            body["reason"] = "not as described"
        elif kind == "support_ticket":
            body["subject"] = "Light"
            body["priority"] = random.choice(["low", "normal", "high"])
    return body


class Component:
    """`productops serve NAME` as a real process."""

    def __init__(self, name: str, env: dict[str, str], data_dir: Path) -> None:
        self.name = name
        self.log = (data_dir / f"{name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shared.stack", "serve", name],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


async def wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} did not become ready")


async def readiness(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    return (await client.get(f"{url}/readyz", headers=probe_headers(), timeout=10)).json()


async def push(
    gateway: str, token: str, bodies: list[bytes], concurrency: int, watch: Any
) -> tuple[float, list[float]]:
    """POST every body through the gateway with `concurrency` connections."""
    latencies: list[float] = []
    queue = iter(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=gateway, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for body in queue:
                started = time.perf_counter()
                response = await client.post("/v1/customer-events", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

        started = time.perf_counter()
        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        watcher.cancel()
    return elapsed, latencies


async def raw_produce(bootstrap: str, events: list[dict[str, Any]]) -> float:
    """The same events as CloudEvents, straight to the broker with aiokafka (acks=all)."""
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic], partitions=6)
    values = [
        (
            e["product_id"].encode(),
            orjson.dumps(
                {
                    "specversion": "1.0",
                    "id": str(uuid.uuid4()),
                    "source": "/feedback",
                    "type": "feedback.customer_event.accepted.v1",
                    "subject": e["product_id"],
                    "time": e["occurred_at"],
                    "datacontenttype": "application/json",
                    "data": e,
                }
            ),
        )
        for e in events
    ]
    producer = new_producer(Settings(kafka_bootstrap=bootstrap, jwt_secret=SECRET))
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send(
                topic,
                value=value,
                key=key,
                headers=[("content-type", b"application/cloudevents+json")],
            )
            for key, value in values
        ]
        await asyncio.gather(*futures)
        return len(values) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def name_products(bootstrap: str) -> None:
    """`catalog.product.created.v1` for every product, as the catalog would publish them."""
    await ensure_topics(bootstrap, ["catalog.events"], partitions=3)
    producer = new_producer(Settings(kafka_bootstrap=bootstrap, jwt_secret=SECRET))
    await producer.start()
    try:
        for product_id, sku in PRODUCTS:
            event = new_event(
                source="/catalog",
                type="catalog.product.created.v1",
                subject=product_id,
                data={"product_id": product_id, "sku": sku, "name": sku, "product_type": "kettle"},
                sequence=1,
            )
            await producer.send_and_wait(
                "catalog.events",
                value=encode(event),
                key=product_id.encode(),
                headers=kafka_headers(),
            )
    finally:
        await producer.stop()


async def until(check: Callable[[], Awaitable[bool]], pause_s: float = 0.2) -> None:
    """Poll until `check` holds (the processes are separate: there is nothing to await)."""
    while True:
        if await check():
            return
        await asyncio.sleep(pause_s)


class Stack:
    """The broker's address, and the feedback service and gateway as real processes."""

    def __init__(self, data_dir: Path, database: str, bootstrap: str) -> None:
        feedback_port, gateway_port = free_port(), free_port()
        env = {
            **os.environ,
            "PRODUCTOPS_DATA_DIR": str(data_dir),
            "PRODUCTOPS_FEEDBACK_PORT": str(feedback_port),
            "PRODUCTOPS_GATEWAY_PORT": str(gateway_port),
            "PRODUCTOPS_FEEDBACK_DATABASE_URL": database,
            "PRODUCTOPS_KAFKA_BOOTSTRAP": bootstrap,
            "PRODUCTOPS_JWT_SECRET": SECRET,
            "PRODUCTOPS_LOG_LEVEL": "WARNING",
            # A throughput figure, not the per-key event limit's (1,000 events/s by default).
            "PRODUCTOPS_INGEST_EVENTS_PER_S": "1000000",
            "PRODUCTOPS_INGEST_EVENTS_BURST": "1000000",
        }
        self.feedback = f"http://127.0.0.1:{feedback_port}"
        self.gateway = f"http://127.0.0.1:{gateway_port}"
        self.processes = [Component("feedback", env, data_dir), Component("gateway", env, data_dir)]
        self.probe = httpx.AsyncClient()

    async def ready(self) -> dict[str, Any]:
        return (
            await self.probe.get(f"{self.feedback}/readyz", headers=probe_headers(), timeout=10)
        ).json()

    async def stop(self) -> None:
        await self.probe.aclose()
        for process in self.processes:
            process.stop()


async def bench_ingest(stack: Stack, token: str, bodies: list[bytes], args: Any) -> float:
    """Push every batch through the gateway; prints rate, latency, CPU and triage lag."""
    worst = {"lag_s": 0.0, "backlog": 0}

    async def watch() -> None:
        while True:
            triage = (await stack.ready())["triage"]
            worst["lag_s"] = max(worst["lag_s"], triage["oldest_waiting_s"])
            worst["backlog"] = max(worst["backlog"], triage["backlog"])
            await asyncio.sleep(0.5)

    pids = [process.process.pid for process in stack.processes]
    cpu_before, busy_before = [cpu_seconds(pid) for pid in pids], machine_busy()
    elapsed, latencies = await push(stack.gateway, token, bodies, args.concurrency, watch)
    cpu = [
        (cpu_seconds(pid) - before) / elapsed for pid, before in zip(pids, cpu_before, strict=True)
    ]
    busy, total = (now - before for now, before in zip(machine_busy(), busy_before, strict=True))
    events = sum(len(orjson.loads(body)["events"]) for body in bodies)
    rate = events / elapsed
    print("\n== through the gateway (real processes, HTTP, one feedback process)")
    print(f"  ingest                              {rate:9.0f} events/s")
    print(
        f"  batch latency                        p50 {pct(latencies, 50) * 1000:6.1f} ms"
        f"   p99 {pct(latencies, 99) * 1000:6.1f} ms   n={len(latencies)}"
    )
    print(
        f"  triage lag during ingestion          worst {worst['lag_s']:.1f} s,"
        f" backlog up to {worst['backlog']}"
    )
    print(
        f"  CPU while ingesting                  feedback {cpu[0]:.2f} cores,"
        f" gateway {cpu[1]:.2f} cores; machine {busy / total * 100 if total else 0:.0f}% busy"
        f" ({os.cpu_count()} cores, every user's processes)"
    )
    return rate


async def follow_up(stack: Stack, base_triaged: int) -> None:
    """After the last 202: when the relay has published everything, and how fast triage
    works through its backlog."""
    ingested_at = time.perf_counter()
    await until(lambda: _is(stack, lambda body: body["outbox_backlog"] == 0))
    print(
        f"  outbox relay drained                 {time.perf_counter() - ingested_at:5.1f} s after"
    )
    start = await stack.ready()
    drain_start = time.perf_counter()
    await until(lambda: _is(stack, lambda body: body["triage"]["backlog"] == 0), 0.5)
    drained = time.perf_counter() - drain_start
    end = await stack.ready()
    print("\n== triage (worker in the feedback process, one model thread at nice 10)")
    print(f"  triaged in the run                  {end['triage']['triaged'] - base_triaged:9d}")
    done = end["triage"]["triaged"] - start["triage"]["triaged"]
    if drained > 0.5 and done:
        print(f"  throughput while draining           {done / drained:9.0f} texts/s")
    print(
        f"  all triaged                          {time.perf_counter() - ingested_at:5.1f} s after"
    )


async def _is(stack: Stack, test: Callable[[dict[str, Any]], bool]) -> bool:
    return test(await stack.ready())


async def main(args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:6]
    events = [make_event(i, run) for i in range(args.events)]
    bodies = [
        orjson.dumps({"events": events[i : i + args.batch]})
        for i in range(0, len(events), args.batch)
    ]
    texts = sum(1 for e in events if e["kind"] not in {"purchase", "search_miss"})
    print(
        f"ingest benchmark: {len(events)} events in {len(bodies)} batches of {args.batch}, "
        f"{args.concurrency} connections, {texts} texts for triage, {os.cpu_count()} cores"
    )
    token = TokenSigner(SECRET).issue(
        subject="bench",
        name="storefront",
        owner="bench",
        scopes=frozenset({"feedback:ingest", "feedback:ingest-sales"}),
    )
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        pg = await postgres_url() if args.postgres else None
        database = pg or f"sqlite+aiosqlite:///{Path(tmp) / 'feedback.db'}"
        print(f"  feedback database: {database.split(':', 1)[0]}")
        stack = Stack(Path(tmp), database, broker.bootstrap)
        try:
            await wait_ready(stack.feedback)
            await wait_ready(stack.gateway)
            # The catalog names the products first: events about unknown ones are held.
            await name_products(broker.bootstrap)
            # Warm up connections and the first inserts; wait for the model and its backlog.
            warm = [make_event(i, f"warm{run}") for i in range(args.batch)]
            await push(stack.gateway, token, [orjson.dumps({"events": warm})], 1, _idle)
            await until(lambda: _is(stack, lambda b: b["triage"]["waiting_for_catalog"] == 0))
            await until(lambda: _is(stack, lambda b: b["triage"]["model"] == "ready"))
            await until(lambda: _is(stack, lambda b: b["triage"]["backlog"] == 0))
            base = (await stack.ready())["triage"]["triaged"]
            rate = await bench_ingest(stack, token, bodies, args)
            await follow_up(stack, base)
        finally:
            await stack.stop()
            if pg is not None:
                await drop_postgres(pg)
        raw = await raw_produce(broker.bootstrap, events)
    print("\n== raw aiokafka, same events, same broker, same run (acks=all, linger 2 ms)")
    print(f"  produce                             {raw:9.0f} events/s")
    print(f"  gateway ingest / raw produce         {rate / raw:9.2f}")
    figure("gateway ingest", rate, "/s")
    figure("raw produce", raw, "/s")
    figure("gateway ingest / raw produce", rate / raw, "x")
    record("ingest", **vars(args))


async def _idle() -> None:
    await asyncio.sleep(3600)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--postgres", action="store_true")
    asyncio.run(main(parser.parse_args()))
