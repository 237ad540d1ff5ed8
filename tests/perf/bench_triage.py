"""Triage worker benchmark, the worker alone: prints figures, asserts nothing.

    .venv/bin/python -m tests.perf.bench_triage [--events 5000] [--postgres] [--threads 1]
        [--batch 64] [--workers 2]

Queues N customer events (reviews, returns, questions, tickets and a few search misses about
200 products) straight into a scratch feedback database (SQLite, or PostgreSQL with
--postgres: it fails when PostgreSQL does not answer), then, in this process:

- the real `TriageWorker` (its own model thread at nice 10, as in the service) drains them:
  texts/s, and process CPU per text (every thread of this process; nothing else runs here);
  with --workers N (PostgreSQL only), N service instances on the database, each with its own
  engine and worker, as N feedback processes would (their CPU is this process's);
- the limit, measured right after in the same run on the same texts and the same model
  (threads and niceness): the encoder alone (embeddings/s, CPU per text), and the model's
  `triage` without the database (texts/s);
- the worker's ratio to the encoder alone, and the load average with each figure.

Figures are recorded in var/bench/ (tests/perf/common.py `record`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, insert, select

from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import customer_event
from services.feedback.triage import load_triage
from services.feedback.triage import service as triaging
from services.feedback.triage.domain import TriageState
from services.feedback.triage.pipeline import ModelTriage
from services.feedback.triage.rules import compose_text
from shared.app import Runtime
from shared.settings import Settings
from tests.perf.common import (
    SECRET,
    drop_postgres,
    figure,
    load_average,
    record,
    required_postgres,
    section,
)

PRODUCTS = [str(uuid.uuid4()) for _ in range(200)]
# Texts are built from parts so that lengths and wording vary as customers' do.
OPENINGS = [
    "Bought this kettle last month.",
    "Second one I own.",
    "Gift for my mother.",
    "Used it every morning for a few weeks.",
    "",
    "Honestly,",
]
BODIES = [
    "The lid cracked after two weeks of daily use",
    "Love it, boils quickly and looks great",
    "Handle gets really hot, nearly burned my fingers",
    "Stopped working after a month, very disappointed",
    "Good value for the money, would buy again",
    "The base light does not turn on any more",
    "It leaks from the bottom when full",
    "Would be great if it came in a larger size",
    "Smells of plastic even after several boils",
    "Sparks came out of the plug when I switched it on",
    "The filter keeps falling out",
    "Is the jug dishwasher safe",
    "Do you sell this in bulk for offices",
    "Too small for my family",
    "Arrived with a dent in the side",
]
ENDINGS = ["", "Five stars.", "Not happy.", "Please fix this.", "Thanks!", "Returning it."]
KINDS = [("review", 60), ("return", 15), ("question", 10), ("support_ticket", 10),
         ("search_miss", 5)]  # fmt: skip


def queued_event(i: int, run: str, now: datetime) -> dict[str, Any]:
    kind = random.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
    row: dict[str, Any] = {
        "source": "bench",
        "event_id": f"{run}-{i}",
        "kind": kind,
        "occurred_at": now - timedelta(minutes=random.randint(1, 600)),
        "product_id": random.choice(PRODUCTS),
        "customer_ref": f"cust-{random.randint(1, 50_000)}",
        "ingested_at": now,
        "ingested_by": "bench",
        "triage": TriageState.QUEUED.value,
        "status": "accepted",
        "origin": "customer",
        **dict.fromkeys(("text", "rating", "reason", "subject", "priority", "query")),
    }
    if kind == "search_miss":
        row["query"] = random.choice(["glass kettle", "kettle with timer", "bamboo lid"])
        return row
    parts = [random.choice(OPENINGS), random.choice(BODIES) + ".", random.choice(ENDINGS)]
    row["text"] = " ".join(part for part in parts if part)
    if kind == "review":
        row["rating"] = random.randint(1, 5)
    elif kind == "return":
        row["reason"] = "not as described"
    elif kind == "support_ticket":
        row["subject"] = "Kettle"
        row["priority"] = random.choice(["low", "normal", "high"])
    return row


async def queue(runtime: Runtime, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 2000):
        async with runtime.uow() as uow:
            await uow.session.execute(insert(customer_event), rows[start : start + 2000])


async def backlog(runtime: Runtime) -> int:
    async with runtime.db.reader() as session:
        count = await session.scalar(
            select(func.count()).where(customer_event.c.triage == TriageState.QUEUED.value)
        )
    return int(count or 0)


def limits(model: ModelTriage, rows: list[dict[str, Any]], batch: int) -> None:
    """The encoder alone and the model alone, on the worker's own texts."""
    inputs = [triaging.triage_input(_Row(row)) for row in rows if row["kind"] != "search_miss"]
    texts = [compose_text(item) for item in inputs]
    cpu, wall = time.process_time(), time.perf_counter()
    model.encoder.encode(texts)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    encoder_rate = len(texts) / wall
    print(
        f"  encoder alone (embeddings)          {encoder_rate:9.1f} /s"
        f"   CPU {cpu / len(texts) * 1000:6.2f} ms/text   load {load_average()[0]}"
    )
    figure("encoder alone", encoder_rate, "/s")
    figure("encoder CPU per text", cpu / len(texts) * 1000, "ms")
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(inputs), batch):
        model.triage(inputs[start : start + batch])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"  model.triage alone (batches of {batch:<4}) {len(inputs) / wall:8.1f} /s"
        f"   CPU {cpu / len(inputs) * 1000:6.2f} ms/text   load {load_average()[0]}"
    )
    figure("model alone", len(inputs) / wall, "/s")
    figure("model CPU per text", cpu / len(inputs) * 1000, "ms")
    _LIMIT.append(encoder_rate)


