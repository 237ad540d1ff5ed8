"""Two storefronts may send the same `event_id` (it is unique per source, the key's owner):
triage reads, places and records each of their events as its own, whether the two arrive
in one batch of the worker or one after the other was triaged."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.feedback.conftest import event, items, known_product
from tests.support import auth, eventually

SHOPS = ("storefront-1", "storefront-2")


async def send(client: httpx.AsyncClient, shop: str, sent: dict[str, object]) -> None:
    key = auth("feedback:ingest", subject=f"{shop}-key", owner=shop)
    response = await client.post("/v1/customer-events", json={"events": [sent]}, headers=key)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1


async def triaged(client: httpx.AsyncClient, shop: str, event_id: str) -> None:
    async def done() -> bool:
        read = auth("feedback:read", owner=shop)
        got = await client.get(f"/v1/customer-events/{event_id}", headers=read)
        return bool(got.json()["triage"] == "done")

    await eventually(done, timeout_s=20)


async def test_one_event_id_from_two_storefronts_at_once_is_two_items(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await known_product(app)
    texts = {"storefront-1": "The lid cracked on day two", "storefront-2": "Lovely kettle, quiet"}
    for shop in SHOPS:
        await send(client, shop, event("review", event_id="order-1001", rating=3, text=texts[shop]))
    for shop in SHOPS:
        await triaged(client, shop, "order-1001")

    found = await items(client, "/v1/feedback", product_id="prod-1")
    assert sorted(item["quote"] for item in found) == sorted(texts.values())
    assert {item["event_id"] for item in found} == {"order-1001"}


async def test_the_second_storefronts_event_after_the_first_was_triaged_is_triaged_too(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await known_product(app)
    questions = {
        "storefront-1": "Do you give a discount for 40 units for our office?",
        "storefront-2": "What is the price for 12 units?",
    }
    for shop in SHOPS:
        await send(client, shop, event("question", event_id="q-7", text=questions[shop]))
        await triaged(client, shop, "q-7")

    found = await items(client, "/v1/feedback", product_id="prod-1")
    assert sorted(item["quote"] for item in found) == sorted(questions.values())
    # Each customer's sales question goes to sales, one escalation each.
    escalations = await items(client, "/v1/escalations")
    assert [e["event_id"] for e in escalations] == ["q-7", "q-7"]
    assert len({e["id"] for e in escalations}) == 2
