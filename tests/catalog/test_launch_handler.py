"""Launch's `launch.launched.v1` makes the catalog's product active (issue 10, loop 4).

Each event goes through the handler as the consumer runs it (`apply_event`: inbox, subject
order, one transaction), on SQLite and PostgreSQL; the last test sends them through the real
broker. The events are built by hand in launch's wire shape: the contract with launch's own
code is `tests/contracts/test_launch_events.py`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI

from services.catalog.app import create_app
from services.catalog.domain import Lifecycle
from services.catalog.launches.contracts import LAUNCH_TOPIC, LAUNCHED
from services.catalog.launches.domain import moves_to_active
from services.catalog.launches.handlers import LAUNCH_ACTOR_NAME
from shared.broker import EmbeddedBroker
from shared.errors import NotFound
from shared.events import CloudEvent, encode, new_event
from shared.faults import InvalidEvent
from shared.inbox import DUPLICATE, HANDLED, STALE, apply_event
from shared.settings import Settings
from tests.catalog.conftest import READ, WRITE, make_product, make_type, outbox_events
from tests.catalog.requirements.test_handlers import all_committed, eventually, handled, produce
from tests.support import running

NOW = datetime(2030, 4, 1, 8, 0, tzinfo=UTC)
LAUNCH_ID = "0190f0e8-0000-7000-8000-00000000aaaa"


@pytest.fixture
def app(make_settings: Callable[..., Settings], database_url: str) -> FastAPI:
    # No consumer: each test hands its events to the handler itself, as the consumer would.
    settings = make_settings(catalog_database_url=database_url, run_consumers=False)
    return create_app(settings, clock=lambda: NOW)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as http:
        await make_type(http, "kettle", ("color",))
        yield http


def launched(product_id: str, *, sequence: int = 1, **data: Any) -> CloudEvent:
    """A `launch.launched.v1` as launch publishes it, with fields the catalog does not read."""
    body = {
        "launch_id": LAUNCH_ID,
        "product_id": product_id,
        "price_list": "web-eur",
        "owner": "olivia",
        "target_date": "2030-04-01",
        "status": "launched",
        "readiness": "ready",
        "launched_at": NOW.isoformat(),
        "monitored_until": "2030-05-01T08:00:00+00:00",
        "goals": {
            "units": 500,
            "revenue": {"amount": "25000.00", "currency": "EUR"},
            "margin_pct": "32.5",
            "period_days": 90,
        },
        **data,
    }
    return new_event(
        source="/launch", type=LAUNCHED, subject=product_id, data=body, sequence=sequence
    )


async def deliver(app: FastAPI, event: CloudEvent, *, offset: int = 0) -> str:
    """The event applied by the catalog's registered handler, as its consumer applies it."""
    runtime = app.state.runtime
    record = ConsumerRecord(LAUNCH_TOPIC, 0, offset, 0, 0, None, encode(event), None, 0, 0, ())
    return await apply_event(
        runtime.uow,
        consumer="catalog",
        record=record,
        event=event,
        handler=runtime.spec.handlers[LAUNCHED],
    )


async def product_in(client: httpx.AsyncClient, *moves: str, sku: str = "KT-1000") -> str:
    """A new kettle's id, after the lifecycle moves a person made."""
    product_id: str = (await make_product(client, sku=sku))["id"]
    for to in moves:
        moved = await client.post(
            f"/v1/products/{product_id}/lifecycle", json={"to": to}, headers=WRITE
        )
        assert moved.status_code == 200, moved.text
    return product_id


async def reject(client: httpx.AsyncClient, product_id: str) -> None:
    case = {"stance": "against", "summary": "The lid comes off when it boils."}
    added = await client.post(f"/v1/products/{product_id}/cases", json=case, headers=WRITE)
    assert added.status_code == 201, added.text
    decision = {"outcome": "reject", "rationale": "Unsafe lid."}
    decided = await client.post(f"/v1/products/{product_id}/decision", json=decision, headers=WRITE)
    assert decided.status_code == 201, decided.text


