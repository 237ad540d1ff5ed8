"""Launch service fixtures: a movable clock, apps on SQLite and PostgreSQL, people with
their scopes, and helpers that teach launch about products, prices and findings the way the
other services do, by their events (through the inbox, as the consumer applies them)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from sqlalchemy import select

from services.launch.app import create_app
from services.launch.settings import LaunchSettings
from shared.events import CloudEvent, decode, encode
from shared.inbox import apply_event
from shared.settings import Settings
from shared.tables import outbox
from tests.support import auth, running

START = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
TARGET = date(2030, 4, 1)
LIST = "eu-web"

# Different subjects are different people (owners): four eyes compares them.
PM = auth("launch:read launch:write", subject="key-pm")
OTHER_PM = auth("launch:read launch:write", subject="key-pm-2")
BOSS = auth("launch:read launch:write launch:approve", subject="key-boss")
PM_WHO_APPROVES = auth("launch:read launch:write launch:approve", subject="key-pm")
READER = auth("launch:read", subject="key-viewer")
ADMIN = auth("admin", subject="key-admin")
DOC = {"title": "CE declaration", "ref": "DMS-4711"}
GOALS = {"units": 500, "revenue": {"amount": "25000.00", "currency": "EUR"}, "margin_pct": "32.5"}


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    # No consumer: these tests hand events to the handlers through the inbox (`deliver`);
    # the broker path has its own test in test_handlers.py.
    return make_settings(launch_database_url=database_url, run_consumers=False)


def new_app(settings: Settings, clock: FakeClock, **launch: Any) -> FastAPI:
    return create_app(settings, clock=clock, launch=LaunchSettings(scheduler_poll_s=0.05, **launch))


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> FastAPI:
    return new_app(settings, clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as http:
        yield http


def new_id(prefix: str = "prod") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --- other services' events, as their producers write them --------------------------------------


def _event(
    source: str,
    event_type: str,
    product_id: str,
    data: dict[str, Any],
    *,
    at: datetime,
    sequence: int | None,
) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=source,
        type=event_type,
        subject=product_id,
        time=at,
        data=data,
        sequence=str(sequence) if sequence is not None else None,
    )


def completeness(score: int = 100, missing: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"score": score, "missing": list(missing)}


def product_created(
    product_id: str,
    *,
    score: int = 100,
    missing: tuple[str, ...] = (),
    lifecycle: str = "draft",
    product_type: str = "kettle",
    at: datetime = START,
) -> CloudEvent:
    return _event(
        "/catalog",
        "catalog.product.created.v1",
        product_id,
        {
            "product_id": product_id,
            "sku": f"SKU-{product_id[-6:]}",
            "name": "Steel kettle",
            "product_type": product_type,
            "brand": "Boilwell",
            "vendor": None,
            "attributes": {},
            "description": "A kettle",
            "cost": {"amount": "10.00", "currency": "EUR"},
            "lifecycle": lifecycle,
            "completeness": completeness(score, missing),
            "version": 1,
            "created_at": at.isoformat(),
        },
        at=at,
        sequence=1,
    )


def product_updated(
    product_id: str,
    *,
    version: int,
    score: int = 100,
    missing: tuple[str, ...] = (),
    changes: list[dict[str, Any]] | None = None,
    at: datetime = START,
) -> CloudEvent:
    return _event(
        "/catalog",
        "catalog.product.updated.v1",
        product_id,
        {
            "product_id": product_id,
            "sku": f"SKU-{product_id[-6:]}",
            "version": version,
            "changes": changes or [],
            "completeness": completeness(score, missing),
        },
        at=at,
        sequence=version,
    )


def lifecycle_changed(
    product_id: str, to: str, *, version: int, old: str = "draft", at: datetime = START
) -> CloudEvent:
    return _event(
        "/catalog",
        "catalog.product.lifecycle_changed.v1",
        product_id,
        {
            "product_id": product_id,
            "sku": f"SKU-{product_id[-6:]}",
            "from": old,
            "to": to,
            "version": version,
        },
        at=at,
        sequence=version,
    )


def decision_recorded(
    product_id: str, outcome: str, *, number: int, at: datetime = START
) -> CloudEvent:
    return _event(
        "/catalog",
        "catalog.decision.recorded.v1",
        product_id,
        {
            "decision_id": str(uuid.uuid4()),
            "product_id": product_id,
            "number": number,
            "outcome": outcome,
            "rationale": "the cases say so",
            "decided_by": {"subject": "key-boss", "name": "boss"},
            "decided_at": at.isoformat(),
            "cases_for": 2,
            "cases_against": 1,
        },
        at=at,
        sequence=None,
    )


def price_event(
    product_id: str,
    *,
    status: str,
    verb: str | None = None,
    version: int,
    sequence: int,
    price_id: str | None = None,
    price_list: str = LIST,
    kind: str = "base",
    valid_from: datetime = START,
    valid_to: datetime | None = None,
    at: datetime = START,
) -> CloudEvent:
    """A price event as pricing writes it: the price's full state, numbered per product;
    `verb` names the type when it is not the status (a snapshot). Ids are unique per
    product unless given."""
    effective = status in ("approved", "published", "expired")
    return _event(
        "/pricing",
        f"pricing.price.{verb or status}.v1",
        product_id,
        {
            "price_id": price_id or f"price-{product_id}",
            "product_id": product_id,
            "price_list": price_list,
            "currency": "EUR",
            "kind": kind,
            "amount": "19.99",
            "status": status,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
            "effective_from": valid_from.isoformat() if effective else None,
            "effective_to": valid_to.isoformat() if effective and valid_to else None,
            "reason": None,
            "guardrail_violations": [],
            "proposed_by": "key-pricer",
            "decided_by": "key-pricing-boss" if effective else None,
            "override_reason": None,
            "rejection_reason": None,
            "replaces_price_id": None,
            "close_reason": None,
            "version": version,
        },
        at=at,
        sequence=sequence,
    )


def finding_event(
    product_id: str,
    *,
    verb: str = "opened",
    finding_id: str | None = None,
    kind: str = "defect",
    severity: str = "critical",
    status: str = "open",
    item_count: int = 3,
    version: int = 1,
    quote: str = "the lid came off and burned my hand",
    at: datetime = START,
) -> CloudEvent:
    """A finding event as feedback writes it: no `sequence`, its version in `data`."""
    data: dict[str, Any] = {
        "finding_id": finding_id or f"finding-{product_id}",
        "product_id": product_id,
        "kind": kind,
        "severity": severity,
        "status": status,
        "item_count": item_count,
        "safety_hazard": severity == "critical",
        "regression": False,
        "topic": "lid",
        "representative_quote": quote,
        "first_seen": at.isoformat(),
        "last_seen": at.isoformat(),
        "version": version,
    }
    if verb == "updated":
        data["changed"] = ["status"]
    return _event(
        "/feedback", f"feedback.finding.{verb}.v1", product_id, data, at=at, sequence=None
    )


_TOPICS = {
    "/catalog": "catalog.events",
    "/pricing": "pricing.events",
    "/feedback": "feedback.events",
}


def record_of(event: CloudEvent, offset: int = 0) -> ConsumerRecord:
    """The Kafka record the consumer would have read the event from."""
    value = encode(event)
    return ConsumerRecord(
        topic=_TOPICS[event.source],
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=(event.subject or "").encode(),
        value=value,
        checksum=None,
        serialized_key_size=-1,
        serialized_value_size=len(value),
        headers=(),
    )


async def deliver(app: FastAPI, *events: CloudEvent) -> list[str]:
    """Apply events as launch's consumer does (inbox, sequence check, handler, one
    transaction each); the outcome of each: handled, duplicate or stale."""
    runtime = app.state.runtime
    outcomes: list[str] = []
    for event in events:
        outcomes.append(
            await apply_event(
                runtime.uow,
                consumer="launch",
                record=record_of(event),
                event=event,
                handler=runtime.spec.handlers[event.type],
            )
        )
    return outcomes


async def known_product(app: FastAPI, **created: Any) -> str:
    """A product the catalog announced, complete, with an approved base price on LIST
    (in effect since the day before START)."""
    product_id = new_id()
    since = START - timedelta(days=1)
    await deliver(
        app,
        product_created(product_id, **created),
        price_event(product_id, status="approved", version=2, sequence=1, valid_from=since),
    )
    return product_id


async def plan(
    client: httpx.AsyncClient,
    product_id: str,
    *,
    target: date = TARGET,
    headers: dict[str, str] = PM,
    **extra: Any,
) -> dict[str, Any]:
    body = {"product_id": product_id, "target_date": target.isoformat(), "price_list": LIST}
    resp = await client.post("/v1/launches", json={**body, **extra}, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


async def make_ready(client: httpx.AsyncClient, launch: dict[str, Any]) -> dict[str, Any]:
    """Every manual gate of a plan without a template passing: goals, sign-offs, a passed
    QA report. The automatic ones follow the facts."""
    base = f"/v1/launches/{launch['id']}"
    ok(await client.patch(base, json={"goals": GOALS}, headers=PM))
    for name in ("spec_improvements", "business_documents", "regulatory_compliance"):
        body = {"evidence": "reviewed", "documents": [DOC]}
        ok(await client.post(f"{base}/gates/{name}/signoff", json=body, headers=PM))
    signed = {"evidence": "campaign booked"}
    ok(await client.post(f"{base}/gates/marketing_plan/signoff", json=signed, headers=PM))
    report = {"kind": "qa", "result": "passed", "notes": "all green"}
    return ok(await client.post(f"{base}/qa-reports", json=report, headers=PM), 201)


def gate(launch: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in launch["gates"] if g["name"] == name)


async def outbox_events(app: FastAPI, subject: str | None = None) -> list[CloudEvent]:
    """The events written to launch's outbox, in order (optionally of one product)."""
    async with app.state.runtime.db.reader() as session:
        stmt = select(outbox.c.payload).order_by(outbox.c.seq)
        if subject is not None:
            stmt = stmt.where(outbox.c.key == subject)
        return [decode(payload) for payload in (await session.execute(stmt)).scalars()]


async def outbox_types(app: FastAPI, subject: str | None = None) -> list[str]:
    return [event.type for event in await outbox_events(app, subject)]
