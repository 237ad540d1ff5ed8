"""`productops republish catalog`: one `catalog.product.snapshot.v1` per product in the outbox,
keyed by the product and sequenced by its version, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from shared.settings import Settings
from shared.stack.republish import republish
from shared.tables import outbox
from tests.catalog.conftest import BOTH, WRITE, make_product, make_type, outbox_events

SNAPSHOT = "catalog.product.snapshot.v1"


async def decide(client: httpx.AsyncClient, product_id: str, outcome: str) -> dict[str, Any]:
    resp = await client.post(
        f"/v1/products/{product_id}/decision",
        json={"outcome": outcome, "rationale": "Not yet."},
        headers=BOTH,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_one_snapshot_per_product_with_its_version_and_current_decision(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    database_url: str,
) -> None:
    await make_type(client, "kettle", ("color",))
    products = [await make_product(client, sku=f"KT-{n}") for n in range(3)]
    first, second, _ = products
    patched = await client.patch(
        f"/v1/products/{first['id']}", json={"attributes": {"color": "red"}}, headers=WRITE
    )
    assert patched.status_code == 200, patched.text
    first = patched.json()
    await decide(client, first["id"], "defer")
    current = await decide(client, first["id"], "defer")
    before = {event.id for event in await outbox_events(app)}

    # One product per transaction, so the keyset walks across chunks.
    settings = make_settings(catalog_database_url=database_url, outbox_chunk_rows=1)
    assert await republish(settings, "catalog") == 3

    snapshots = [event for event in await outbox_events(app) if event.id not in before]
    assert [event.type for event in snapshots] == [SNAPSHOT] * 3
    assert [event.subject for event in snapshots] == [p["id"] for p in products]
    assert [event.sequence_number for event in snapshots] == [2, 1, 1]
    assert len({event.correlationid for event in snapshots}) == 1, "one run, one correlation"
    by_id = {event.subject: event.data for event in snapshots}
    assert by_id[first["id"]] == {
        "product_id": first["id"],
        "sku": "KT-0",
        "name": "Steel kettle",
        "product_type": "kettle",
        "brand": "Boilwell",
        "vendor": None,
        "attributes": {"color": "red"},
        "description": None,
        "cost": {"amount": "19.99", "currency": "EUR"},
        "lifecycle": "draft",
        "completeness": first["completeness"],
        "version": 2,
        "created_at": first["created_at"],
        "updated_at": first["updated_at"],
        "decision": {
            "decision_id": current["id"],
            "number": 2,
            "outcome": "defer",
            "decided_at": current["decided_at"],
        },
    }
    assert by_id[second["id"]]["decision"] is None
    assert by_id[second["id"]]["version"] == 1

    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(outbox).where(outbox.c.type == SNAPSHOT))).all()
    assert sorted((row.key, row.topic) for row in rows) == sorted(
        (p["id"], "catalog.events") for p in products
    )


async def test_an_empty_catalog_writes_nothing(
    app: FastAPI, make_settings: Callable[..., Settings], database_url: str
) -> None:
    assert await republish(make_settings(catalog_database_url=database_url), "catalog") == 0
    assert await outbox_events(app) == []
