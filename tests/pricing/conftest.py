"""Pricing fixtures: a movable clock, apps on SQLite and PostgreSQL, and helpers that
teach pricing about products the way the catalog does, by its events."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, or_, select

from services.pricing.app import create_app
from services.pricing.handlers import HANDLERS
from services.pricing.tables import price
from shared.events import CloudEvent
from shared.settings import Settings
from shared.tables import outbox
from tests.support import auth, running

START = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)

# Different subjects: the proposer and the approver must be two people. The viewer sees
# no costs or margins; the pricing people hold pricing:finance.
READ = auth("pricing:read", subject="key-viewer")
FINANCE = auth("pricing:read pricing:finance", subject="key-controller")
PM = auth("pricing:read pricing:write pricing:finance", subject="key-pm")
BOSS = auth("pricing:read pricing:approve pricing:finance", subject="key-boss")
OTHER_PM = auth("pricing:read pricing:write pricing:finance", subject="key-pm-2")
PM_WHO_APPROVES = auth(
    "pricing:read pricing:write pricing:approve pricing:finance", subject="key-pm"
)


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    # No consumer: these tests hand events to the handlers directly (see `deliver`); the
    # broker path has its own tests in test_handlers.py.
    return make_settings(pricing_database_url=database_url, run_consumers=False)


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> FastAPI:
    return create_app(settings, clock=clock, scheduler_poll_s=0.05)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as http:
        yield http


def new_id(prefix: str = "prod") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def catalog_event(
    kind: str, product_id: str, data: dict[str, Any], *, version: int, at: datetime
) -> CloudEvent:
    """An event as the catalog writes it (subject: the product, sequence: its version)."""
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/catalog",
        type=f"catalog.product.{kind}.v1",
        subject=product_id,
        time=at,
        data={
            "product_id": product_id,
            "sku": f"SKU-{product_id[-6:]}",
            "version": version,
            **data,
        },
        sequence=str(version),
    )


def created(
    product_id: str, *, cost: str | None = "10.00", currency: str = "EUR", at: datetime = START
) -> CloudEvent:
    money = {"amount": cost, "currency": currency} if cost is not None else None
    return catalog_event(
        "created",
        product_id,
        {
            "name": "Kettle",
            "product_type": "kettle",
            "brand": "Acme",
            "cost": money,
            "lifecycle": "active",
            "completeness": {"score": 100, "missing": []},
        },
        version=1,
        at=at,
    )


def cost_changed(
    product_id: str, old: str | None, new: str | None, *, version: int, at: datetime
) -> CloudEvent:
    def money(amount: str | None) -> dict[str, str] | None:
        return {"amount": amount, "currency": "EUR"} if amount is not None else None

    change = {"field": "cost", "old": money(old), "new": money(new)}
    return catalog_event(
        "updated",
        product_id,
        {"changes": [change], "completeness": {"score": 100, "missing": []}},
        version=version,
        at=at,
    )


def lifecycle_changed(product_id: str, to: str, *, version: int, at: datetime) -> CloudEvent:
    return catalog_event(
        "lifecycle_changed", product_id, {"from": "active", "to": to}, version=version, at=at
    )


def purchase_event(
    product_id: str,
    *,
    occurred_at: datetime,
    quantity: int = 1,
    amount: str = "19.99",
    currency: str = "EUR",
    event_id: str | None = None,
    kind: str = "purchase",
    source: str | None = None,
    account: str | None = None,
) -> CloudEvent:
    """A customer event as the feedback service forwards it after ingestion."""
    data: dict[str, Any] = {
        "event_id": event_id or new_id("evt"),
        **({"source": source} if source is not None else {}),
        "kind": kind,
        "occurred_at": occurred_at.isoformat(),
        "product_id": product_id,
        "sku": "SKU-1",
        "customer_ref": "cust-42",
        **({"account": account} if account is not None else {}),
    }
    if kind == "purchase":
        data |= {"quantity": quantity, "unit_price": {"amount": amount, "currency": currency}}
    else:
        data |= {"text": "Lovely kettle", "rating": 5}
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/feedback",
        type="feedback.customer_event.accepted.v1",
        subject=product_id,
        time=occurred_at,
        data=data,
    )


async def deliver(app: FastAPI, *events: CloudEvent) -> None:
    """Hand events straight to pricing's handlers, in one transaction each (the broker
    path, with its inbox, is tested in test_handlers.py)."""
    for event in events:
        async with app.state.runtime.uow() as uow:
            await HANDLERS[event.type](event, uow)


async def add_product(
    app: FastAPI, clock: FakeClock, *, cost: str | None = "10.00", currency: str = "EUR"
) -> str:
    product_id = new_id()
    await deliver(app, created(product_id, cost=cost, currency=currency, at=clock()))
    return product_id


async def make_list(client: httpx.AsyncClient, code: str = "eu-web", **overrides: Any) -> dict:
    body = {"code": code, "currency": "EUR", "channel": "web", **overrides}
    resp = await client.post("/v1/price-lists", json=body, headers=PM)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def propose(
    client: httpx.AsyncClient, product_id: str, amount: str = "15.00", **overrides: Any
) -> dict:
    headers = overrides.pop("headers", PM)
    body = {"product_id": product_id, "price_list": "eu-web", "amount": amount, **overrides}
    resp = await client.post("/v1/prices", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def approve(client: httpx.AsyncClient, price: dict, override: str | None = None) -> dict:
    body = {"override_reason": override} if override else None
    resp = await client.post(f"/v1/prices/{price['id']}/approve", json=body, headers=BOSS)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 30) -> None:
    """Wait, in a bounded loop, until `check` holds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout_s}s")


async def nothing_due(app: FastAPI, now: datetime) -> bool:
    async with app.state.runtime.db.reader() as session:
        due = await session.scalar(
            select(func.count())
            .select_from(price)
            .where(
                or_(
                    (price.c.status == "approved") & (price.c.effective_from <= now),
                    (price.c.status == "published") & (price.c.effective_to <= now),
                )
            )
        )
    return due == 0


async def settle(app: FastAPI, clock: FakeClock) -> None:
    """Let the background scheduler catch up with the (moved) clock."""
    app.state.pricing.scheduler.notify()
    await eventually(lambda: nothing_due(app, clock()), timeout_s=15)


async def publish(client: httpx.AsyncClient, app: FastAPI, clock: FakeClock, price: dict) -> dict:
    """Approve a price and wait until the scheduler has published it."""
    await approve(client, price)
    await settle(app, clock)
    resp = await client.get(f"/v1/prices/{price['id']}", headers=READ)
    assert resp.json()["status"] in ("published", "approved"), resp.text
    return resp.json()


async def outbox_types(app: FastAPI, subject: str | None = None) -> list[str]:
    async with app.state.runtime.db.reader() as session:
        stmt = select(outbox.c.type).order_by(outbox.c.seq)
        if subject is not None:
            stmt = stmt.where(outbox.c.key == subject)
        return list((await session.execute(stmt)).scalars())


def sequence_of(event: CloudEvent) -> int:
    """The event's number in its product's sequence, which every pricing event carries."""
    number = event.sequence_number
    assert number is not None, f"{event.type} {event.id} has no sequence number"
    return number
