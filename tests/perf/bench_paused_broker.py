"""Writes while the broker is frozen: prints how fast they answer, asserts nothing.

    .venv/bin/python -m tests.perf.bench_paused_broker [--notes 200] [--batch 300]

The tests check what a frozen (SIGSTOPped) broker must not change: every write succeeds,
its event waits in the outbox, and all arrive once the broker is back
(tests/kernel/test_delivery.py, tests/feedback/test_events.py). How fast the writes answer
meanwhile is a figure, printed here next to the relay's send timeout: a request that waited
on the broker would take at least that long.

- the kernel's sample service: one POST per note, one event each, in sequence;
- feedback ingestion: one batch of N customer events (one POST, N events in the outbox).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr

from services.feedback.app import create_app as feedback_app
from shared.broker import EmbeddedBroker, ensure_topics
from shared.settings import Settings
from tests.feedback.conftest import FAST, INGEST, event, known_product
from tests.feedback.fakes import FakeTriage
from tests.kernel.sample_service import create_app as sample_app
from tests.perf.common import figure, line, ms, record, section, timed
from tests.support import TEST_SECRET, auth, running

SEND_TIMEOUT_S = 1.0
WRITE = auth("catalog:write")


def settings_for(broker: EmbeddedBroker, data_dir: Path, **overrides: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        kafka_bootstrap=broker.bootstrap,
        jwt_secret=SecretStr(TEST_SECRET),
        relay_poll_s=0.2,
        relay_send_timeout_s=SEND_TIMEOUT_S,
        relay_max_backoff_s=0.5,
        run_consumers=False,
        **overrides,
    )


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        await asyncio.sleep(0.1)


async def drained(app: FastAPI) -> None:
    """Wait until the relay has published everything: the broker is back and caught up."""

    async def empty() -> bool:
        return await app.state.runtime.relay.backlog() == 0

    await until(empty)


async def bench_notes(broker: EmbeddedBroker, data_dir: Path, notes: int) -> None:
    app = sample_app(settings_for(broker, data_dir), handlers={})
    run = uuid.uuid4().hex[:6]
    async with running(app) as client:
        await client.post("/v1/notes", json={"id": f"warm-{run}", "text": "w"}, headers=WRITE)
        await drained(app)

        async def post(i: int) -> None:
            response = await client.post(
                "/v1/notes", json={"id": f"{run}-{i}", "text": "p"}, headers=WRITE
            )
            assert response.status_code == 201, response.text

        broker.pause()
        try:
            latencies = await timed(notes, 1, post)
        finally:
            broker.resume()
        started = time.perf_counter()
        await drained(app)
        caught_up = time.perf_counter() - started
    line(f"POST /v1/notes, broker frozen ({notes} in sequence)", latencies)
    print(f"  {'all published after the broker came back':<44} {ms(caught_up)}")
    figure("all published after the broker came back", caught_up * 1000, "ms")


async def bench_ingest(broker: EmbeddedBroker, data_dir: Path, batch: int) -> None:
    settings = settings_for(
        broker, data_dir, feedback_database_url=f"sqlite+aiosqlite:///{data_dir / 'fb.db'}"
    )
    app = feedback_app(settings, feedback=FAST, triage=FakeTriage)
    run = uuid.uuid4().hex[:6]
    events = [event("purchase", event_id=f"{run}-{i}") for i in range(batch)]
    async with running(app) as client:
        await known_product(app)  # events about a product the catalog has not named are held
        await ensure_topics(broker.bootstrap, ["storefront.customer-events"], partitions=3)
        broker.pause()
        try:
            started = time.perf_counter()
            response = await client.post(
                "/v1/customer-events", json={"events": events}, headers=INGEST
            )
            took = time.perf_counter() - started
        finally:
            broker.resume()
        assert response.status_code == 202, response.text
        await drained(app)
    print(f"  {f'POST /v1/customer-events, {batch} events, frozen':<44} {ms(took)}")
    figure(f"POST /v1/customer-events, {batch} events, frozen", took * 1000, "ms")


async def main(args: argparse.Namespace) -> None:
    print(
        f"paused-broker benchmark: {args.notes} notes, a batch of {args.batch} customer events,"
        f" relay send timeout {SEND_TIMEOUT_S} s, {os.cpu_count()} cores,"
        f" load {os.getloadavg()[0]:.2f}"
    )
    section("SQLite, in-process app, the broker SIGSTOPped during the writes")
    with tempfile.TemporaryDirectory() as tmp:
        with EmbeddedBroker() as broker:
            await bench_notes(broker, Path(tmp) / "sample", args.notes)
        with EmbeddedBroker() as broker:
            await bench_ingest(broker, Path(tmp) / "feedback", args.batch)
    record("paused_broker", **vars(args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--batch", type=int, default=300)
    asyncio.run(main(parser.parse_args()))
