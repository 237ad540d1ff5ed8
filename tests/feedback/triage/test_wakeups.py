"""The triage worker is woken, not polled, for every way an event becomes due for triage in
its process: an ingest, a catalog event that resolves held events, and its own sweep of
events held for a product the directory already knows. The poll here is an hour: each event
is triaged within a bounded wait only if its wake-up path works. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import product
from shared.events import new_event
from shared.settings import Settings
from tests.feedback.conftest import READ, event, ingest, known_product, triaged
from tests.feedback.fakes import FakeTriage
from tests.support import running

# Far longer than `triaged` waits: a wake-up that is missing fails the test.
HOUR = 3600.0


def app_polling(settings: Settings, *, refresh_s: float) -> FastAPI:
    feedback = FeedbackSettings(triage_poll_s=HOUR, metrics_refresh_s=refresh_s)
    return create_app(settings, feedback=feedback, triage=FakeTriage)


@pytest.fixture
async def idle(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app, its worker asleep for the hour after triaging a first event (so its start-up
    round and first sweep are over); gauges refreshed at most hourly too."""
    app = app_polling(settings, refresh_s=HOUR)
    async with running(app) as client:
        await known_product(app)
        first = event("review", rating=2, text="The lid sticks")
        await ingest(client, first)
        await triaged(client, first["event_id"])
        yield app, client


async def triage_state(client: httpx.AsyncClient, event_id: str) -> str:
    response = await client.get(f"/v1/customer-events/{event_id}", headers=READ)
    state: str = response.json()["triage"]
    return state


async def test_an_ingest_wakes_the_worker(idle: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = idle
    second = event("support_ticket", text="The cable is loose", priority="high")
    await ingest(client, second)
    await triaged(client, second["event_id"])
    assert await triage_state(client, second["event_id"]) == "done"


async def test_a_catalog_event_resolving_held_events_wakes_the_worker(
    idle: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = idle
    held = event("review", product_id=None, sku="KT-LATE", rating=1, text="It leaks")
    await ingest(client, held)
    assert await triage_state(client, held["event_id"]) == "waiting_for_catalog"
    created = new_event(
        source="/catalog",
        type="catalog.product.created.v1",
        subject="prod-late",
        data={"product_id": "prod-late", "sku": "KT-LATE", "name": "Kettle"},
        sequence=1,
    )
    # Through the handler the app's consumer runs, in a transaction of its own.
    runtime = app.state.runtime
    async with runtime.uow() as uow:
        await runtime.handlers["catalog.product.created.v1"](created, uow)
    await triaged(client, held["event_id"])
    assert await triage_state(client, held["event_id"]) == "done"


async def test_events_the_sweep_resolves_are_triaged_before_the_worker_sleeps(
    settings: Settings,
) -> None:
    raced = event("review", product_id=None, sku="KT-RACE", rating=1, text="It leaks")
    before = app_polling(settings, refresh_s=HOUR)
    async with running(before) as client:
        await ingest(client, raced)
        # The race the sweep is for: the directory learnt the product without resolving
        # the event held for it (on PostgreSQL, an ingest committing just after the handler).
        async with before.state.runtime.uow() as uow:
            await uow.session.execute(
                product.insert().values(
                    product_id="prod-race", sku="KT-RACE", updated_at=datetime.now(UTC)
                )
            )
    # A new process: its worker's first round finds nothing queued, then sweeps (once an
    # hour), which queues the raced event; it is triaged before the worker sleeps.
    after = app_polling(settings, refresh_s=HOUR)
    async with running(after) as client:
        await triaged(client, raced["event_id"])
        assert await triage_state(client, raced["event_id"]) == "done"
