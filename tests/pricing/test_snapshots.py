"""`productops republish pricing`: one `pricing.price.snapshot.v1` per price that can still
change, keyed by its product and numbered by the product's event counter, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from shared.events import CloudEvent, decode
from shared.settings import Settings
from shared.stack.republish import republish
from shared.tables import outbox
from tests.pricing.conftest import (
    BOSS,
    FakeClock,
    add_product,
    approve,
    make_list,
    propose,
    sequence_of,
    settle,
)

SNAPSHOT = "pricing.price.snapshot.v1"


async def outbox_rows(app: FastAPI) -> list[tuple[str, CloudEvent]]:
    """Each outbox row's key and event, oldest first."""
    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
    return [(row.key, decode(row.payload)) for row in rows]


async def test_one_snapshot_per_open_price_numbered_after_the_products_events(
    app: FastAPI,
    client: httpx.AsyncClient,
    clock: FakeClock,
    make_settings: Callable[..., Settings],
    database_url: str,
) -> None:
    await make_list(client)
    kettle, toaster = await add_product(app, clock), await add_product(app, clock)
    proposed = await propose(client, kettle, "15.00")
    week_later = (clock() + timedelta(days=7)).isoformat()
    approved = await propose(client, kettle, "14.00", kind="promotion", valid_to=week_later)
    await approve(client, approved)
    rejected = await propose(client, kettle, "99.00")
    resp = await client.post(
        f"/v1/prices/{rejected['id']}/reject", json={"reason": "too dear"}, headers=BOSS
    )
    assert resp.status_code == 200, resp.text
    other = await propose(client, toaster, "25.00")
    await settle(app, clock)
    before = await outbox_rows(app)
    last_sequence = {
        product: max(sequence_of(e) for key, e in before if key == product)
        for product in (kettle, toaster)
    }
    latest = {e.data["price_id"]: e.data for _, e in before}

    settings = make_settings(pricing_database_url=database_url, outbox_chunk_rows=2)
    assert await republish(settings, "pricing") == 3

    snapshots = [(key, e) for key, e in (await outbox_rows(app))[len(before) :]]
    assert {e.type for _, e in snapshots} == {SNAPSHOT}
    assert all(key == e.subject == e.data["product_id"] for key, e in snapshots)
    by_price = {e.data["price_id"]: e for _, e in snapshots}
    assert set(by_price) == {proposed["id"], approved["id"], other["id"]}, "not the rejected"
    for price_id, event in by_price.items():
        assert event.data == latest[price_id], "the price's state as its last event told it"
    kettle_sequences = sorted(sequence_of(e) for key, e in snapshots if key == kettle)
    assert kettle_sequences == [last_sequence[kettle] + 1, last_sequence[kettle] + 2]
    assert by_price[other["id"]].sequence_number == last_sequence[toaster] + 1
    assert by_price[approved["id"]].data["status"] in ("approved", "published")
