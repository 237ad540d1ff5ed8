"""Price lists over HTTP: create, read, list, change the channel, and every error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.pagination import encode_cursor
from tests.pricing.conftest import PM, READ, make_list
from tests.support import assert_problem, auth

GUARDED = {
    "min_margin_pct": "20",
    "max_change_pct": "12.5",
    "floor": "5",
    "ceiling": "250.00",
}


async def test_create_price_list(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/v1/price-lists",
        json={"code": "eu-web", "currency": "EUR", "channel": "web", "guardrails": GUARDED},
        headers=PM,
    )
    assert resp.status_code == 201, resp.text
    made = resp.json()
    assert resp.headers["Location"] == "/v1/price-lists/eu-web"
    assert resp.headers["ETag"] == '"1"'
    assert made["code"] == "eu-web"
    assert made["currency"] == "EUR"
    assert made["minor_units"] == 2
    assert made["channel"] == "web"
    # Decimal strings, never numbers; amounts in the currency's decimals.
    assert made["guardrails"] == {
        "min_margin_pct": "20",
        "max_change_pct": "12.5",
        "floor": "5.00",
        "ceiling": "250.00",
    }
    assert made["version"] == 1

    fetched = await client.get("/v1/price-lists/eu-web", headers=READ)
    assert fetched.status_code == 200
    assert fetched.json() == made
    assert fetched.headers["ETag"] == '"1"'


async def test_guardrails_are_optional(client: httpx.AsyncClient) -> None:
    made = await make_list(client, "jp-shop", currency="JPY", channel="marketplace")
    assert made["minor_units"] == 0
    assert made["guardrails"] == dict.fromkeys(GUARDED)


async def test_duplicate_code_is_a_conflict(client: httpx.AsyncClient) -> None:
    await make_list(client)
    resp = await client.post(
        "/v1/price-lists", json={"code": "eu-web", "currency": "USD", "channel": "b2b"}, headers=PM
    )
    problem = assert_problem(resp, 409, detail_has="'eu-web' already exists")
    assert problem["code"] == "eu-web"


@pytest.mark.parametrize(
    ("overrides", "loc", "detail"),
    [
        ({"currency": "XYZ"}, ["body", "currency"], "unknown currency 'XYZ'"),
        ({"currency": "eur"}, ["body", "currency"], "unknown currency"),
        ({"currency": 978}, ["body", "currency"], "body.currency"),
        ({"code": "EU Web!"}, ["body", "code"], "body.code"),
        ({"code": ""}, ["body", "code"], "body.code"),
        ({"channel": "w" * 65}, ["body", "channel"], "body.channel"),
        ({"channel": None}, ["body", "channel"], "body.channel"),
        ({"version": 3}, ["body", "version"], "Extra inputs"),
        (
            {"guardrails": {"min_margin_pct": 20}},
            ["body", "guardrails", "min_margin_pct"],
            "percentage",
        ),
        (
            {"guardrails": {"min_margin_pct": "20.125"}},
            ["body", "guardrails", "min_margin_pct"],
            "percentage",
        ),
        (
            {"guardrails": {"min_margin_pct": "-5"}},
            ["body", "guardrails", "min_margin_pct"],
            "percentage",
        ),
        (
            {"guardrails": {"min_margin_pct": "101"}},
            ["body", "guardrails", "min_margin_pct"],
            "less than or equal to 100",
        ),
        (
            {"guardrails": {"max_change_pct": "0"}},
            ["body", "guardrails", "max_change_pct"],
            "greater than 0",
        ),
        ({"guardrails": {"floor": 5.5}}, ["body", "guardrails", "floor"], "decimal string"),
        ({"guardrails": {"floor": "NaN"}}, ["body", "guardrails", "floor"], "decimal string"),
        ({"guardrails": {"floor": "1e2"}}, ["body", "guardrails", "floor"], "decimal string"),
        ({"guardrails": {"floor": "-1"}}, ["body", "guardrails", "floor"], "decimal string"),
        (
            {"guardrails": {"floor": "1.005"}},
            ["body", "guardrails", "floor"],
            "EUR amounts have at most 2 decimals",
        ),
        (
            {"currency": "JPY", "guardrails": {"ceiling": "100.5"}},
            ["body", "guardrails", "ceiling"],
            "JPY amounts have no decimals",
        ),
        (
            {"guardrails": {"floor": "10", "ceiling": "9.99"}},
            ["body", "guardrails", "ceiling"],
            "ceiling must not be below floor",
        ),
        ({"guardrails": {"cap": "1"}}, ["body", "guardrails", "cap"], "Extra inputs"),
    ],
)
async def test_invalid_price_lists_are_rejected(
    client: httpx.AsyncClient, overrides: dict[str, Any], loc: list[str], detail: str
) -> None:
    body = {"code": "eu-web", "currency": "EUR", "channel": "web", **overrides}
    resp = await client.post("/v1/price-lists", json=body, headers=PM)
    problem = assert_problem(resp, 422, detail_has=detail)
    assert loc in [error["loc"] for error in problem["errors"]]
    assert (await client.get("/v1/price-lists", headers=READ)).json()["items"] == []


async def test_list_price_lists_by_code_with_pagination_and_channel(
    client: httpx.AsyncClient,
) -> None:
    for code, channel in [("c-list", "web"), ("a-list", "web"), ("b-list", "b2b")]:
        await make_list(client, code, channel=channel)
    first = (await client.get("/v1/price-lists", params={"limit": 2}, headers=READ)).json()
    assert [p["code"] for p in first["items"]] == ["a-list", "b-list"]
    rest = await client.get(
        "/v1/price-lists", params={"limit": 2, "cursor": first["next_cursor"]}, headers=READ
    )
    assert [p["code"] for p in rest.json()["items"]] == ["c-list"]
    assert rest.json()["next_cursor"] is None
    web = await client.get("/v1/price-lists", params={"channel": "web"}, headers=READ)
    assert [p["code"] for p in web.json()["items"]] == ["a-list", "c-list"]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"cursor": "!!"}, "cursor is malformed"),
        ({"cursor": encode_cursor([1])}, "cursor is malformed"),
        ({"cursor": encode_cursor(["a", "b"])}, "cursor is malformed"),
    ],
)
async def test_invalid_list_queries_are_rejected(
    client: httpx.AsyncClient, params: dict[str, Any], detail: str
) -> None:
    resp = await client.get("/v1/price-lists", params=params, headers=READ)
    assert_problem(resp, 422, detail_has=detail)


async def test_a_cursor_not_made_for_the_list_is_422_with_the_field(
    client: httpx.AsyncClient,
) -> None:
    for code in ("a-list", "b-list"):
        await make_list(client, code)
    first = (await client.get("/v1/price-lists", params={"limit": 1}, headers=READ)).json()
    # A price list's cursor has the shape of a price's (one string), not its order.
    for url, cursor in (
        ("/v1/prices", first["next_cursor"]),
        ("/v1/price-lists", encode_cursor([True])),
        ("/v1/prices", "%%%"),
    ):
        resp = await client.get(url, params={"cursor": cursor}, headers=READ)
        problem = assert_problem(resp, 422, detail_has="cursor is malformed")
        assert problem["errors"] == [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]


async def test_unknown_price_list_is_not_found(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/price-lists/nope", headers=READ), 404, detail_has="'nope'")
    patch = await client.patch("/v1/price-lists/nope", json={"channel": "web"}, headers=PM)
    assert_problem(patch, 404)


async def test_update_channel_with_if_match(client: httpx.AsyncClient) -> None:
    await make_list(client, guardrails=GUARDED)
    resp = await client.patch(
        "/v1/price-lists/eu-web", json={"channel": "app"}, headers={**PM, "If-Match": '"1"'}
    )
    assert resp.status_code == 200, resp.text
    changed = resp.json()
    assert resp.headers["ETag"] == '"2"'
    assert (changed["version"], changed["channel"]) == (2, "app")
    assert changed["guardrails"]["min_margin_pct"] == GUARDED["min_margin_pct"]
    stale = await client.patch(
        "/v1/price-lists/eu-web", json={"channel": "web"}, headers={**PM, "If-Match": '"1"'}
    )
    problem = assert_problem(stale, 412, detail_has="version 2")
    assert problem["current_version"] == 2
    bad = await client.patch(
        "/v1/price-lists/eu-web", json={"channel": "web"}, headers={**PM, "If-Match": "two"}
    )
    assert_problem(bad, 422, detail_has="If-Match")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "give channel, account or both"),
        ({"currency": "USD", "channel": "web"}, "Extra inputs"),
        ({"code": "other", "channel": "web"}, "Extra inputs"),
        # Guardrails change only through a guardrail change (who, why, four eyes to loosen).
        ({"guardrails": {}, "channel": "web"}, "Extra inputs"),
    ],
)
async def test_invalid_updates_are_rejected(
    client: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    await make_list(client)
    resp = await client.patch("/v1/price-lists/eu-web", json=body, headers=PM)
    assert_problem(resp, 422, detail_has=detail)


async def test_idempotent_create_replays(client: httpx.AsyncClient) -> None:
    headers = {**PM, "Idempotency-Key": "list-1"}
    body = {"code": "eu-web", "currency": "EUR", "channel": "web"}
    first = await client.post("/v1/price-lists", json=body, headers=headers)
    again = await client.post("/v1/price-lists", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post("/v1/price-lists", json={**body, "code": "other"}, headers=headers)
    assert_problem(other, 422, detail_has="different request body")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/price-lists", {"code": "x", "currency": "EUR", "channel": "web"}),
        ("GET", "/v1/price-lists", None),
        ("GET", "/v1/price-lists/eu-web", None),
        ("PATCH", "/v1/price-lists/eu-web", {"channel": "web"}),
    ],
)
async def test_scopes_are_enforced(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    anonymous = await client.request(method, path, json=body)
    assert_problem(anonymous, 401, detail_has="Bearer")
    wrong = auth("catalog:read catalog:write", subject="key-catalog")
    problem = assert_problem(await client.request(method, path, json=body, headers=wrong), 403)
    needed = "pricing:read" if method == "GET" else "pricing:write"
    assert problem["required_scope"] == needed
    if method != "GET":
        # Reading is not writing.
        assert_problem(await client.request(method, path, json=body, headers=READ), 403)
