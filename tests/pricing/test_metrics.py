"""Revenue and margin per day from purchases, at the price paid and the cost of the time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select

from services.pricing.tables import purchase
from tests.pricing.conftest import (
    FINANCE,
    READ,
    START,
    FakeClock,
    add_product,
    cost_changed,
    deliver,
    purchase_event,
)
from tests.support import assert_problem, auth

DAY = timedelta(days=1)


async def metrics(client: httpx.AsyncClient, product_id: str, **params: Any) -> dict:
    resp = await client.get(f"/v1/products/{product_id}/metrics", params=params, headers=FINANCE)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_daily_units_revenue_and_margin_at_the_cost_of_the_time(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock, cost="10.00")  # cost from START (09:00)
    await deliver(
        app,
        cost_changed(product_id, "10.00", "12.00", version=2, at=START + DAY),
        purchase_event(product_id, occurred_at=START + timedelta(hours=1), quantity=2),
        purchase_event(product_id, occurred_at=START + timedelta(hours=3), amount="17.50"),
        # Next day, after the cost rose.
        purchase_event(product_id, occurred_at=START + DAY + timedelta(hours=1), quantity=3),
        # Before the cost was known: counted, left out of the margin.
        purchase_event(product_id, occurred_at=START - timedelta(hours=2), amount="20.00"),
        purchase_event(product_id, occurred_at=START + timedelta(hours=2), kind="review"),
    )
    body = await metrics(client, product_id, **{"from": "2030-03-01", "to": "2030-03-02"})
    assert body["product_id"] == product_id
    assert (body["from"], body["to"]) == ("2030-03-01", "2030-03-02")
    assert body["days"] == [
        {
            "day": "2030-03-01",
            "currency": "EUR",
            "units": 4,
            "revenue": "77.48",  # 2 x 19.99 + 17.50 + 20.00
            "cost": "30.00",
            "margin": "27.48",  # on the 3 units with a known cost: 57.48 - 30.00
            "margin_pct": "47.81",
            "units_without_cost": 1,
        },
        {
            "day": "2030-03-02",
            "currency": "EUR",
            "units": 3,
            "revenue": "59.97",
            "cost": "36.00",
            "margin": "23.97",
            "margin_pct": "39.97",
            "units_without_cost": 0,
        },
    ]
    assert body["totals"] == [
        {
            "day": None,
            "currency": "EUR",
            "units": 7,
            "revenue": "137.45",
            "cost": "66.00",
            "margin": "51.45",
            "margin_pct": "43.81",
            "units_without_cost": 1,
        }
    ]


async def test_a_purchase_counts_once_however_often_it_arrives(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock)
    once = purchase_event(product_id, occurred_at=START, quantity=2, event_id="order-7-line-1")
    # The feedback service re-sent it in a new envelope: same client event id.
    again = purchase_event(product_id, occurred_at=START, quantity=2, event_id="order-7-line-1")
    await deliver(app, once, again)
    body = await metrics(client, product_id, **{"from": "2030-03-01", "to": "2030-03-01"})
    assert body["totals"][0]["units"] == 2


async def test_two_storefronts_purchases_with_one_event_id_both_count(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock)
    ours = purchase_event(product_id, occurred_at=START, quantity=2, event_id="o-1", source="a")
    theirs = purchase_event(product_id, occurred_at=START, quantity=3, event_id="o-1", source="b")
    again = purchase_event(product_id, occurred_at=START, quantity=3, event_id="o-1", source="b")
    await deliver(app, ours, theirs, again)
    body = await metrics(client, product_id, **{"from": "2030-03-01", "to": "2030-03-01"})
    assert body["totals"][0]["units"] == 5


async def test_currencies_are_kept_apart(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock, cost="10.00")
    await deliver(
        app,
        purchase_event(product_id, occurred_at=START + timedelta(hours=1)),
        purchase_event(
            product_id, occurred_at=START + timedelta(hours=1), amount="25", currency="USD"
        ),
        purchase_event(
            product_id, occurred_at=START + timedelta(hours=1), amount="3000", currency="JPY"
        ),
    )
    body = await metrics(client, product_id, **{"from": "2030-03-01", "to": "2030-03-01"})
    assert [(d["currency"], d["revenue"], d["margin"]) for d in body["days"]] == [
        ("EUR", "19.99", "9.99"),
        ("JPY", "3000", None),
        ("USD", "25.00", None),
    ]
    assert [t["currency"] for t in body["totals"]] == ["EUR", "JPY", "USD"]


async def test_default_range_is_the_last_30_days(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock)
    await deliver(
        app,
        purchase_event(product_id, occurred_at=clock() - 29 * DAY),
        purchase_event(product_id, occurred_at=clock() - 31 * DAY),
    )
    body = await metrics(client, product_id)
    assert (body["from"], body["to"]) == ("2030-01-31", "2030-03-01")
    assert body["totals"][0]["units"] == 1
    empty = await metrics(client, product_id, **{"from": "2029-01-01", "to": "2029-01-31"})
    assert (empty["days"], empty["totals"]) == ([], [])


@pytest.mark.parametrize(
    ("params", "detail", "loc"),
    [
        ({"from": "2030-03-05", "to": "2030-03-01"}, "to must not be before from", "to"),
        ({"from": "2029-01-01", "to": "2030-03-01"}, "at most 366 days", "to"),
        ({"from": "01/03/2030"}, "query.from", "from"),
        ({"to": "2030-02-30"}, "query.to", "to"),
    ],
)
async def test_metrics_errors(
    app: FastAPI,
    client: httpx.AsyncClient,
    clock: FakeClock,
    params: dict[str, str],
    detail: str,
    loc: str,
) -> None:
    product_id = await add_product(app, clock)
    resp = await client.get(f"/v1/products/{product_id}/metrics", params=params, headers=FINANCE)
    problem = assert_problem(resp, 422, detail_has=detail)
    assert ["query", loc] in [e["loc"] for e in problem["errors"]]


async def test_metrics_of_an_unknown_product(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/products/nope/metrics", headers=READ)
    assert_problem(resp, 404, detail_has="no product with id 'nope'")
    assert_problem(await client.get("/v1/products/nope/metrics"), 401)
    wrong = auth("pricing:write", subject="key-w")
    assert_problem(await client.get("/v1/products/nope/metrics", headers=wrong), 403)


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": 0},
        {"quantity": "two"},
        {"unit_price": {"amount": 19.99, "currency": "EUR"}},
        {"unit_price": {"amount": "-1", "currency": "EUR"}},
        {"unit_price": None},
        {"occurred_at": "2030-03-01T10:00:00"},
    ],
)
async def test_a_malformed_purchase_is_refused_not_swallowed(
    app: FastAPI, clock: FakeClock, change: dict[str, Any]
) -> None:
    # Raising sends it, after the consumer's retries, to the dead-letter topic.
    event = purchase_event("p-1", occurred_at=START)
    broken = event.model_copy(update={"data": {**event.data, **change}})
    with pytest.raises(ValidationError):
        await deliver(app, broken)


async def test_a_purchase_keeps_the_account_it_names(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock)
    await deliver(
        app,
        purchase_event(product_id, occurred_at=START, event_id="b2b-1", account="acme:eu-1"),
        purchase_event(product_id, occurred_at=START, event_id="shop-1"),
    )
    async with app.state.runtime.db.reader() as session:
        rows = await session.execute(
            select(purchase.c.event_id, purchase.c.account).order_by(purchase.c.event_id)
        )
        assert rows.all() == [("b2b-1", "acme:eu-1"), ("shop-1", None)]
