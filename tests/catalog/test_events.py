"""The events the catalog writes to its outbox, in the same transaction as each change."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.catalog.events import registry
from shared.events import CloudEvent, decode
from shared.tables import outbox
from tests.catalog.conftest import WRITE, make_product, make_type


async def outbox_events(app: FastAPI) -> list[tuple[Any, CloudEvent]]:
    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
    return [(row, decode(row.payload)) for row in rows]


async def test_changes_write_their_events_to_the_outbox(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_type(client, "kettle", ("color",))
    product = await make_product(client, attributes={})
    url = f"/v1/products/{product['id']}"
    patched = await client.patch(url, json={"attributes": {"color": "red"}}, headers=WRITE)
    assert patched.status_code == 200
    # Changes nothing: no event.
    assert (await client.patch(url, json={"name": product["name"]}, headers=WRITE)).is_success
    moved = await client.post(f"{url}/lifecycle", json={"to": "incoming"}, headers=WRITE)
    assert moved.status_code == 200
    # Refused: no event.
    assert (await client.post(f"{url}/lifecycle", json={"to": "draft"}, headers=WRITE)).is_error

    events = await outbox_events(app)
    assert [event.type for _, event in events] == [
        "catalog.product_type.created.v1",
        "catalog.product.created.v1",
        "catalog.product.updated.v1",
        "catalog.product.lifecycle_changed.v1",
    ]
    for row, event in events:
        assert row.topic == "catalog.events"
        assert row.key == event.subject
        assert row.id == event.id
        assert row.type == event.type
        assert event.source == "/catalog"
        assert event.type in registry
        registry.payload(event)  # the data matches its registered model
        assert event.correlationid

    type_created, created, updated, lifecycle = (event for _, event in events)
    assert type_created.subject == "kettle"
    assert type_created.sequence == "1"
    assert type_created.data["required_attributes"] == ["color"]

    assert created.subject == product["id"]
    assert created.sequence_number == 1
    assert created.data["product_id"] == product["id"]
    assert created.data["sku"] == "KT-1000"
    assert created.data["lifecycle"] == "draft"
    assert created.data["cost"] == {"amount": "19.99", "currency": "EUR"}
    assert created.data["completeness"] == {
        "score": 50,
        "missing": ["description", "attributes.color"],
    }

    assert updated.subject == product["id"]
    assert updated.sequence_number == 2
    assert updated.data == {
        "product_id": product["id"],
        "sku": "KT-1000",
        "version": 2,
        "changes": [{"field": "attributes.color", "old": None, "new": "red"}],
        "completeness": {"score": 75, "missing": ["description"]},
    }

    assert lifecycle.subject == product["id"]
    assert lifecycle.sequence_number == 3
    assert lifecycle.data == {
        "product_id": product["id"],
        "sku": "KT-1000",
        "from": "draft",
        "to": "incoming",
        "version": 3,
    }


async def test_a_refused_create_writes_no_event(app: FastAPI, client: httpx.AsyncClient) -> None:
    await make_type(client, "kettle")
    await make_product(client)
    assert (await client.post("/v1/products", json={"sku": "KT-1000"}, headers=WRITE)).is_error
    dup = await client.post(
        "/v1/products",
        json={"sku": "KT-1000", "name": "X", "product_type": "kettle", "brand": "B"},
        headers=WRITE,
    )
    assert dup.status_code == 409
    assert [event.type for _, event in await outbox_events(app)] == [
        "catalog.product_type.created.v1",
        "catalog.product.created.v1",
    ]
