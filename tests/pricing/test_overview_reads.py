"""The reads the gateway's composed views make: the effective price on every list of a
product (`GET /v1/products/{id}/effective-prices`) and prices counted by status
(`GET /v1/prices/stats`)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from tests.pricing.conftest import (
    PM,
    READ,
    FakeClock,
    add_product,
    approve,
    make_list,
    propose,
    publish,
)
from tests.support import assert_problem, auth


async def effective(client: httpx.AsyncClient, product_id: str, **params: str) -> dict:
    response = await client.get(
        f"/v1/products/{product_id}/effective-prices", params=params, headers=READ
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_price_in_effect_on_each_list_by_code_and_lists_without_one_left_out(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    for code in ("eu-web", "eu-shop", "us-web"):
        await make_list(client, code=code, currency="USD" if code == "us-web" else "EUR")
    product_id = await add_product(app, clock)
    web = await propose(client, product_id, "19.90")
    await publish(client, app, clock, web)
    shop = await propose(client, product_id, "18.50", price_list="eu-shop")
    await publish(client, app, clock, shop)
    promo = await propose(
        client,
        product_id,
        "15.00",
        kind="promotion",
        valid_to=(clock() + timedelta(days=3)).isoformat(),
    )
    await publish(client, app, clock, promo)
    # Proposed only: nothing in effect on us-web, so the list is left out.
    await propose(client, product_id, "21.00", price_list="us-web")

    page = await effective(client, product_id)

    assert [(p["price_list"], p["kind"], p["amount"]) for p in page["items"]] == [
        ("eu-shop", "base", "18.50"),
        ("eu-web", "promotion", "15.00"),
    ]
    for item in page["items"]:
        params = {"price_list": item["price_list"], "at": item["at"]}
        one = await client.get(f"/v1/products/{product_id}/price", params=params, headers=READ)
        assert one.json() == item  # the same answer as the one-list read
    assert page["next_cursor"] is None
    first = await effective(client, product_id, limit="1")
    assert [p["price_list"] for p in first["items"]] == ["eu-shop"]
    rest = await effective(client, product_id, limit="1", cursor=first["next_cursor"])
    assert [p["price_list"] for p in rest["items"]] == ["eu-web"]
    # `at` reads the schedule at another moment: before any approval, nothing was in effect.
    before = await effective(client, product_id, at=(clock() - timedelta(days=1)).isoformat())
    assert before["items"] == []


async def test_a_product_pricing_never_heard_of_has_no_effective_prices(
    client: httpx.AsyncClient,
) -> None:
    assert (await effective(client, "unknown"))["items"] == []


async def test_effective_prices_errors(client: httpx.AsyncClient) -> None:
    path = "/v1/products/p1/effective-prices"
    naive = await client.get(path, params={"at": "2030-01-01T00:00:00"}, headers=READ)
    assert assert_problem(naive, 422)["errors"][0]["loc"] == ["query", "at"]
    bad_cursor = await client.get(path, params={"cursor": "nonsense"}, headers=READ)
    assert assert_problem(bad_cursor, 422)["errors"][0]["loc"] == ["query", "cursor"]
    assert_problem(await client.get(path), 401)
    denied = await client.get(path, headers=auth("catalog:read"))
    assert assert_problem(denied, 403)["required_scope"] == "pricing:read"


async def test_prices_counted_by_status_with_the_proposals_waiting(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await make_list(client)
    product_id = await add_product(app, clock)
    await approve(client, await propose(client, product_id, "19.90"))
    await propose(client, product_id, "18.90")
    await propose(client, product_id, "17.90")
    withdrawn = await propose(client, product_id, "16.90")
    response = await client.post(f"/v1/prices/{withdrawn['id']}/withdraw", headers=PM)
    assert response.status_code == 200, response.text

    response = await client.get("/v1/prices/stats", headers=READ)

    assert response.status_code == 200, response.text
    counted = response.json()
    assert counted["waiting_for_approval"] == 2
    assert counted["by_status"]["proposed"] == 2
    assert counted["by_status"]["withdrawn"] == 1
    assert counted["by_status"]["approved"] + counted["by_status"]["published"] == 1
    assert counted["by_status"]["rejected"] == 0
    assert counted["by_status"]["expired"] == 0


async def test_price_stats_errors(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/prices/stats"), 401)
    denied = await client.get("/v1/prices/stats", headers=auth("pricing:write"))
    assert assert_problem(denied, 403)["required_scope"] == "pricing:read"
