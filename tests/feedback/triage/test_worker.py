"""The triage worker: its model reads the next batch while the last one is applied when
told to (`triage_read_ahead`), and takes turns otherwise. With a model that fails (the fake,
out of order for a while), events are retried after their backoff until each is triaged, or
given up after the configured tries, counted in /readyz and /metrics, and triaged once an
admin re-queues them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select

from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import customer_event
from services.feedback.triage import TriageInput, TriageResult
from services.feedback.triage import service as triaging
from shared.broker import EmbeddedBroker
from shared.settings import Settings
from tests.feedback.conftest import READ, event, ingest, items, triaged
from tests.feedback.fakes import FakeClock, FakeTriage, FlakyTriage
from tests.support import auth, eventually, running

ADMIN = auth("admin")
RETRIES = FeedbackSettings(
    triage_poll_s=0.05,
    metrics_refresh_s=0.05,
    triage_max_attempts=4,
    triage_retry_first_s=60,
    triage_retry_max_s=600,
)
# Past any backoff of RETRIES: the test's clock jumps by it to make every retry due.
PAST_ANY_BACKOFF = timedelta(seconds=RETRIES.triage_retry_max_s)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


def app_with(settings: Settings, model: FlakyTriage, clock: FakeClock) -> FastAPI:
    return create_app(settings, feedback=RETRIES, triage=lambda: model, clock=clock)


async def states(client: httpx.AsyncClient, event_ids: list[str]) -> list[str]:
    return [
        (await client.get(f"/v1/customer-events/{event_id}", headers=READ)).json()["triage"]
        for event_id in event_ids
    ]


async def attempts(app: FastAPI, event_ids: list[str]) -> list[int]:
    async with app.state.runtime.db.reader() as session:
        found = dict(
            (
                await session.execute(
                    select(customer_event.c.event_id, customer_event.c.triage_attempts).where(
                        customer_event.c.event_id.in_(event_ids)
                    )
                )
            ).all()
        )
    return [found[event_id] for event_id in event_ids]


class SignallingTriage(FakeTriage):
    """Signals when it starts reading each batch."""

    def __init__(self, batches: int) -> None:
        super().__init__()
        self.started = [threading.Event() for _ in range(batches)]

    def triage(self, items: Sequence[TriageInput]) -> list[TriageResult]:
        self.started[len(self.batches)].set()
        return super().triage(items)


@pytest.mark.parametrize(
    ("read_ahead", "wait_s", "overlap"),
    [
        pytest.param(True, 5.0, True, id="reading-ahead"),
        # Taking turns, the wait always runs out: kept short.
        pytest.param(False, 0.3, False, id="taking-turns"),
    ],
)
async def test_the_model_reads_the_next_batch_while_the_last_is_applied_when_told_to(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    read_ahead: bool,
    wait_s: float,
    overlap: bool,
) -> None:
    size, batches = 4, 3
    model = SignallingTriage(batches)
    real_apply = triaging.apply
    # Whether the model had started on the next batch while each batch was being applied.
    overlapped: list[bool] = []

    async def apply_watching_the_model(**arguments: Any) -> triaging.Applied:
        batch = len(overlapped)
        if batch + 1 < batches:
            # A worker taking turns reads the next batch only after this returns: the wait
            # runs out. One that reads ahead has started it already, or does so meanwhile.
            started = await asyncio.to_thread(model.started[batch + 1].wait, wait_s)
            overlapped.append(started)
        return await real_apply(**arguments)

    monkeypatch.setattr(triaging, "apply", apply_watching_the_model)
    feedback = RETRIES.model_copy(
        update={"triage_batch_size": size, "triage_read_ahead": read_ahead}
    )
    app = create_app(settings, feedback=feedback, triage=lambda: model)
    async with running(app) as client:
        sent = [event("review", rating=2, text=f"The lid cracked, {n}") for n in range(size * 3)]
        await ingest(client, *sent)
        ids = [e["event_id"] for e in sent]

        async def all_triaged() -> bool:
            return await states(client, ids) == ["done"] * len(ids)

        await eventually(all_triaged, timeout_s=30)

        assert overlapped == [overlap, overlap]
        assert model.batches == [size] * batches
        listed = [i["event_id"] for i in await items(client, "/v1/feedback")]
        assert sorted(listed) == sorted(ids), "each event triaged once"


async def test_a_model_failing_for_a_while_loses_no_event(
    settings: Settings, clock: FakeClock
) -> None:
    # One batch of three: the batch call and each event's own call fail in the first round,
    # the batch call and two of the three in the second; the third round triages the rest.
    model = FlakyTriage(failures=7)
    app = app_with(settings, model, clock)
    async with running(app) as client:
        batch = [
            event("review", rating=1, text="The lid cracked after a week"),
            event("question", text="Does the handle get hot?"),
            event("support_ticket", text="The cable is loose", priority="normal"),
        ]
        ids = [e["event_id"] for e in batch]
        await ingest(client, *batch)

        async def all_triaged() -> bool:
            clock.advance(PAST_ANY_BACKOFF)
            return await states(client, ids) == ["done"] * len(ids)

        await eventually(all_triaged, timeout_s=20)

        assert model.failed == 7
        assert sorted(await attempts(app, ids)) == [1, 2, 2]
        assert sorted(i["event_id"] for i in await items(client, "/v1/feedback")) == sorted(ids)
        ready = (await client.get("/readyz", headers=auth("admin"))).json()["triage"]
        assert (ready["backlog"], ready["retrying"], ready["failed"]) == (0, 0, 0)


async def test_events_the_model_always_fails_on_are_given_up_then_requeued(
    settings: Settings, clock: FakeClock, broker: EmbeddedBroker
) -> None:
    # /readyz is read below, and it reports ready only with a reachable broker.
    model = FlakyTriage()
    app = app_with(settings, model, clock)
    async with running(app) as client:
        batch = [event("question"), event("review", rating=2, text="The button sticks")]
        ids = [e["event_id"] for e in batch]
        await ingest(client, *batch)

        async def given_up() -> bool:
            clock.advance(PAST_ANY_BACKOFF)
            return await states(client, ids) == ["failed", "failed"]

        await eventually(given_up, timeout_s=20)

        assert await attempts(app, ids) == [RETRIES.triage_max_attempts] * 2
        ready = (await client.get("/readyz", headers=auth("admin"))).json()
        assert ready["status"] == "ready"  # ingestion still works: triage is informative
        assert (ready["triage"]["failed"], ready["triage"]["retrying"]) == (2, 0)
        metrics = (await client.get("/metrics")).text
        assert 'productops_feedback_triage_failed{service="feedback"} 2.0' in metrics
        assert 'productops_feedback_triaged_total{outcome="failed",service="feedback"}' in metrics

        model.heal()
        first = await client.post("/v1/triage/requeue", json={"event_ids": [ids[0]]}, headers=ADMIN)
        assert first.status_code == 200, first.text
        assert first.json() == {"requeued": 1}
        await triaged(client, ids[0])
        assert await states(client, ids) == ["done", "failed"]

        rest = await client.post("/v1/triage/requeue", headers=ADMIN)
        assert rest.json() == {"requeued": 1}
        await triaged(client, ids[1])
        assert await states(client, ids) == ["done", "done"]
        assert sorted(i["event_id"] for i in await items(client, "/v1/feedback")) == sorted(ids)
        assert (await client.get("/readyz", headers=auth("admin"))).json()["triage"]["failed"] == 0


async def test_an_api_replica_without_jobs_leaves_triage_to_the_worker_role(
    settings: Settings, clock: FakeClock
) -> None:
    app = app_with(settings.model_copy(update={"run_jobs": False}), FlakyTriage(0), clock)
    async with running(app) as client:
        batch = [event("review", rating=1, text="The lid cracked after a week")]
        await ingest(client, *batch)
        ready = (await client.get("/readyz", headers=auth("admin"))).json()["triage"]
        # The model is never loaded here; the queued event waits for a process with jobs.
        assert ready["model"] == "not started"
        assert ready["backlog"] == 1
        assert await states(client, [batch[0]["event_id"]]) == ["pending"]


def test_a_first_retry_past_the_cap_is_refused_at_start() -> None:
    """It started, and the backoff raised at the first failed reading."""
    with pytest.raises(ValidationError, match="triage_retry_first_s"):
        FeedbackSettings(triage_retry_first_s=901, triage_retry_max_s=900)
    assert (
        FeedbackSettings(triage_retry_first_s=900, triage_retry_max_s=900).triage_retry_first_s
        == 900
    )
