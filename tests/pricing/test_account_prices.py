"""Price lists scoped to an account, over HTTP on SQLite and PostgreSQL: the account's own
list answers when it has a price in effect, else the requested list, promotions and all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shared.events import decode
from shared.tables import outbox
from tests.pricing.conftest import (
    BOSS,
    PM,
    PM_WHO_APPROVES,
    READ,
    FakeClock,
    add_product,
    approve,
    make_list,
    propose,
    publish,
    settle,
)
from tests.support import assert_problem

ACCOUNT_RULE = "must be 1-128 of A-Z, a-z, 0-9, '.', '_', ':' or '-'"


async def price_for(
    client: httpx.AsyncClient, product_id: str, price_list: str = "eu-web", **params: Any
) -> httpx.Response:
    return await client.get(
        f"/v1/products/{product_id}/price",
        params={"price_list": price_list, **params},
        headers=READ,
    )


async def answer(client: httpx.AsyncClient, product_id: str, **params: Any) -> tuple[Any, ...]:
    resp = await price_for(client, product_id, **params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return body["price_list"], body["amount"], body["account"], body["source"]


async def account_events(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.runtime.db.reader() as session:
        rows = await session.execute(
            select(outbox.c.payload)
            .where(outbox.c.type == "pricing.price_list.account_changed.v1")
            .order_by(outbox.c.seq)
        )
        return [decode(payload).data for payload in rows.scalars()]


@pytest.fixture
async def product_id(app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> str:
    await make_list(client)
    acme = await make_list(client, "acme-eur", account="acme", channel="b2b")
    assert acme["account"] == "acme"
    product_id = await add_product(app, clock)
    await publish(client, app, clock, await propose(client, product_id, "20.00"))
    return product_id


async def test_the_accounts_list_answers_once_it_has_a_price(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    # acme's list has no price for the product yet: everyone's price.
    assert await answer(client, product_id, account="acme") == (
        "eu-web",
        "20.00",
        None,
        "requested",
    )
    # Four eyes as on any list: proposed by the PM, approved by someone else.
    own = await propose(client, product_id, "17.00", price_list="acme-eur")
    assert await answer(client, product_id, account="acme") == (
        "eu-web",
        "20.00",
        None,
        "requested",
    )
    await publish(client, app, clock, own)

    assert await answer(client, product_id, account="acme") == (
        "acme-eur",
        "17.00",
        "acme",
        "account",
    )
    # Another account, one with no list at all, and no account: everyone's price.
    assert await answer(client, product_id, account="gamma") == (
        "eu-web",
        "20.00",
        None,
        "requested",
    )
    assert await answer(client, product_id) == ("eu-web", "20.00", None, "requested")
    # The account's list asked for by code.
    assert await answer(client, product_id, price_list="acme-eur", account="acme") == (
        "acme-eur",
        "17.00",
        "acme",
        "account",
    )
    assert await answer(client, product_id, price_list="acme-eur") == (
        "acme-eur",
        "17.00",
        "acme",
        "requested",
    )
    # Each list's price, with the account it is for.
    listing = await client.get(f"/v1/products/{product_id}/effective-prices", headers=READ)
    assert [(p["price_list"], p["account"]) for p in listing.json()["items"]] == [
        ("acme-eur", "acme"),
        ("eu-web", None),
    ]


async def test_promotions_apply_within_the_list_that_answers(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    start = clock() + timedelta(days=1)
    window = {"valid_from": start.isoformat(), "valid_to": (start + timedelta(days=7)).isoformat()}
    sale = await propose(client, product_id, "15.00", kind="promotion", reason="sale", **window)
    await approve(client, sale)
    own = await propose(client, product_id, "17.00", price_list="acme-eur")
    await publish(client, app, clock, own)
    clock.now = start
    await settle(app, clock)

    # The storefront's promotion reaches everyone on eu-web...
    assert await answer(client, product_id, account="gamma") == (
        "eu-web",
        "15.00",
        None,
        "requested",
    )
    # ... but acme pays its own price, which its list answers.
    assert await answer(client, product_id, account="acme") == (
        "acme-eur",
        "17.00",
        "acme",
        "account",
    )
    # A promotion on acme's list is acme's.
    acme_sale = await propose(
        client,
        product_id,
        "14.00",
        price_list="acme-eur",
        kind="promotion",
        reason="acme volume deal",
        valid_to=(start + timedelta(days=3)).isoformat(),
    )
    await publish(client, app, clock, acme_sale)
    resp = await price_for(client, product_id, account="acme")
    assert (resp.json()["kind"], resp.json()["amount"]) == ("promotion", "14.00")
    assert resp.json()["prior_price"] == "17.00"


async def test_an_account_list_in_another_currency_does_not_answer(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    await make_list(client, "acme-usd", currency="USD", account="acme")
    usd = await propose(client, product_id, "18.00", price_list="acme-usd")
    await publish(client, app, clock, usd)
    assert await answer(client, product_id, account="acme") == (
        "eu-web",
        "20.00",
        None,
        "requested",
    )


@pytest.mark.parametrize(
    ("params", "status", "detail", "errors"),
    [
        (
            {"account": "acme gmbh"},
            422,
            "String should match pattern",
            [{"loc": ["query", "account"], "msg": "String should match pattern"}],
        ),
        ({"account": "a" * 129}, 422, "String should match pattern", None),
        ({"account": ""}, 422, "String should match pattern", None),
        (
            {"account": "beta", "price_list": "acme-eur"},
            422,
            "scoped to another account",
            [{"loc": ["query", "account"], "msg": "scoped to another account"}],
        ),
        ({"account": "acme", "price_list": "nope"}, 422, "unknown price list", None),
    ],
)
async def test_bad_account_queries_are_problems(
    client: httpx.AsyncClient,
    product_id: str,
    params: dict[str, str],
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None,
) -> None:
    problem = assert_problem(
        await price_for(client, product_id, **params), status, detail_has=detail
    )
    if errors is not None:
        assert [e["loc"] for e in problem["errors"]] == [e["loc"] for e in errors]
        assert errors[0]["msg"] in problem["errors"][0]["msg"]


async def test_no_price_anywhere_is_not_found_for_an_account(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    other = await add_product(app, clock)
    assert_problem(await price_for(client, other, account="acme"), 404, detail_has="has no price")


async def test_a_list_for_an_account_is_created_and_rescoped_with_events(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_list(client, "acme-eur", account="acme")
    # One list per account and currency; another currency is another list.
    taken = await client.post(
        "/v1/price-lists",
        json={"code": "acme-2", "currency": "EUR", "channel": "web", "account": "acme"},
        headers=PM,
    )
    problem = assert_problem(taken, 409, detail_has="already has price list 'acme-eur' in EUR")
    assert (problem["account"], problem["price_list"]) == ("acme", "acme-eur")
    await make_list(client, "acme-usd", currency="USD", account="acme")
    unscoped = await make_list(client, "beta-eur")
    assert unscoped["account"] is None

    # Rescope beta-eur to beta, then to acme (taken), then back to everyone.
    resp = await client.patch(
        "/v1/price-lists/beta-eur", json={"account": "beta"}, headers={**PM, "If-Match": '"1"'}
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["account"], resp.json()["channel"], resp.json()["version"]) == (
        "beta",
        "web",
        2,
    )
    clash = await client.patch("/v1/price-lists/beta-eur", json={"account": "acme"}, headers=PM)
    assert_problem(clash, 409, detail_has="account 'acme' already has")
    # Its own account again changes nothing but the version, and says nothing.
    same = await client.patch("/v1/price-lists/beta-eur", json={"account": "beta"}, headers=PM)
    assert same.json()["version"] == 3
    cleared = await client.patch(
        "/v1/price-lists/beta-eur", json={"account": None, "channel": "app"}, headers=PM
    )
    assert (cleared.json()["account"], cleared.json()["channel"]) == (None, "app")
    fetched = await client.get("/v1/price-lists/acme-usd", headers=READ)
    assert fetched.json()["account"] == "acme"

    events = await account_events(app)
    assert [(e["price_list"], e["previous_account"], e["account"]) for e in events] == [
        ("acme-eur", None, "acme"),
        ("acme-usd", None, "acme"),
        ("beta-eur", None, "beta"),
        ("beta-eur", "beta", None),
    ]
    assert events[-1]["changed_by"] == "key-pm"
    assert (events[-1]["channel"], events[-1]["version"]) == ("app", 4)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"account": "acme gmbh"}, "account: String should match pattern"),
        ({"account": 7}, "account: Input should be a valid string"),
        ({"account": "x" * 129}, "account: String should match pattern"),
    ],
)
async def test_bad_accounts_on_lists_are_problems(
    client: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    base = {"code": "x-eur", "currency": "EUR", "channel": "web"}
    created = await client.post("/v1/price-lists", json=base | body, headers=PM)
    problem = assert_problem(created, 422, detail_has=detail)
    assert problem["errors"][0]["loc"] == ["body", "account"]
    await make_list(client, "x-eur")
    patched = await client.patch("/v1/price-lists/x-eur", json=body, headers=PM)
    assert_problem(patched, 422, detail_has=detail)


async def test_an_update_must_change_something(client: httpx.AsyncClient) -> None:
    await make_list(client)
    for body in ({}, {"channel": None}):
        resp = await client.patch("/v1/price-lists/eu-web", json=body, headers=PM)
        assert_problem(resp, 422, detail_has="channel")


async def test_an_account_lists_guardrails_and_four_eyes_hold(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await make_list(client, "acme-eur", account="acme", guardrails={"floor": "15.00"})
    product_id = await add_product(app, clock)
    cheap = await propose(client, product_id, "14.00", price_list="acme-eur")
    assert [v["code"] for v in cheap["guardrail_violations"]] == ["below_floor"]
    # The proposer cannot approve it, whatever list it is on.
    own = await client.post(
        f"/v1/prices/{cheap['id']}/approve",
        json={"override_reason": "deal"},
        headers=PM_WHO_APPROVES,
    )
    assert_problem(own, 403, detail_has="you proposed this price")
    # Broken guardrails need an override reason, as on any list.
    bare = await client.post(f"/v1/prices/{cheap['id']}/approve", headers=BOSS)
    assert_problem(bare, 422, detail_has="override_reason")
