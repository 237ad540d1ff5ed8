"""Ingestion benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_ingest [--events 100000] [--batch 500]
        [--concurrency 6] [--postgres] [--wait-s 120] [--skip-triage] [--roles one|split]

Starts the embedded broker, the feedback service and the gateway as real processes, then,
with the stack up (so under the same load):

- produces the events with raw aiokafka to the same broker (the relay's producer settings,
  acks=all): the limit, measured just before and just after the gateway run;
- pushes the same events through the GATEWAY (`POST /v1/customer-events`, orjson bodies,
  batches of 500 over several connections) while reading `storefront.customer-events`:
  acceptance (events/s to the last 202, batch p50/p99) and end to end (events/s until every
  event id is on the topic, bounded by --wait-s; per-event POST -> topic p50/p99);
- the ratios of both to raw (issue 16's goals: acceptance >= 0.5x, end to end >= 0.4x);
- then triage throughput (texts/s) while its backlog drains (unless --skip-triage).

`--roles split` runs feedback as deployed (Compose, Kubernetes): the gateway reaches an
API-only process, and a second process on the same database relays and triages. `one` (the
default, as `make run`) holds every role in one process.

`--postgres` runs the feedback service on a scratch PostgreSQL database, and stops with an
error when PostgreSQL does not answer (never a silent SQLite run). Figures are recorded in
var/bench/ (tests/perf/common.py `record`).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import SecretStr

from services.feedback.events import CUSTOMER_EVENTS_TOPIC
from services.feedback.settings import FeedbackSettings
from shared.auth import TokenSigner
from shared.broker import EmbeddedBroker, ensure_topics, free_port
from shared.events import encode, kafka_headers, new_event
from shared.relay import new_producer
from shared.settings import Settings
from tests.perf.common import (
    SECRET,
    cpu_seconds,
    drop_postgres,
    figure,
    load_average,
    machine_busy,
    pct,
    probe_headers,
    record,
    required_postgres,
    section,
    thread_cpu_seconds,
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


async def push(
    gateway: str, token: str, bodies: list[bytes], concurrency: int, watch: Any
) -> tuple[float, list[float], list[float]]:
    """POST every body through the gateway with `concurrency` connections: the time to the
    last 202, each batch's latency, and when each batch was sent (perf_counter, by index)."""
    latencies: list[float] = []
    sent_at = [0.0] * len(bodies)
    queue = iter(enumerate(bodies))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=gateway, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for index, body in queue:
                started = sent_at[index] = time.perf_counter()
                response = await client.post("/v1/customer-events", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

        started = time.perf_counter()
        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        watcher.cancel()
    return elapsed, latencies, sent_at


@dataclass
class Raw:
    """One raw aiokafka run: events/s, and each record's send -> acknowledged latency."""

    rate: float
    latencies: list[float]


async def raw_produce(bootstrap: str, events: list[dict[str, Any]]) -> Raw:
    """The same events as CloudEvents, straight to the broker with aiokafka: the relay's
    producer settings (acks=all), a topic with as many partitions as the real one."""
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    settings = Settings(kafka_bootstrap=bootstrap, jwt_secret=SecretStr(SECRET))
    await ensure_topics(bootstrap, [topic], partitions=settings.topic_partitions)
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
    latencies: list[float] = []
    producer = new_producer(settings)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = []
        for key, value in values:
            sent = time.perf_counter()
            future = await producer.send(
                topic,
                value=value,
                key=key,
                headers=[("content-type", b"application/cloudevents+json")],
            )
            future.add_done_callback(
                lambda _, sent=sent: latencies.append(time.perf_counter() - sent)
            )
            futures.append(future)
        await asyncio.gather(*futures)
        return Raw(len(values) / (time.perf_counter() - started), latencies)
    finally:
        await producer.stop()


class Arrivals:
    """This run's events as they reach `storefront.customer-events`: the end of the path.

    Read in a process of its own, by assignment from each partition's end at `start()` (no
    group, nothing committed), noting when each expected event id first arrives: decoding
    100,000 records on the bench's own loop would slow the client posting the batches,
    which the raw run does not have beside it. `time.perf_counter` is the system's
    monotonic clock on Linux, one clock for both processes."""

    def __init__(self, bootstrap: str, expected: set[str]) -> None:
        self.expected = expected
        self.arrived: dict[str, float] = {}
        self._bootstrap = bootstrap
        context = multiprocessing.get_context("spawn")
        self._conn, self._child = context.Pipe()
        self._process = context.Process(
            target=read_arrivals, args=(bootstrap, sorted(expected), self._child), daemon=True
        )

    async def start(self) -> None:
        await ensure_topics(self._bootstrap, [CUSTOMER_EVENTS_TOPIC])
        self._process.start()
        # Only the reader holds its end now: if it dies, `recv` here ends (EOFError).
        self._child.close()
        if await asyncio.to_thread(self._conn.recv) != "reading":
            raise RuntimeError("the arrivals reader did not start")

    async def all_arrived(self, timeout_s: float) -> bool:
        """Wait (bounded) until every expected event is on the topic."""
        self._conn.send(timeout_s)
        self.arrived = await asyncio.to_thread(self._conn.recv)
        return len(self.arrived) == len(self.expected)

    async def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        await asyncio.to_thread(self._process.join, 10)


def read_arrivals(bootstrap: str, expected: list[str], conn: Connection) -> None:
    """`Arrivals`' process: says "reading" once at the topic's end, then sends the arrival
    times once all expected events came, or when the wait the parent sends is over."""
    asyncio.run(_read_arrivals(bootstrap, set(expected), conn))


async def _read_arrivals(bootstrap: str, expected: set[str], conn: Connection) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(CUSTOMER_EVENTS_TOPIC) or set()
        assigned = [TopicPartition(CUSTOMER_EVENTS_TOPIC, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_end(*assigned)
        for tp in assigned:  # resolve the end now, before the first event is produced
            await consumer.position(tp)
        conn.send("reading")
        arrived: dict[str, float] = {}
        deadline: float | None = None
        while len(arrived) < len(expected):
            if deadline is None and conn.poll():
                deadline = time.monotonic() + conn.recv()
            if deadline is not None and time.monotonic() > deadline:
                break
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.perf_counter()
            for records in batches.values():
                for message in records:
                    event_id = orjson.loads(message.value)["data"]["event_id"]
                    if event_id in expected and event_id not in arrived:
                        arrived[event_id] = now
        conn.send(arrived)
    finally:
        await consumer.stop()


async def name_products(bootstrap: str) -> None:
    """`catalog.product.created.v1` for every product, as the catalog would publish them."""
    await ensure_topics(bootstrap, ["catalog.events"], partitions=3)
    producer = new_producer(Settings(kafka_bootstrap=bootstrap, jwt_secret=SecretStr(SECRET)))
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


# `--roles split`: the feedback process the gateway reaches only takes requests, as
# Compose's `feedback` and Kubernetes' `feedback-api` do; a second one on the same database
# relays, consumes and triages (`feedback-worker`).
API_ONLY = {
    "PRODUCTOPS_RUN_RELAY": "false",
    "PRODUCTOPS_RUN_CONSUMERS": "false",
    "PRODUCTOPS_RUN_JOBS": "false",
}


class Stack:
    """The broker's address, and the feedback service (one process, or an API process and a
    worker process) and the gateway as real processes."""

    def __init__(self, data_dir: Path, database: str, bootstrap: str, *, split: bool) -> None:
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
            # The machine is shared: under other users' load a batch can take longer than the
            # gateway's 5 s budget. This bench measures throughput, not that timeout.
            "PRODUCTOPS_UPSTREAM_TIMEOUT_S": "60",
        }
        self.bootstrap = bootstrap
        self.feedback = f"http://127.0.0.1:{feedback_port}"
        self.gateway = f"http://127.0.0.1:{gateway_port}"
        # The process holding the relay and the triage worker (the one /readyz reports on).
        self.worker = self.feedback
        self.processes = [Component("feedback", env | API_ONLY if split else env, data_dir)]
        self.processes.append(Component("gateway", env, data_dir))
        if split:
            worker_port = free_port()
            self.worker = f"http://127.0.0.1:{worker_port}"
            worker = env | {"PRODUCTOPS_FEEDBACK_PORT": str(worker_port)}
            self.processes.append(Component("feedback", worker, data_dir))
        self.probe = httpx.AsyncClient()

    async def ready(self) -> dict[str, Any]:
        return (
            await self.probe.get(f"{self.worker}/readyz", headers=probe_headers(), timeout=10)
        ).json()

    async def stop(self) -> None:
        await self.probe.aclose()
        for process in self.processes:
            process.stop()


@dataclass
class Gateway:
    """The gateway run: acceptance (the last 202) and end to end (all on the topic)."""

    events: int
    accepted_s: float
    batch_latencies: list[float]
    # Per event: from the POST of its batch to its arrival on the topic.
    end_to_end: list[float]
    on_topic_s: float | None


async def bench_gateway(stack: Stack, token: str, bodies: list[bytes], args: Any) -> Gateway:
    """Push every batch through the gateway while reading the topic; prints rate, latency,
    CPU and triage lag."""
    worst = {"lag_s": 0.0, "backlog": 0}

    async def watch() -> None:
        while True:
            triage = (await stack.ready())["triage"]
            worst["lag_s"] = max(worst["lag_s"], triage["oldest_waiting_s"])
            worst["backlog"] = max(worst["backlog"], triage["backlog"])
            await asyncio.sleep(0.5)

    batches = [orjson.loads(body)["events"] for body in bodies]
    batch_of = {event["event_id"]: n for n, batch in enumerate(batches) for event in batch}
    arrivals = Arrivals(stack.bootstrap, set(batch_of))
    await arrivals.start()
    try:
        pids = [process.process.pid for process in stack.processes]
        # Feedback's main thread (the event loop: HTTP, validation, rows, relay) apart from
        # its others (aiosqlite's, the triage model's): the loop is what ingestion waits on.
        feedback = pids[0]
        cpu_before, busy_before = [cpu_seconds(pid) for pid in pids], machine_busy()
        main_before = thread_cpu_seconds(feedback, feedback)
        started = time.perf_counter()
        elapsed, latencies, sent_at = await push(
            stack.gateway, token, bodies, args.concurrency, watch
        )
        main_cpu = thread_cpu_seconds(feedback, feedback) - main_before
        cpu = [
            (cpu_seconds(pid) - before) / elapsed
            for pid, before in zip(pids, cpu_before, strict=True)
        ]
        busy, total = (now - then for now, then in zip(machine_busy(), busy_before, strict=True))
        complete = await arrivals.all_arrived(args.wait_s)
    finally:
        await arrivals.stop()
    arrived = arrivals.arrived
    result = Gateway(
        events=len(batch_of),
        accepted_s=elapsed,
        batch_latencies=latencies,
        end_to_end=[at - sent_at[batch_of[event_id]] for event_id, at in arrived.items()],
        on_topic_s=max(arrived.values()) - started if complete else None,
    )
    roles = "an API-only feedback process and a worker" if args.roles == "split" else "one"
    section(f"through the gateway (real processes, HTTP, {roles} feedback process)")
    print(f"  load average                         {load()}")
    print(f"  accepted (202, durable)             {result.events / elapsed:9.0f} events/s")
    print(
        f"  batch latency (to the 202)           p50 {pct(latencies, 50) * 1000:6.1f} ms"
        f"   p99 {pct(latencies, 99) * 1000:6.1f} ms   n={len(latencies)}"
    )
    if result.on_topic_s is None:
        print(
            f"  end to end: only {len(arrived)} of {result.events} events on"
            f" {CUSTOMER_EVENTS_TOPIC} within {args.wait_s:.0f} s of the last 202"
        )
    else:
        print(
            f"  end to end (all on the topic)        {result.events / result.on_topic_s:9.0f}"
            f" events/s   ({result.on_topic_s - elapsed:.1f} s after the last 202)"
        )
    if result.end_to_end:
        print(
            f"  event latency (POST -> on the topic) p50"
            f" {pct(result.end_to_end, 50) * 1000:6.1f} ms"
            f"   p99 {pct(result.end_to_end, 99) * 1000:6.1f} ms   n={len(result.end_to_end)}"
        )
    print(
        f"  triage lag during ingestion          worst {worst['lag_s']:.1f} s,"
        f" backlog up to {worst['backlog']}"
    )
    print(
        f"  CPU while ingesting                  feedback {cpu[0]:.2f} cores,"
        + (f" its worker {cpu[2]:.2f} cores," if len(cpu) > 2 else "")
        + f" gateway {cpu[1]:.2f} cores; machine {busy / total * 100 if total else 0:.0f}% busy"
        f" ({os.cpu_count()} cores, every user's processes)"
    )
    per_event = cpu[0] * elapsed / result.events * 1e6
    main_per_event = main_cpu / result.events * 1e6
    print(
        f"  feedback CPU per event while ingesting {per_event:5.1f} us: main thread"
        f" {main_per_event:.1f} us, its other threads {per_event - main_per_event:.1f} us"
    )
    figure("accepted (202)", result.events / elapsed, "/s")
    figure("batch latency (to the 202) p50", pct(latencies, 50) * 1000, "ms")
    figure("batch latency (to the 202) p99", pct(latencies, 99) * 1000, "ms")
    if result.on_topic_s is not None:
        figure("end to end (all on the topic)", result.events / result.on_topic_s, "/s")
    if result.end_to_end:
        figure("event latency (POST -> on the topic) p50", pct(result.end_to_end, 50) * 1000, "ms")
        figure("event latency (POST -> on the topic) p99", pct(result.end_to_end, 99) * 1000, "ms")
    figure("CPU feedback", cpu[0], "cores")
    figure("CPU gateway", cpu[1], "cores")
    if len(cpu) > 2:
        figure("CPU feedback worker", cpu[2], "cores")
    figure("feedback CPU per event while ingesting", per_event, "us")
    figure("feedback main thread CPU per event while ingesting", main_per_event, "us")
    return result


def load() -> str:
    return ", ".join(f"{one:.2f}" for one in load_average())


async def follow_triage(stack: Stack, base_triaged: int) -> None:
    """After the run: how fast triage works through its backlog."""
    ingested_at = time.perf_counter()
    start = await stack.ready()
    await until(lambda: _is(stack, lambda body: body["triage"]["backlog"] == 0), 0.5)
    drained = time.perf_counter() - ingested_at
    end = await stack.ready()
    # The feedback process reads the same environment (`PRODUCTOPS_FEEDBACK_TRIAGE_THREADS`).
    threads = FeedbackSettings().triage_threads
    section(f"triage (in the feedback process relaying, {threads} model thread(s) at nice 10)")
    print(f"  triaged in the run                  {end['triage']['triaged'] - base_triaged:9d}")
    done = end["triage"]["triaged"] - start["triage"]["triaged"]
    if drained > 0.5 and done:
        print(f"  throughput while draining           {done / drained:9.0f} texts/s")
        figure("throughput while draining", done / drained, "/s")
    print(f"  backlog gone                         {drained:5.1f} s after the end-to-end run")


def print_raw(label: str, raw: Raw) -> None:
    print(
        f"  {label:<35} {raw.rate:9.0f} events/s   ack p50 {pct(raw.latencies, 50) * 1000:6.1f}"
        f" ms   p99 {pct(raw.latencies, 99) * 1000:6.1f} ms"
    )
    figure(label, raw.rate, "/s")


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
        f"{args.concurrency} connections, {texts} texts for triage, {os.cpu_count()} cores,"
        f" load {load()}"
    )
    token = TokenSigner(SECRET).issue(
        subject="bench",
        name="storefront",
        owner="bench",
        scopes=frozenset({"feedback:ingest", "feedback:ingest-sales"}),
    )
    pg = await required_postgres() if args.postgres else None
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        database = pg or f"sqlite+aiosqlite:///{Path(tmp) / 'feedback.db'}"
        print(f"  feedback database: {database.split(':', 1)[0]}")
        stack = Stack(Path(tmp), database, broker.bootstrap, split=args.roles == "split")
        try:
            await wait_ready(stack.feedback)
            await wait_ready(stack.gateway)
            await wait_ready(stack.worker)
            # The catalog names the products first: events about unknown ones are held.
            await name_products(broker.bootstrap)
            # Warm up connections and the first inserts; wait for the model and its backlog.
            warm = [make_event(i, f"warm{run}") for i in range(args.batch)]
            await push(stack.gateway, token, [orjson.dumps({"events": warm})], 1, _idle)
            await until(lambda: _is(stack, lambda b: b["triage"]["waiting_for_catalog"] == 0))
            await until(lambda: _is(stack, lambda b: b["triage"]["model"] == "ready"))
            await until(lambda: _is(stack, lambda b: b["triage"]["backlog"] == 0))
            await until(lambda: _is(stack, lambda b: b["outbox_backlog"] == 0))
            base = (await stack.ready())["triage"]["triaged"]
            # The limit, measured with the stack up, just before and just after the gateway
            # run (the relay and triage still at work then): the same machine, the same load.
            before = await raw_produce(broker.bootstrap, events)
            gateway = await bench_gateway(stack, token, bodies, args)
            after = await raw_produce(broker.bootstrap, events)
            section("raw aiokafka, same events, same broker, stack up (acks=all)")
            print(f"  load average                         {load()}")
            print_raw("raw produce before the gateway run", before)
            print_raw("raw produce after the gateway run", after)
            raw = (before.rate + after.rate) / 2
            accepted = gateway.events / gateway.accepted_s
            print(f"  acceptance / raw (mean of the two)   {accepted / raw:9.2f}   (goal 0.5)")
            figure("acceptance / raw", accepted / raw, "x")
            if gateway.on_topic_s is not None:
                end_to_end = gateway.events / gateway.on_topic_s
                print(
                    f"  end to end / raw                     {end_to_end / raw:9.2f}   (goal 0.4)"
                )
                figure("end to end / raw", end_to_end / raw, "x")
            if not args.skip_triage:
                await follow_triage(stack, base)
        finally:
            await stack.stop()
            if pg is not None:
                await drop_postgres(pg)
    record("ingest", database=database.split(":", 1)[0], **vars(args))


async def _idle() -> None:
    await asyncio.sleep(3600)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL or fail")
    parser.add_argument(
        "--wait-s", type=float, default=120, help="how long to wait for the last event on the topic"
    )
    parser.add_argument("--skip-triage", action="store_true", help="do not wait for triage")
    parser.add_argument(
        "--roles",
        choices=["one", "split"],
        default="one",
        help="one feedback process with every role (make run), or split: an API-only process"
        " and a worker process (relay, consumers, triage), as Compose and Kubernetes deploy it",
    )
    asyncio.run(main(parser.parse_args()))
