"""A proposal's projection over HTTP, on SQLite and PostgreSQL: from the purchases pricing
recorded, with the margin only for pricing:finance."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from tests.pricing.conftest import (
    PM,
    READ,
    FakeClock,
    add_product,
    deliver,
    make_list,
    propose,
    purchase_event,
)
from tests.support import assert_problem, auth

# (days ago, units, unit price): on units = 6400 * price^-2, two of the days in the last 30.
HISTORY = ((90, 64, "10.00"), (80, 64, "10.00"), (60, 4, "40.00"), (20, 16, "20.00"))
RECENT = (10, 16, "20.00")


async def test_a_proposal_projects_from_the_fitted_elasticity(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await make_list(client)
    product_id = await add_product(app, clock, cost="6.00")
    await deliver(
        app,
        *(
            purchase_event(
                product_id, occurred_at=clock() - timedelta(days=ago), quantity=units, amount=price
            )
            for ago, units, price in (*HISTORY, RECENT)
        ),
        # Another currency is another market: left out.
        purchase_event(product_id, occurred_at=clock() - timedelta(days=1), currency="USD"),
    )
    proposal = await propose(client, product_id, "10.00")

    resp = await client.get(f"/v1/prices/{proposal['id']}/projection", headers=PM)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body == {
        "price_id": proposal["id"],
        "product_id": product_id,
        "price_list": "eu-web",
        "estimate": True,
        "days": 30,
        "basis": "elasticity",
        "assumption": body["assumption"],
        "proposed_price": {"amount": "10.00", "currency": "EUR"},
        "reference_price": {"amount": "20.00", "currency": "EUR"},
        "run_rate_units": 32,
        "fit": {
            "elasticity": "-2.000",
            "points": 5,
            "distinct_prices": 3,
            "reason": "fitted on 5 days at 3 prices",
        },
        "units": 128,
        "revenue": {"amount": "1280.00", "currency": "EUR"},
        "margin": {"amount": "512.00", "currency": "EUR"},
    }
    assert body["assumption"].startswith("estimate")
    # Without pricing:finance the margin (it needs the cost) is not shown.
    plain = await client.get(f"/v1/prices/{proposal['id']}/projection", headers=READ)
    assert (plain.json()["margin"], plain.json()["units"]) == (None, 128)
    # It blocks nothing: the proposal is still there to decide.
    fetched = await client.get(f"/v1/prices/{proposal['id']}", headers=READ)
    assert fetched.json()["status"] == "proposed"


async def test_an_account_list_projects_from_the_accounts_sales_alone(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await make_list(client, "acme-eur", account="acme")
    product_id = await add_product(app, clock)
    await deliver(
        app,
        purchase_event(
            product_id,
            occurred_at=clock() - timedelta(days=3),
            quantity=5,
            amount="20.00",
            account="acme",
        ),
        purchase_event(
            product_id,
            occurred_at=clock() - timedelta(days=2),
            quantity=5,
            amount="20.00",
            account="acme",
        ),
        purchase_event(
            product_id, occurred_at=clock() - timedelta(days=2), quantity=40, account="beta"
        ),
        purchase_event(product_id, occurred_at=clock() - timedelta(days=2), quantity=40),
    )
    proposal = await propose(client, product_id, "18.00", price_list="acme-eur")
    body = (await client.get(f"/v1/prices/{proposal['id']}/projection", headers=PM)).json()
    assert body["basis"] == "unchanged_demand"
    assert "assumes unchanged demand" in body["assumption"]
    assert (body["run_rate_units"], body["units"]) == (10, 10)
    assert body["revenue"] == {"amount": "180.00", "currency": "EUR"}
    # Cost 10.00 (the default product's): (18.00 - 10.00) * 10.
    assert body["margin"] == {"amount": "80.00", "currency": "EUR"}
    assert body["fit"] == {
        "elasticity": None,
        "points": 2,
        "distinct_prices": 1,
        "reason": "1 distinct daily price(s) over 2 day(s) with sales; a fit needs at least "
        "3 prices over 5 days",
    }


async def test_a_product_without_sales_projects_nothing(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await make_list(client)
    product_id = await add_product(app, clock, cost=None)
    proposal = await propose(client, product_id, "12.00")
    body = (await client.get(f"/v1/prices/{proposal['id']}/projection", headers=PM)).json()
    assert (body["units"], body["revenue"]["amount"], body["margin"]) == (0, "0.00", None)
    assert body["reference_price"] is None
    assert "no sales in the last 30 days" in body["assumption"]


async def test_projection_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/prices/nope/projection", headers=READ)
    assert_problem(missing, 404, detail_has="no price with id 'nope'")
    assert_problem(await client.get("/v1/prices/nope/projection"), 401, detail_has="Bearer")
    wrong = auth("catalog:read", subject="key-catalog")
    problem = assert_problem(await client.get("/v1/prices/nope/projection", headers=wrong), 403)
    assert problem["required_scope"] == "pricing:read"