async def product(client: httpx.AsyncClient, product_id: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/products/{product_id}", headers=READ)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def dead_letters(app: FastAPI) -> int:
    counts = await app.state.runtime.dead_letters.counts()
    return sum(counts["catalog"].values())


async def history(client: httpx.AsyncClient, product_id: str) -> list[dict[str, Any]]:
    resp = await client.get(f"/v1/products/{product_id}/history", headers=READ)
    assert resp.status_code == 200, resp.text
    return [entry for entry in resp.json()["items"] if entry["field"] == "lifecycle"]


async def lifecycle_events(app: FastAPI, product_id: str) -> list[dict[str, Any]]:
    return [
        {**event.data, "sequence": event.sequence_number}
        for event in await outbox_events(app)
        if event.type == "catalog.product.lifecycle_changed.v1" and event.subject == product_id
    ]


def by_launch(old: str, new: str, version: int) -> dict[str, Any]:
    """A history entry of a move the launch made, at the runtime's clock."""
    return {
        "field": "lifecycle",
        "old": old,
        "new": new,
        "version": version,
        "changed_by": {"subject": LAUNCH_ID, "name": LAUNCH_ACTOR_NAME},
        "changed_at": NOW.isoformat().replace("+00:00", "Z"),
    }


# --- the rule, without I/O ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "moves"),
    [
        (Lifecycle.DRAFT, (Lifecycle.INCOMING, Lifecycle.ACTIVE)),
        (Lifecycle.INCOMING, (Lifecycle.ACTIVE,)),
        (Lifecycle.ACTIVE, ()),
        (Lifecycle.DISCONTINUED, ()),
    ],
)
def test_a_launch_moves_a_product_to_active_and_never_back_from_discontinued(
    current: Lifecycle, moves: tuple[Lifecycle, ...]
) -> None:
    assert moves_to_active(current) == moves


# --- through the handler, on SQLite and PostgreSQL --------------------------------------------


