"""The effective price, the Omnibus prior price, price history and a discontinued
product, over HTTP, with the scheduler publishing as the clock moves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.pagination import encode_cursor
from tests.pricing.conftest import (
    READ,
    FakeClock,
    add_product,
    approve,
    deliver,
    lifecycle_changed,
    make_list,
    outbox_types,
    propose,
    publish,
    settle,
)
from tests.support import assert_problem, auth


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def price_at(
    client: httpx.AsyncClient, product_id: str, at: datetime | None = None, **params: Any
) -> httpx.Response:
    query = {"price_list": "eu-web", **params}
    if at is not None:
        query["at"] = iso(at)
    return await client.get(f"/v1/products/{product_id}/price", params=query, headers=READ)


@pytest.fixture
async def product_id(app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> str:
    await make_list(client)
    return await add_product(app, clock)


async def test_the_published_base_price_is_effective(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    price = await propose(client, product_id, "19.90")
    assert_problem(await price_at(client, product_id), 404, detail_has="has no price")
    await publish(client, app, clock, price)
    resp = await price_at(client, product_id)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "product_id": product_id,
        "price_list": "eu-web",
        "at": iso(clock()).replace("+00:00", "Z"),
        "price_id": price["id"],
        "kind": "base",
        "amount": "19.90",
        "currency": "EUR",
        "valid_from": price["valid_from"],
        "valid_to": None,
        "effective_from": resp.json()["effective_from"],
        "effective_to": None,
        "prior_price": None,
        "account": None,
        "source": "requested",
    }
    fetched = (await client.get(f"/v1/prices/{price['id']}", headers=READ)).json()
    assert fetched["status"] == "published"
    assert fetched["published_at"] is not None
    # Approved after its valid_from (the default: now): in effect from the approval on.
    assert resp.json()["effective_from"] == fetched["decided_at"]
    assert await outbox_types(app, product_id) == [
        "pricing.price.proposed.v1",
        "pricing.price.approved.v1",
        "pricing.price.published.v1",
    ]


async def test_a_scheduled_price_publishes_when_its_time_comes(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    start = clock() + timedelta(days=2)
    price = await propose(client, product_id, "21.00", valid_from=iso(start))
    await approve(client, price)
    await settle(app, clock)
    assert (await client.get(f"/v1/prices/{price['id']}", headers=READ)).json()["status"] == (
        "approved"
    )
    assert_problem(await price_at(client, product_id), 404)
    # The planned price is already answerable for a future moment.
    planned = await price_at(client, product_id, start)
    assert planned.json()["amount"] == "21.00"

    clock.now = start
    await settle(app, clock)
    fetched = (await client.get(f"/v1/prices/{price['id']}", headers=READ)).json()
    assert fetched["status"] == "published"
    assert fetched["published_at"] == iso(start).replace("+00:00", "Z")
    assert (await price_at(client, product_id)).json()["price_id"] == price["id"]


async def test_latest_start_wins_and_an_ending_price_gives_way(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    t0 = clock()
    first = await propose(client, product_id, "20.00")
    second = await propose(
        client,
        product_id,
        "22.00",
        valid_from=iso(t0 + timedelta(days=5)),
        valid_to=iso(t0 + timedelta(days=10)),
    )
    for price in (first, second):
        await approve(client, price)
    await settle(app, clock)

    async def amount(day: float) -> str:
        resp = await price_at(client, product_id, t0 + timedelta(days=day))
        return resp.json()["amount"]

    assert [await amount(d) for d in (1, 5, 9.9, 10, 30)] == [
        "20.00",
        "22.00",
        "22.00",
        "20.00",
        "20.00",
    ]
    clock.advance(days=10)
    await settle(app, clock)
    second_now = (await client.get(f"/v1/prices/{second['id']}", headers=READ)).json()
    assert second_now["status"] == "expired"
    assert second_now["close_reason"] == "valid_to reached"
    assert (await price_at(client, product_id)).json()["amount"] == "20.00"
    assert (await outbox_types(app, product_id)).count("pricing.price.expired.v1") == 1


async def test_a_promotion_wins_and_shows_the_omnibus_prior_price(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    t0 = clock()
    for day, amount in ((0, "20.00"), (10, "18.00"), (20, "22.00")):
        clock.now = t0 + timedelta(days=day)
        await publish(client, app, clock, await propose(client, product_id, amount))
    clock.now = t0 + timedelta(days=25)
    promo = await propose(
        client,
        product_id,
        "17.00",
        kind="promotion",
        valid_from=iso(t0 + timedelta(days=26)),
        valid_to=iso(t0 + timedelta(days=33)),
        reason="spring sale",
    )
    await approve(client, promo)
    clock.now = t0 + timedelta(days=26)
    await settle(app, clock)

    resp = await price_at(client, product_id)
    body = resp.json()
    assert (body["kind"], body["amount"], body["price_id"]) == ("promotion", "17.00", promo["id"])
    # The lowest price of the 30 days before day 26: 18.00 (days 10-20).
    assert body["prior_price"] == "18.00"
    assert body["valid_to"] == iso(t0 + timedelta(days=33)).replace("+00:00", "Z")

    # History answers for any moment.
    at_day_5 = await price_at(client, product_id, t0 + timedelta(days=5))
    assert at_day_5.json()["amount"] == "20.00"

    clock.now = t0 + timedelta(days=33)
    await settle(app, clock)
    after = (await price_at(client, product_id)).json()
    assert (after["kind"], after["amount"], after["prior_price"]) == ("base", "22.00", None)


async def test_a_second_promotion_inside_30_days_takes_the_first_as_prior(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    t0 = clock()
    await publish(client, app, clock, await propose(client, product_id, "30.00"))
    first = await propose(
        client,
        product_id,
        "24.00",
        kind="promotion",
        valid_from=iso(t0 + timedelta(days=1)),
        valid_to=iso(t0 + timedelta(days=4)),
    )
    second = await propose(
        client,
        product_id,
        "25.00",
        kind="promotion",
        valid_from=iso(t0 + timedelta(days=10)),
        valid_to=iso(t0 + timedelta(days=12)),
    )
    for price in (first, second):
        await approve(client, price)
    resp = await price_at(client, product_id, t0 + timedelta(days=11))
    assert resp.json()["amount"] == "25.00"
    assert resp.json()["prior_price"] == "24.00"


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"price_list": None}, 422, "query.price_list"),
        ({"price_list": "nope"}, 422, "unknown price list 'nope'"),
        ({"at": "2030-03-01T10:00:00"}, 422, "query.at"),
        ({"at": "yesterday"}, 422, "query.at"),
        # Pydantic alone reads a number as seconds since 1970 (schemathesis found it).
        ({"at": "0.5"}, 422, "not an RFC 3339 date-time"),
    ],
)
async def test_effective_price_errors(
    client: httpx.AsyncClient,
    product_id: str,
    params: dict[str, Any],
    status: int,
    detail: str,
) -> None:
    query = {k: v for k, v in {"price_list": "eu-web", **params}.items() if v is not None}
    resp = await client.get(f"/v1/products/{product_id}/price", params=query, headers=READ)
    problem = assert_problem(resp, status, detail_has=detail)
    assert problem["errors"]


async def test_unknown_product_has_no_price(client: httpx.AsyncClient, product_id: str) -> None:
    resp = await price_at(client, "never-heard-of")
    assert_problem(resp, 404, detail_has="no product with id 'never-heard-of'")


# --- history ------------------------------------------------------------------------------------


async def test_history_tells_who_why_and_what_was_replaced(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    first = await propose(client, product_id, "20.00", reason="launch price")
    await publish(client, app, clock, first)
    clock.advance(days=3)
    cheaper = await propose(client, product_id, "8.00", reason="clear the stock")
    await approve(client, cheaper, override="end of line, approved by finance")
    await settle(app, clock)
    await propose(client, product_id, "30.00")  # never published: not in the history

    resp = await client.get(f"/v1/products/{product_id}/price-history", headers=READ)
    assert resp.status_code == 200, resp.text
    latest, oldest = resp.json()["items"]
    assert latest["price_id"] == cheaper["id"]
    assert latest["amount"] == "8.00"
    assert latest["status"] == "published"
    assert latest["reason"] == "clear the stock"
    assert latest["proposed_by"] == {"subject": "key-pm", "name": "tester"}
    assert latest["approved_by"] == {"subject": "key-boss", "name": "tester"}
    assert latest["override_reason"] == "end of line, approved by finance"
    assert [v["code"] for v in latest["guardrail_violations"]] == ["below_cost"]
    assert latest["replaces"] == {"price_id": first["id"], "kind": "base", "amount": "20.00"}
    assert latest["change_pct"] == "-60"
    assert oldest["price_id"] == first["id"]
    assert oldest["reason"] == "launch price"
    assert oldest["replaces"] is None
    assert oldest["change_pct"] is None


async def test_history_pages_and_filters_by_list(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    await make_list(client, "eu-app", channel="app")
    made = []
    for n, code in enumerate(["eu-web", "eu-app", "eu-web", "eu-web"]):
        clock.advance(hours=1)
        price = await propose(client, product_id, f"{20 + n}.00", price_list=code)
        made.append(await publish(client, app, clock, price))
    url = f"/v1/products/{product_id}/price-history"
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(url, params=params, headers=READ)).json()
        seen += [entry["price_id"] for entry in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == [p["id"] for p in reversed(made)]
    web = (await client.get(url, params={"price_list": "eu-web"}, headers=READ)).json()
    assert [e["price_id"] for e in web["items"]] == [made[3]["id"], made[2]["id"], made[0]["id"]]
    # On its own list, each price replaced the one before it on that list.
    assert web["items"][1]["replaces"]["price_id"] == made[0]["id"]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"cursor": "!!"}, "cursor is malformed"),
        ({"cursor": encode_cursor(["2030-03-01T00:00:00+00:00"])}, "cursor is malformed"),
        ({"cursor": encode_cursor(["not a time", "x"])}, "cursor is malformed"),
        ({"cursor": encode_cursor(["2030-03-01T00:00:00", "x"])}, "cursor is malformed"),
        ({"cursor": encode_cursor([1, 2])}, "cursor is malformed"),
        ({"limit": 0}, "query.limit"),
        ({"price_list": "x" * 65}, "query.price_list"),
    ],
)
async def test_history_query_errors(
    client: httpx.AsyncClient, product_id: str, params: dict[str, Any], detail: str
) -> None:
    url = f"/v1/products/{product_id}/price-history"
    assert_problem(await client.get(url, params=params, headers=READ), 422, detail_has=detail)


async def test_history_of_an_unknown_product(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/products/nope/price-history", headers=READ)
    assert_problem(resp, 404, detail_has="no product with id 'nope'")


# --- a discontinued product ---------------------------------------------------------------------


async def test_a_discontinued_product_loses_its_prices(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    t0 = clock()
    live = await publish(client, app, clock, await propose(client, product_id, "20.00"))
    planned = await propose(client, product_id, "21.00", valid_from=iso(t0 + timedelta(days=3)))
    await approve(client, planned)
    open_one = await propose(client, product_id, "19.00")
    clock.advance(days=1)

    await deliver(app, lifecycle_changed(product_id, "discontinued", version=2, at=clock()))

    async def state(price: dict) -> dict:
        return (await client.get(f"/v1/prices/{price['id']}", headers=READ)).json()

    live_now, planned_now, open_now = [await state(p) for p in (live, planned, open_one)]
    assert (live_now["status"], live_now["close_reason"]) == ("expired", "product discontinued")
    assert live_now["effective_to"] == iso(clock()).replace("+00:00", "Z")
    assert planned_now["status"] == "expired"
    assert planned_now["effective_to"] == planned_now["effective_from"]  # never in effect
    assert (open_now["status"], open_now["close_reason"]) == ("withdrawn", "product discontinued")
    assert_problem(await price_at(client, product_id), 404)
    assert (await price_at(client, product_id, t0 + timedelta(hours=1))).json()["amount"] == (
        "20.00"
    )
    assert_problem(await price_at(client, product_id, t0 + timedelta(days=4)), 404)
    assert (await outbox_types(app, product_id))[-3:] == [
        "pricing.price.expired.v1",
        "pricing.price.expired.v1",
        "pricing.price.withdrawn.v1",
    ]
    # Nothing is left for the scheduler: the planned price will not come back.
    clock.advance(days=5)
    await settle(app, clock)
    assert (await state(planned))["status"] == "expired"


@pytest.mark.parametrize(
    "path", ["/v1/products/p/price?price_list=x", "/v1/products/p/price-history"]
)
async def test_reads_need_pricing_read(client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await client.get(path), 401)
    assert_problem(await client.get(path, headers=auth("catalog:read", subject="k")), 403)
    problem = assert_problem(
        await client.get(path, headers=auth("pricing:write pricing:approve")), 403
    )
    assert problem["required_scope"] == "pricing:read"