# The encoder's rate in each `limits` pass of the run.
_LIMIT: list[float] = []


class _Row:
    """A dict row read as the worker reads a database row (attribute access)."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update({c.name: None for c in customer_event.columns} | row)


async def drain(runtimes: list[Runtime], workers: list[Any]) -> float:
    """The real workers until nothing is queued: texts/s and CPU per text, from when their
    model is loaded (by each worker, in its own thread and at its niceness, as in the
    service: the model's threads inherit it)."""
    jobs = [
        asyncio.create_task(worker.run(runtime))
        for runtime, worker in zip(runtimes, workers, strict=True)
    ]

    def check() -> None:
        for job in jobs:
            if job.done():
                job.result()

    while any(worker.model_state != "ready" for worker in workers):
        check()
        await asyncio.sleep(0.05)
    runtime = runtimes[0]
    total = await backlog(runtime)
    cpu, wall = time.process_time(), time.perf_counter()
    while await backlog(runtime) > 0:
        check()
        await asyncio.sleep(0.5)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    for job in jobs:
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job
    rate = total / wall
    print(
        f"  worker drained {total} events in {wall:6.1f} s  {rate:9.1f} /s"
        f"   CPU {cpu / total * 1000:6.2f} ms/event   load {load_average()[0]}"
    )
    figure("worker", rate, "/s")
    figure("worker CPU per event", cpu / total * 1000, "ms")
    figure("worker drain time", wall, "s")
    return rate


def ratio(rate: float) -> None:
    """The worker against the encoder alone (the mean of the passes around it)."""
    if _LIMIT:
        limit = sum(_LIMIT) / len(_LIMIT)
        print(f"  worker / encoder alone              {rate / limit:9.2f}x")
        figure("worker / encoder alone", rate / limit, "x")


async def main(args: argparse.Namespace) -> None:
    random.seed(7)
    # No broker in this bench: the service's topic creation retries, quietly.
    for name in ("shared.app", "aiokafka"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    scratch: str | None = None
    with tempfile.TemporaryDirectory(prefix="bench-triage-") as data:
        overrides: dict[str, Any] = {}
        if args.postgres:
            scratch = await required_postgres()
            overrides["feedback_database_url"] = scratch
        settings = Settings(
            data_dir=Path(data),
            run_relay=False,
            run_consumers=False,
            run_jobs=False,
            # No broker here: topic creation retries in the background, harmlessly.
            kafka_bootstrap="127.0.0.1:9",
            jwt_secret=SecretStr(SECRET),
            **overrides,
        )
        feedback = FeedbackSettings(
            triage_batch_size=args.batch, triage_threads=args.threads, triage_poll_s=0.05
        )
        # The app's own model factory, as the service runs it; one app per worker.
        apps = [create_app(settings, feedback=feedback) for _ in range(args.workers)]
        runtimes: list[Runtime] = [app.state.runtime for app in apps]
        runtime = runtimes[0]
        for each in runtimes:
            await each.start()
        try:
            now = datetime.now(UTC)
            run = uuid.uuid4().hex[:8]
            rows = [queued_event(i, run, now) for i in range(args.events)]
            await queue(runtime, rows)
            db = "PostgreSQL" if args.postgres else "SQLite"
            section(
                f"triage worker, {args.events} events, {db}, batch {args.batch},"
                f" {args.threads} model thread(s), {args.workers} worker(s)"
            )
            print(f"  load average at start               {load_average()}")
            # The worker first: it loads the model in its own thread, as the service does.
            rate = await drain(runtimes, [app.state.feedback_worker for app in apps])
            if not args.no_limits:
                # The same (cached) model, its threads at the worker's niceness.
                model = load_triage(threads=args.threads)
                assert isinstance(model, ModelTriage)
                limits(model, rows, args.batch)
                ratio(rate)
        finally:
            for each in runtimes:
                await each.stop()
            if scratch:
                await drop_postgres(scratch)
    record(
        "bench_triage",
        events=args.events,
        postgres=args.postgres,
        batch=args.batch,
        threads=args.threads,
        workers=args.workers,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=FeedbackSettings().triage_batch_size)
    parser.add_argument("--threads", type=int, default=FeedbackSettings().triage_threads)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1, help="workers on the database (>1: --postgres only)"
    )
    parser.add_argument(
        "--no-limits", action="store_true", help="the worker only (e.g. to profile it)"
    )
    arguments = parser.parse_args()
    if arguments.workers > 1 and not arguments.postgres:
        # SQLite's single writer is not claimed per batch: workers would read the same one.
        parser.error("--workers > 1 needs --postgres")
    asyncio.run(main(arguments))