async def test_a_draft_moves_through_incoming_to_active(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await product_in(client)

    assert await deliver(app, launched(product_id)) == HANDLED

    moved = await product(client, product_id)
    assert (moved["lifecycle"], moved["version"]) == ("active", 3)
    assert await history(client, product_id) == [
        by_launch("draft", "incoming", 2),
        by_launch("incoming", "active", 3),
    ]
    assert await lifecycle_events(app, product_id) == [
        {"product_id": product_id, "sku": "KT-1000", "from": "draft", "to": "incoming"}
        | {"version": 2, "sequence": 2},
        {"product_id": product_id, "sku": "KT-1000", "from": "incoming", "to": "active"}
        | {"version": 3, "sequence": 3},
    ]


async def test_an_incoming_product_moves_to_active(app: FastAPI, client: httpx.AsyncClient) -> None:
    product_id = await product_in(client, "incoming")

    assert await deliver(app, launched(product_id)) == HANDLED

    assert (await product(client, product_id))["lifecycle"] == "active"
    assert (await history(client, product_id))[1:] == [by_launch("incoming", "active", 3)]
    assert [(e["from"], e["to"]) for e in await lifecycle_events(app, product_id)] == [
        ("draft", "incoming"),  # the person's move
        ("incoming", "active"),
    ]


async def test_an_active_product_changes_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    product_id = await product_in(client, "incoming", "active")
    before = await product(client, product_id)
    events_before = await outbox_events(app)

    assert await deliver(app, launched(product_id)) == HANDLED

    assert await product(client, product_id) == before
    assert len(await history(client, product_id)) == 2
    assert await outbox_events(app) == events_before


@pytest.mark.parametrize("moves", [(), ("incoming",)], ids=["draft", "incoming"])
async def test_a_rejected_product_stays_put_and_the_event_is_handled(
    app: FastAPI,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    moves: tuple[str, ...],
) -> None:
    product_id = await product_in(client, *moves)
    await reject(client, product_id)
    before = await product(client, product_id)
    events_before = await outbox_events(app)

    with caplog.at_level(logging.INFO, logger="services.catalog.launches.handlers"):
        # Handled, not raised: the consumer neither retries it nor dead-letters it.
        assert await deliver(app, launched(product_id)) == HANDLED

    assert await product(client, product_id) == before
    assert len(await history(client, product_id)) == len(moves)
    assert await outbox_events(app) == events_before
    assert await dead_letters(app) == 0
    (record,) = [
        r
        for r in caplog.records
        if r.levelno == logging.INFO and r.name == "services.catalog.launches.handlers"
    ]
    assert record.getMessage() == "a launch cannot make the product active"
    # The log call's `extra` fields: attributes of this record alone, unknown to its type.
    fields = vars(record)
    assert (fields["launch_id"], fields["product_id"]) == (LAUNCH_ID, product_id)
    assert "the product was rejected" in fields["reason"]
    assert "'Unsafe lid.'" in fields["reason"]


async def test_a_discontinued_product_stays_discontinued(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await product_in(client, "discontinued")
    before = await product(client, product_id)
    events_before = await outbox_events(app)

    assert await deliver(app, launched(product_id)) == HANDLED

    assert await product(client, product_id) == before
    assert before["lifecycle"] == "discontinued"
    assert await outbox_events(app) == events_before


async def test_a_redelivered_or_stale_event_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await product_in(client)
    event = launched(product_id, sequence=7)
    assert await deliver(app, event) == HANDLED
    after = await product(client, product_id)
    events_after = await outbox_events(app)

    assert await deliver(app, event, offset=1) == DUPLICATE
    # Another of launch's events about the product, older than one already applied.
    assert await deliver(app, launched(product_id, sequence=6), offset=2) == STALE

    assert await product(client, product_id) == after
    assert len(await history(client, product_id)) == 2
    assert await outbox_events(app) == events_after


async def test_an_unreadable_event_or_an_unknown_product_raises_for_the_dead_letters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await product_in(client)
    with pytest.raises(InvalidEvent) as unreadable:
        await deliver(app, launched(product_id, launch_id=""))
    assert "launch_id" in str(unreadable.value)

    missing = str(uuid.uuid4())
    with pytest.raises(NotFound) as unknown:
        await deliver(app, launched(missing))
    assert unknown.value.status == 404
    assert unknown.value.detail == f"no product with id {missing!r}"
    # Rolled back with the inbox row: nothing was recorded, so a replay can apply them.
    assert (await product(client, product_id))["lifecycle"] == "draft"
    assert await lifecycle_events(app, product_id) == []


# --- through the real broker -------------------------------------------------------------------


async def test_launched_events_through_the_broker(
    make_settings: Callable[..., Settings], broker: EmbeddedBroker
) -> None:
    app = create_app(make_settings(), clock=lambda: NOW)
    async with running(app) as client:
        await make_type(client, "kettle", ("color",))
        draft = await product_in(client, sku=f"KT-{uuid.uuid4().hex[:8]}")
        rejected = await product_in(client, sku=f"KT-{uuid.uuid4().hex[:8]}")
        await reject(client, rejected)
        first, refused = launched(draft), launched(rejected)
        # The first event twice, as a retried send or a replayed partition would bring it.
        await produce(broker.bootstrap, [first, first, refused], topic=LAUNCH_TOPIC)

        await eventually(lambda: handled(app, first.id))
        await eventually(lambda: handled(app, refused.id))
        await eventually(lambda: all_committed(broker.bootstrap, "catalog", LAUNCH_TOPIC))

        assert (await product(client, draft))["lifecycle"] == "active"
        assert len(await history(client, draft)) == 2
        assert (await product(client, rejected))["lifecycle"] == "draft"
        assert await history(client, rejected) == []
        consumer = app.state.runtime.consumer
        assert consumer.dead_lettered == 0
        assert await dead_letters(app) == 0
