"""Two feedback processes on one PostgreSQL database split the triage backlog: each takes its
batch for a lease (`FOR UPDATE SKIP LOCKED` only while taking it), so the other reads the next
batch, every event is read by one model and triaged once, and their items are grouped as one
worker would group them. No transaction stays open while a model reads, and a batch whose
worker died is read again once its lease is over."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from services.feedback.app import create_app
from services.feedback.tables import customer_event, feedback_item, finding
from services.feedback.triage import TriageInput, TriageResult
from services.feedback.triage import service as triaging
from shared.settings import Settings
from tests.feedback.conftest import FAST, event, ingest, known_product
from tests.feedback.fakes import FakeTriage
from tests.support import pg_database, running

pytestmark = pytest.mark.postgres

BATCH = 5
EVENTS = 23


class GatedTriage(FakeTriage):
    """Keeps the texts it reads; its first batch waits until the other worker's model holds
    a batch too, so both batches are claimed at the same time."""

    def __init__(self, gate: threading.Barrier) -> None:
        super().__init__()
        self.gate = gate
        self.read: list[str] = []

    def triage(self, items: Sequence[TriageInput]) -> list[TriageResult]:
        if not self.read:
            self.gate.wait()
        self.read.extend(item.text for item in items)
        return super().triage(items)


def serving(model: GatedTriage) -> Callable[[], GatedTriage]:
    return lambda: model


async def test_two_workers_claim_disjoint_batches_and_triage_each_event_once(
    make_settings: Callable[..., Settings],
) -> None:
    gate = threading.Barrier(2, timeout=20)
    models = [GatedTriage(gate), GatedTriage(gate)]
    feedback = FAST.model_copy(update={"triage_batch_size": BATCH})
    async with pg_database() as url, AsyncExitStack() as stack:
        # Two processes of the service on one database, with their own engines; the test
        # runs their workers' steps instead of their background jobs.
        settings = make_settings(feedback_database_url=url, run_consumers=False, run_jobs=False)
        apps = [create_app(settings, feedback=feedback, triage=serving(m)) for m in models]
        clients = [await stack.enter_async_context(running(app)) for app in apps]
        await known_product(apps[0])
        texts = [f"The lid cracked, report {n}" for n in range(EVENTS)]
        sent = [event("review", rating=2, text=text) for text in texts]
        await ingest(clients[0], *sent)

        async def step(app: FastAPI, model: GatedTriage) -> int:
            took: int = await app.state.feedback_worker.drain(app.state.runtime, model, batches=1)
            return took

        first = await asyncio.gather(*(step(app, m) for app, m in zip(apps, models, strict=True)))
        assert first == [BATCH, BATCH]
        assert not set(models[0].read) & set(models[1].read)
        while sum(await asyncio.gather(*(step(a, m) for a, m in zip(apps, models, strict=True)))):
            pass

        async with apps[1].state.runtime.db.reader() as session:
            per_event = Counter((await session.execute(select(feedback_item.c.event_id))).scalars())
            findings = list((await session.execute(select(finding.c.item_count))).scalars())
            states = set(
                (await session.execute(select(customer_event.c.triage).distinct())).scalars()
            )
    read = models[0].read + models[1].read
    assert sorted(read) == sorted(texts), "each text read by one model, once"
    assert all(model.read for model in models)
    assert per_event == Counter({e["event_id"]: 1 for e in sent})
    assert states == {"done"}
    # One problem of one product, read by two workers at once: still one finding.
    assert findings == [EVENTS]


class HeldTriage(FakeTriage):
    """Holds its first reading until released, so a test can look around meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.Event()
        self.release = threading.Event()

    def triage(self, items: Sequence[TriageInput]) -> list[TriageResult]:
        self.reading.set()
        if not self.release.wait(timeout=20):
            raise TimeoutError("the test never released the model")
        return super().triage(items)


@asynccontextmanager
async def one_worker(
    make_settings: Callable[..., Settings], url: str, model: FakeTriage
) -> AsyncIterator[FastAPI]:
    """A feedback process on `url` whose worker the test steps, with EVENTS reviews queued."""
    feedback = FAST.model_copy(update={"triage_batch_size": BATCH, "triage_lease_s": 60})
    settings = make_settings(feedback_database_url=url, run_consumers=False, run_jobs=False)
    app = create_app(settings, feedback=feedback, triage=lambda: model)
    async with running(app) as client:
        await known_product(app)
        await ingest(client, *(event("review", rating=2, text=f"lid {n}") for n in range(EVENTS)))
        yield app


async def test_no_transaction_stays_open_while_the_model_reads(
    make_settings: Callable[..., Settings],
) -> None:
    model = HeldTriage()
    async with pg_database() as url, one_worker(make_settings, url, model) as app:
        runtime = app.state.runtime
        step = asyncio.create_task(app.state.feedback_worker.drain(runtime, model, batches=1))
        try:
            for _ in range(200):
                if model.reading.is_set():
                    break
                await asyncio.sleep(0.05)
            assert model.reading.is_set(), "the model never started reading"
            async with runtime.db.reader() as session:
                # The worker's own: the relay's rounds may be caught between statements too.
                open_elsewhere = await session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                        " current_database() AND pid <> pg_backend_pid()"
                        " AND state LIKE 'idle in transaction%'"
                        " AND query LIKE '%customer_event%'"
                    )
                )
                leased = await session.scalar(
                    select(func.count()).where(
                        customer_event.c.next_attempt_at > runtime.clock() + timedelta(seconds=30)
                    )
                )
            assert open_elsewhere == 0
            assert leased == BATCH
        finally:
            model.release.set()
        assert await step == BATCH


async def test_a_batch_whose_worker_died_is_read_again_after_its_lease(
    make_settings: Callable[..., Settings],
) -> None:
    model = FakeTriage()
    async with pg_database() as url, one_worker(make_settings, url, model) as app:
        runtime, worker = app.state.runtime, app.state.feedback_worker
        now = runtime.clock()
        # A worker takes the oldest batch and dies before applying it.
        async with runtime.uow() as uow:
            taken = await triaging.lease_batch(
                session=uow.session, size=BATCH, now=now, until=now + timedelta(seconds=60)
            )
        assert [row.text for row in taken] == [f"lid {n}" for n in range(BATCH)]

        worker.clock = lambda: now
        while await worker.drain(runtime, model, batches=1):
            pass
        assert sum(model.batches) == EVENTS - BATCH, "the taken batch is passed over"

        worker.clock = lambda: now + timedelta(seconds=61)
        assert await worker.drain(runtime, model, batches=1) == BATCH
        async with runtime.db.reader() as session:
            states = Counter((await session.execute(select(customer_event.c.triage))).scalars())
            items = await session.scalar(select(func.count()).select_from(feedback_item))
    assert states == Counter({"done": EVENTS})
    assert items == EVENTS
