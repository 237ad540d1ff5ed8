"""Feedback fixtures: the app with a fake triage model, on SQLite and on PostgreSQL, and
builders for customer events."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.feedback.app import create_app
from services.feedback.handlers import on_product_created
from services.feedback.settings import FeedbackSettings
from shared.events import CloudEvent, decode, new_event
from shared.settings import Settings
from shared.tables import outbox
from tests.feedback.fakes import FakeTriage
from tests.support import auth, eventually, running

INGEST = auth("feedback:ingest feedback:ingest-sales", subject="storefront-1")
# A reader of the same owner: customer events are read within their source (the owner).
READ = auth("feedback:read", owner="storefront-1")
WRITE = auth("feedback:write")
# Retries come at once: a test of the backoff itself injects a clock.
FAST = FeedbackSettings(
    triage_poll_s=0.05,
    metrics_refresh_s=0.05,
    triage_retry_first_s=0.001,
    triage_retry_max_s=0.001,
)
_ids = itertools.count(1)


def at(**ago: float) -> str:
    """An RFC 3339 time this long ago (`at(hours=2)`), in UTC with a Z."""
    moment = datetime.now(UTC) - timedelta(**ago)
    return moment.isoformat().replace("+00:00", "Z")


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """A valid event of `kind`; `fields` override or add (None removes a field)."""
    base: dict[str, Any] = {
        "event_id": f"ev-{next(_ids)}",
        "kind": kind,
        "occurred_at": at(minutes=10),
        "product_id": "prod-1",
        "customer_ref": "cust-1",
    }
    by_kind: dict[str, dict[str, Any]] = {
        "review": {"rating": 4, "text": "Works well"},
        "return": {"reason": "too small", "text": "Smaller than it looked"},
        "support_ticket": {"subject": "Lid", "text": "The lid sticks", "priority": "normal"},
        "question": {"text": "Is it dishwasher safe?"},
        "search_miss": {"query": "glass kettle", "results": 0},
        "purchase": {"quantity": 2, "unit_price": {"amount": "19.99", "currency": "EUR"}},
    }
    base.update(by_kind.get(kind, {}))
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


@pytest.fixture
def fake_triage() -> FakeTriage:
    return FakeTriage()


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    # API tests call the handlers directly: an API-only process, no consumer group to join
    # (~3 s on the embedded broker). tests/feedback/test_events.py runs the consumer.
    return make_settings(feedback_database_url=database_url, run_consumers=False)


@pytest.fixture
def app(settings: Settings, fake_triage: FakeTriage) -> FastAPI:
    return create_app(settings, feedback=FAST, triage=lambda: fake_triage, threshold=0.8)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as http:
        yield http


async def ingest(client: httpx.AsyncClient, *events: object) -> dict[str, Any]:
    """Post one batch, accepted as a whole (202); its items are any JSON, as a test may send
    what is not an event at all."""
    response = await client.post(
        "/v1/customer-events", json={"events": list(events)}, headers=INGEST
    )
    assert response.status_code == 202, response.text
    return response.json()


async def known_product(
    app: FastAPI, product_id: str = "prod-1", sku: str = "KT-1", product_type: str = "kettle"
) -> None:
    """The catalog names the product, as feedback's consumer applies its event: customer
    events about it are then published at once (until then they are held)."""
    created = new_event(
        source="/catalog",
        type="catalog.product.created.v1",
        subject=product_id,
        data={"product_id": product_id, "sku": sku, "name": "Kettle", "product_type": product_type},
        sequence=1,
    )
    async with app.state.runtime.uow() as uow:
        await on_product_created(created, uow)


async def triaged(client: httpx.AsyncClient, *event_ids: str) -> None:
    """Wait until the worker has taken each event (done, not needed or failed)."""

    async def check() -> bool:
        for event_id in event_ids:
            response = await client.get(f"/v1/customer-events/{event_id}", headers=READ)
            if response.json()["triage"] in {"pending", "waiting_for_catalog"}:
                return False
        return True

    await eventually(check, timeout_s=20)


async def items(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list, following next_cursor."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=READ)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


async def outbox_events(app: FastAPI, topic: str = "feedback.events") -> list[CloudEvent]:
    """The events a test's app wrote to its outbox for `topic`, in order."""
    async with app.state.runtime.db.reader() as session:
        rows = (
            await session.execute(
                select(outbox.c.payload).where(outbox.c.topic == topic).order_by(outbox.c.seq)
            )
        ).all()
    return [decode(row.payload) for row in rows]
