"""Two feedback processes on one PostgreSQL database split the triage backlog: each claims
its batch `FOR UPDATE SKIP LOCKED` and holds it while its model reads, so the other reads the
next batch, every event is read by one model and triaged once, and their items are grouped
as one worker would group them."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.feedback.app import create_app
from services.feedback.tables import customer_event, feedback_item, finding
from services.feedback.triage import TriageInput, TriageResult
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
            took: int = await app.state.feedback_worker.step(app.state.runtime, model)
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
