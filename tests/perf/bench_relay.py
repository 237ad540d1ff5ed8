"""Outbox relay benchmark: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_relay [--events 20000] [--rounds 2] [--postgres]
        [--relay-batch 500]

Writes `--events` outbox rows as the feedback service's ingestion does (customer events
accepted, `encode_new_events` + `uow.publish_many`, 1,000 per transaction), then, against the
same embedded Tansu broker in the same run:

- the relay (`OutboxRelay.drain`: read the pending rows, one record batch per partition, mark
  them published) publishing all of them: events/s;
- raw aiokafka (the relay's producer settings, acks=all) sending the same records (same key,
  value and headers) read back from the outbox: events/s and ack p50/p99 — the limit.

Raw and relay alternate, `--rounds` times each (raw, relay, raw, relay...), so load that
drifts during the run weighs on both alike; the ratio is of the means (issue 16's goal:
relay >= 0.7x raw). `--postgres` uses a scratch PostgreSQL database or stops with an error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from services.feedback.events import customer_events_accepted
from services.feedback.tables import customer_event
from shared.broker import EmbeddedBroker, ensure_topics
from shared.db import Database
from shared.relay import OutboxRelay, new_producer
from shared.settings import Settings
from shared.tables import metadata as kernel_metadata
from shared.tables import outbox
from shared.uow import UnitOfWork
from tests.perf.bench_ingest import make_event
from tests.perf.common import (
    SECRET,
    drop_postgres,
    figure,
    line,
    load_average,
    record,
    required_postgres,
    section,
)

CHUNK = 1000


def rows_of(events: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Customer-event rows as ingestion stores them, for `customer_events_accepted`: every
    column of the table (so a column added later is there too), the event's values in it."""
    columns = dict.fromkeys(column.name for column in customer_event.columns)
    return [
        {
            **columns,
            **{name: value for name, value in event.items() if name in columns},
            "source": "bench",
            "occurred_at": datetime.fromisoformat(event["occurred_at"]),
        }
        for event in events
    ]


async def fill(db: Database, topic: str, n: int, run: str) -> None:
    """`n` pending outbox rows, `CHUNK` per transaction, as ingestion writes them."""
    now = datetime.now(UTC)
    for start in range(0, n, CHUNK):
        events = [make_event(i, run) for i in range(start, min(n, start + CHUNK))]
        async with UnitOfWork(db, service="bench", on_commit=lambda: None) as uow:
            uow.publish_many(customer_events_accepted(rows_of(events, now), now=now), topic=topic)


async def relay_round(db: Database, settings: Settings, topic: str, n: int) -> float:
    """Time the relay publishing the `n` pending rows: events/s."""
    relay = OutboxRelay(db=db, settings=settings, service="bench")
    try:
        # Connected and the topic known first, as a running relay is: not part of the figure.
        await relay._ensure_producer()
        await relay._prepare_topics({topic})
        started = time.perf_counter()
        published = await relay.drain()
        elapsed = time.perf_counter() - started
    finally:
        await relay.close()
    if published != n:
        raise RuntimeError(f"the relay published {published} of {n} events")
    return n / elapsed


async def raw_round(
    settings: Settings, topic: str, records: list[tuple[bytes | None, bytes, Any]]
) -> tuple[float, list[float]]:
    """The same records sent with raw aiokafka: events/s and each record's ack latency."""
    latencies: list[float] = []
    producer = new_producer(settings)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = []
        for key, value, headers in records:
            sent = time.perf_counter()
            future = await producer.send(topic, value=value, key=key, headers=headers)
            future.add_done_callback(
                lambda _, sent=sent: latencies.append(time.perf_counter() - sent)
            )
            futures.append(future)
        await asyncio.gather(*futures)
        return len(records) / (time.perf_counter() - started), latencies
    finally:
        await producer.stop()


async def outbox_records(db: Database, n: int) -> list[tuple[bytes | None, bytes, Any]]:
    """The newest `n` outbox rows as the relay would send them."""
    async with db.reader() as session:
        rows = (
            await session.execute(
                select(outbox.c.key, outbox.c.payload, outbox.c.headers)
                .order_by(outbox.c.seq.desc())
                .limit(n)
            )
        ).all()
    return [
        (
            row.key.encode() if row.key else None,
            row.payload.encode(),
            [(name, value.encode()) for name, value in row.headers.items()],
        )
        for row in reversed(rows)
    ]


def load() -> str:
    return ", ".join(f"{one:.2f}" for one in load_average())


async def bench(db: Database, broker: EmbeddedBroker, args: argparse.Namespace) -> None:
    settings = Settings(
        kafka_bootstrap=broker.bootstrap,
        jwt_secret=SecretStr(SECRET),
        relay_batch_size=args.relay_batch,
    )
    topic, raw_topic = f"bench.relay.{uuid.uuid4().hex[:6]}", f"bench.raw.{uuid.uuid4().hex[:6]}"
    await ensure_topics(broker.bootstrap, [topic, raw_topic], partitions=settings.topic_partitions)
    await db.create_all([kernel_metadata])
    relayed: list[float] = []
    raw: list[float] = []
    acks: list[float] = []
    # A warm-up round first (connections, caches, the first pages), not in the figures.
    for n in range(args.rounds + 1):
        size = args.events if n else min(1000, args.events)
        await fill(db, topic, size, uuid.uuid4().hex[:6])
        records = await outbox_records(db, size)  # the pending rows the relay will send
        # Alternately raw first and relay first.
        if n % 2:
            relay_rate = await relay_round(db, settings, topic, size)
            raw_rate, latencies = await raw_round(settings, raw_topic, records)
        else:
            raw_rate, latencies = await raw_round(settings, raw_topic, records)
            relay_rate = await relay_round(db, settings, topic, size)
        if n:
            relayed.append(relay_rate)
            raw.append(raw_rate)
            acks += latencies
    # The title names no setting: runs with other settings still line up in the compare, and
    # their settings are recorded beside the figures.
    section(f"outbox relay vs raw aiokafka on {db.dialect}")
    print(
        f"  {args.events} events x {args.rounds} rounds, relay batches of"
        f" {settings.relay_batch_size}; load average {load()}"
    )
    print(
        f"  raw aiokafka (acks=all)              {statistics.mean(raw):9.0f} events/s"
        f"   (rounds: {', '.join(f'{r:.0f}' for r in raw)})"
    )
    line("raw aiokafka, send -> acknowledged", acks)
    print(
        f"  outbox relay                         {statistics.mean(relayed):9.0f} events/s"
        f"   (rounds: {', '.join(f'{r:.0f}' for r in relayed)})"
    )
    ratio = statistics.mean(relayed) / statistics.mean(raw)
    print(f"  relay / raw                          {ratio:9.2f}   (goal 0.7)")
    figure("raw aiokafka", statistics.mean(raw), "/s")
    figure("outbox relay", statistics.mean(relayed), "/s")
    figure("relay / raw", ratio, "x")


async def main(args: argparse.Namespace) -> None:
    print(
        f"relay benchmark: {args.events} events, {args.rounds} rounds, {os.cpu_count()} cores,"
        f" load {load()}"
    )
    pg = await required_postgres() if args.postgres else None
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        db = Database(pg or f"sqlite+aiosqlite:///{tmp}/relay.db")
        try:
            await bench(db, broker, args)
        finally:
            await db.dispose()
            if pg is not None:
                await drop_postgres(pg)
    record("relay", database="postgresql" if pg else "sqlite", **vars(args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--relay-batch", type=int, default=Settings.model_fields["relay_batch_size"].default
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL or fail")
    asyncio.run(main(parser.parse_args()))
