"""Requirements and recommendations over HTTP, on SQLite and PostgreSQL, with every error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.catalog.events import registry
from services.catalog.requirements.domain import recommendation_id, requirement_key
from services.catalog.requirements.events import REQUIREMENT_IDENTIFIED
from services.catalog.requirements.handlers import handle_requirement_identified
from shared.events import new_event
from shared.pagination import decode_cursor, encode_cursor
from tests.catalog.conftest import BOTH, READ, WRITE, make_product, make_type, outbox_events, walk
from tests.support import assert_problem, auth

TEMP = "kettle with temperature control"
TEMP_ID = recommendation_id(requirement_key(TEMP))


@pytest.fixture
async def kettle(client: httpx.AsyncClient) -> dict[str, Any]:
    return await make_type(client, "kettle", ())


async def post_requirement(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/requirements", json=body, headers=WRITE)


async def record(client: httpx.AsyncClient, text: str = TEMP, **body: Any) -> dict[str, Any]:
    resp = await post_requirement(client, text=text, **body)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


async def feed(
    app: FastAPI,
    text: str,
    *,
    occurrences: int = 1,
    days_ago: float = 0,
    kind: str = "requirement",
    **data: Any,
) -> None:
    """A feedback event handled as the consumer would (minus the broker)."""
    event = new_event(
        source="/feedback",
        type=REQUIREMENT_IDENTIFIED,
        subject=data.get("product_id") or f"query:{requirement_key(text)}",
        data={
            "kind": kind,
            "text": text,
            "occurrences": occurrences,
            "occurred_at": (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
            **data,
        },
    )
    async with app.state.runtime.uow() as uow:
        await handle_requirement_identified(event, uow)


async def activate(client: httpx.AsyncClient, product_id: str) -> None:
    for to in ("incoming", "active"):
        resp = await client.post(
            f"/v1/products/{product_id}/lifecycle", json={"to": to}, headers=WRITE
        )
        assert resp.status_code == 200, resp.text


async def recommendations(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    resp = await client.get("/v1/recommendations", params=params, headers=READ)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


# --- recording requirements --------------------------------------------------------------------


async def test_create_requirement(client: httpx.AsyncClient) -> None:
    resp = await post_requirement(client, text="  Kettle with temperature control ", quote="40°C!")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert resp.headers["Location"] == f"/v1/requirements/{body['id']}"
    assert body["text"] == "Kettle with temperature control"
    assert body["key"] == "control kettle temperature"
    assert body["kind"] == "requirement"
    assert body["count"] == 1
    assert body["search_miss_count"] == 0
    assert body["quotes"] == ["40°C!"]
    assert body["first_seen"] == body["last_seen"]
    assert body["product_id"] is None
    assert body["product_type"] is None
    assert body["met"] is False
    assert body["origin"] == "person"
    assert body["created_by"] == {"subject": "key-test", "name": "tester"}
    assert body["recommendation_id"] == TEMP_ID
    assert body["version"] == 1

    fetched = await client.get(f"/v1/requirements/{body['id']}", headers=READ)
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_the_same_requirement_merges(client: httpx.AsyncClient) -> None:
    first = await record(client, quote="I want 80 degrees for tea")
    resp = await post_requirement(
        client, text="KETTLES with temperature-control!", quote="i want 80 degrees  for tea"
    )
    assert resp.status_code == 200, resp.text
    merged = resp.json()
    assert merged["id"] == first["id"]
    assert merged["count"] == 2
    assert merged["version"] == 2
    assert merged["text"] == TEMP  # the first wording stays
    assert merged["quotes"] == ["I want 80 degrees for tea"]  # the same quote, once
    assert merged["first_seen"] == first["first_seen"]
    assert merged["last_seen"] >= first["last_seen"]


async def test_targets_keep_requirements_apart(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    product = await make_product(client, attributes={})
    on_product = await record(client, product_id=product["id"])
    on_type = await record(client, product_type="kettle")
    anywhere = await record(client)
    assert len({on_product["id"], on_type["id"], anywhere["id"]}) == 3
    assert on_product["product_id"] == product["id"]
    assert on_product["product_type"] == "kettle"  # from the product
    assert on_type["product_id"] is None
    assert on_type["product_type"] == "kettle"
    both = await record(client, product_id=product["id"], product_type="kettle")
    assert both["id"] == on_product["id"]
    assert both["count"] == 2


async def test_create_is_idempotent_with_a_key(client: httpx.AsyncClient) -> None:
    headers = {**WRITE, "Idempotency-Key": "req-1"}
    body = {"text": TEMP}
    first = await client.post("/v1/requirements", json=body, headers=headers)
    again = await client.post("/v1/requirements", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert (await client.get(f"/v1/requirements/{first.json()['id']}", headers=READ)).json()[
        "count"
    ] == 1
    other = await client.post("/v1/requirements", json={"text": "other"}, headers=headers)
    assert_problem(other, 422, detail_has="different request body")


@pytest.mark.parametrize(
    ("body", "status", "detail", "loc"),
    [
        ({"text": "!!! ???"}, 422, "no words", ["body", "text"]),
        ({"text": "   "}, 422, "", ["body", "text"]),
        ({"text": "x" * 501}, 422, "", ["body", "text"]),
        ({"text": "kettle", "quote": "q" * 501}, 422, "", ["body", "quote"]),
        ({"text": "kettle", "count": 5}, 422, "", ["body", "count"]),
        ({}, 422, "", ["body", "text"]),
        (
            {"text": "kettle", "product_id": "0190f0e8-0000-7000-8000-000000000000"},
            422,
            "unknown product",
            ["body", "product_id"],
        ),
        (
            {"text": "kettle", "product_type": "toaster"},
            422,
            "unknown product type 'toaster'",
            ["body", "product_type"],
        ),
    ],
)
async def test_create_errors(
    client: httpx.AsyncClient,
    kettle: dict[str, Any],
    body: dict[str, Any],
    status: int,
    detail: str,
    loc: list[str],
) -> None:
    problem = assert_problem(await post_requirement(client, **body), status, detail_has=detail)
    assert loc in [error["loc"] for error in problem["errors"]]


async def test_product_and_type_must_agree(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    await make_type(client, "toaster", ())
    product = await make_product(client)
    resp = await post_requirement(
        client, text="kettle", product_id=product["id"], product_type="toaster"
    )
    problem = assert_problem(resp, 422, detail_has="is a 'kettle', not a 'toaster'")
    assert problem["errors"] == [{"loc": ["body", "product_type"], "msg": "not the product's type"}]


async def test_requirements_need_auth_and_scopes(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/v1/requirements", json={"text": "a"}), 401)
    assert_problem(await client.get("/v1/requirements"), 401)
    resp = await client.post("/v1/requirements", json={"text": "a"}, headers=READ)
    assert_problem(resp, 403, detail_has="catalog:write")
    resp = await client.get("/v1/requirements", headers=WRITE)
    assert_problem(resp, 403, detail_has="catalog:read")
    resp = await client.get("/v1/recommendations", headers=auth("feedback:read"))
    assert_problem(resp, 403, detail_has="catalog:read")
    resp = await client.get("/v1/requirements/some-id", headers=WRITE)
    assert_problem(resp, 403, detail_has="catalog:read")
    assert_problem(await client.get("/v1/recommendations/some-id"), 401)


async def test_unknown_requirement_is_not_found(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/requirements/nope", headers=READ)
    assert_problem(resp, 404, detail_has="no requirement with id 'nope'")


# --- listing requirements ----------------------------------------------------------------------


async def test_list_filters_and_sorts(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    product = await make_product(client)
    await record(client, "kettle with a longer cable", product_id=product["id"])
    await feed(app, "quiet kettle", occurrences=5, product_type="kettle", days_ago=3)
    await feed(app, "glass teapot", occurrences=3, kind="search_miss", days_ago=1)
    await feed(app, "glass teapot", occurrences=1, kind="search_miss", days_ago=0.01)

    by_count = await walk(client, "/v1/requirements")
    assert [item["text"] for item in by_count] == [
        "quiet kettle",
        "glass teapot",
        "kettle with a longer cable",
    ]
    by_recent = await walk(client, "/v1/requirements", sort="last_seen")
    assert [item["text"] for item in by_recent] == [
        "kettle with a longer cable",
        "glass teapot",
        "quiet kettle",
    ]
    search_misses = await walk(client, "/v1/requirements", kind="search_miss")
    assert [(item["text"], item["count"]) for item in search_misses] == [("glass teapot", 4)]
    assert search_misses[0]["origin"] == "feedback"
    assert search_misses[0]["created_by"] is None
    assert [i["text"] for i in await walk(client, "/v1/requirements", product_type="kettle")] == [
        "quiet kettle",
        "kettle with a longer cable",
    ]
    on_product = await walk(client, "/v1/requirements", product_id=product["id"])
    assert [item["text"] for item in on_product] == ["kettle with a longer cable"]
    assert [i["text"] for i in await walk(client, "/v1/requirements", q="TEAPOT")] == [
        "glass teapot"
    ]
    assert await walk(client, "/v1/requirements", q="100%") == []
    idea = recommendation_id("kettle quiet")
    assert [i["text"] for i in await walk(client, "/v1/requirements", recommendation_id=idea)] == [
        "quiet kettle"
    ]


@pytest.mark.parametrize("sort", ["count", "last_seen"])
async def test_pagination_is_stable_for_both_sorts(
    app: FastAPI, client: httpx.AsyncClient, sort: str
) -> None:
    # Ties on count and on last_seen: the id decides, and no row is lost or repeated.
    for n in range(7):
        await feed(app, f"gadget number{n}", occurrences=1 + n % 2, days_ago=n % 3)
    items = await walk(client, "/v1/requirements", sort=sort, limit=2)
    assert len(items) == 7
    assert len({item["id"] for item in items}) == 7
    field = "count" if sort == "count" else "last_seen"
    keys = [(item[field], item["id"]) for item in items]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        encode_cursor({"a": 1}),  # type: ignore[arg-type]
        encode_cursor(["count", 1]),
        encode_cursor(["last_seen", 1, "x"]),  # another sort's cursor
        encode_cursor(["count", "1", "x"]),
        encode_cursor(["count", True, "x"]),
        encode_cursor(["count", 1, 2]),
    ],
)
async def test_malformed_requirement_cursor(client: httpx.AsyncClient, cursor: str) -> None:
    resp = await client.get("/v1/requirements", params={"cursor": cursor}, headers=READ)
    problem = assert_problem(resp, 422, detail_has="malformed")
    assert problem["errors"] == [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]


@pytest.mark.parametrize(
    ("sort", "value"),
    [("count", 2**63), ("last_seen", "0001-01-01T00:00:00+14:00")],
)
async def test_a_cursor_value_the_column_cannot_hold_is_422(
    app: FastAPI, client: httpx.AsyncClient, sort: str, value: object
) -> None:
    """The list's own cursor, its position edited to a count past a 64-bit integer or to a
    time with no UTC form: a 500 when bound to the query, before."""
    for n in range(2):
        await feed(app, f"gadget number{n}")
    first = await client.get("/v1/requirements", params={"sort": sort, "limit": 1}, headers=READ)
    tag, _, last_id = decode_cursor(first.json()["next_cursor"]) or []
    edited = encode_cursor([tag, value, last_id])
    resp = await client.get(
        "/v1/requirements", params={"sort": sort, "cursor": edited}, headers=READ
    )
    problem = assert_problem(resp, 422, detail_has="malformed")
    assert problem["errors"] == [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor(["last_seen", "yesterday", "x"]),
        encode_cursor(["last_seen", "2025-01-01T00:00:00", "x"]),  # no offset
        encode_cursor(["count", 1, "x"]),
    ],
)
async def test_malformed_last_seen_cursor(client: httpx.AsyncClient, cursor: str) -> None:
    resp = await client.get(
        "/v1/requirements", params={"cursor": cursor, "sort": "last_seen"}, headers=READ
    )
    assert_problem(resp, 422, detail_has="malformed")


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"sort": "oldest"}, ["query", "sort"]),
        ({"kind": "praise"}, ["query", "kind"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 201}, ["query", "limit"]),
        ({"q": "x" * 201}, ["query", "q"]),
    ],
)
async def test_bad_list_parameters(
    client: httpx.AsyncClient, params: dict[str, Any], loc: list[str]
) -> None:
    problem = assert_problem(await client.get("/v1/requirements", params=params, headers=READ), 422)
    assert loc in [error["loc"] for error in problem["errors"]]


async def test_product_requirements(client: httpx.AsyncClient, kettle: dict[str, Any]) -> None:
    product = await make_product(client)
    other = await make_product(client, sku="KT-2")
    mine = await record(client, "lid that opens wider", product_id=product["id"])
    await record(client, "lid that opens wider", product_id=other["id"])
    await record(client, "lid that opens wider", product_type="kettle")
    resp = await client.get(f"/v1/products/{product['id']}/requirements", headers=READ)
    assert resp.status_code == 200, resp.text
    assert [item["id"] for item in resp.json()["items"]] == [mine["id"]]
    empty = await client.get(
        f"/v1/products/{other['id']}/requirements?sort=last_seen", headers=READ
    )
    assert [item["product_id"] for item in empty.json()["items"]] == [other["id"]]


async def test_product_requirements_of_an_unknown_product(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/products/nope/requirements", headers=READ)
    assert_problem(resp, 404, detail_has="no product with id 'nope'")
    resp = await client.get("/v1/products/nope/requirements", headers=WRITE)
    assert_problem(resp, 403)


# --- recommendations ---------------------------------------------------------------------------


async def test_an_idea_groups_the_same_requirement_across_targets(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    product = await make_product(client, name="Basic boiler", attributes={})
    await record(client, TEMP, product_id=product["id"], quote="80 degrees for green tea")
    await record(client, "Kettles with temperature-control", product_type="kettle")
    await feed(app, TEMP, occurrences=14, kind="search_miss", quote="temp kettle", days_ago=0)

    (idea,) = await recommendations(client)
    assert idea["id"] == TEMP_ID
    assert idea["key"] == "control kettle temperature"
    assert idea["title"] == TEMP
    assert idea["status"] == "open"
    assert idea["count"] == idea["unmet_count"] == 16
    assert idea["search_miss_count"] == 14
    assert idea["requirement_count"] == 3
    assert idea["score"] == pytest.approx(16, rel=1e-3)
    assert idea["met_by_product_id"] is None
    assert idea["product_id"] is None
    assert idea["decision"] is None
    assert idea["version"] == 1
    assert [item["count"] for item in idea["evidence"]] == [14, 1, 1]
    assert idea["evidence"][0]["kind"] == "search_miss"
    assert sorted(idea["sample_quotes"]) == ["80 degrees for green tea", "temp kettle"]
    assert idea["first_seen"] <= idea["last_seen"]

    resp = await client.get(f"/v1/recommendations/{TEMP_ID}", headers=READ)
    assert resp.status_code == 200
    assert resp.headers["ETag"] == '"1"'
    assert resp.json()["evidence"] == idea["evidence"]


async def test_ideas_rank_by_recency_weighted_unmet_demand(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await feed(app, "cordless kettle", occurrences=8, days_ago=90)  # 8 / 8 = 1 today
    await feed(app, "glass kettle", occurrences=3)
    await feed(app, "copper kettle", occurrences=1, days_ago=1)
    await feed(app, "copper kettle", occurrences=1)
    ideas = await recommendations(client)
    assert [(idea["title"], idea["count"]) for idea in ideas] == [
        ("glass kettle", 3),
        ("copper kettle", 2),
        ("cordless kettle", 8),
    ]
    assert [idea["score"] for idea in ideas] == pytest.approx([3, 1 + 2 ** (-1 / 30), 1], rel=1e-3)
    items = await walk(client, "/v1/recommendations", limit=1)
    assert [item["id"] for item in items] == [idea["id"] for idea in ideas]


async def test_an_active_product_meets_an_idea(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    await feed(app, TEMP, occurrences=4)
    await feed(app, "glass teapot", occurrences=2)
    product = await make_product(
        client, name="Steel kettle", attributes={"temperature_control": False}
    )
    await activate(client, product["id"])
    assert [idea["id"] for idea in await recommendations(client)] == [
        TEMP_ID,
        recommendation_id("glass teapot"),
    ]

    # Its attributes now offer temperature control: the idea is met and leaves the list.
    resp = await client.patch(
        f"/v1/products/{product['id']}",
        json={"attributes": {"temperature_control": True}},
        headers=WRITE,
    )
    assert resp.status_code == 200, resp.text
    assert [idea["title"] for idea in await recommendations(client)] == ["glass teapot"]
    met = (await client.get(f"/v1/recommendations/{TEMP_ID}", headers=READ)).json()
    assert met["met_by_product_id"] == product["id"]
    assert met["unmet_count"] == 0
    assert met["score"] == 0
    assert met["count"] == 4
    assert [item["met"] for item in met["evidence"]] == [True]

    # More demand for a met idea changes its count, not its absence.
    await feed(app, TEMP, occurrences=2)
    assert [idea["title"] for idea in await recommendations(client)] == ["glass teapot"]

    # Discontinued: the demand is unmet again, all of it.
    moved = await client.post(
        f"/v1/products/{product['id']}/lifecycle", json={"to": "discontinued"}, headers=WRITE
    )
    assert moved.status_code == 200
    (idea, _) = await recommendations(client)
    assert idea["id"] == TEMP_ID
    assert idea["unmet_count"] == idea["count"] == 6
    assert idea["met_by_product_id"] is None


async def test_a_new_idea_already_met_never_shows(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    product = await make_product(client, name="Whistling kettle", attributes={})
    await activate(client, product["id"])
    await feed(app, "whistling kettles", occurrences=9)
    await feed(app, "kettle", occurrences=3, kind="search_miss")
    assert await recommendations(client) == []
    idea = (
        await client.get(
            f"/v1/recommendations/{recommendation_id('kettle whistling')}", headers=READ
        )
    ).json()
    assert idea["met_by_product_id"] == product["id"]


async def test_a_requirement_about_an_active_product_is_met(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    product = await make_product(client, name="Basic boiler", attributes={})
    on_product = await record(client, "longer cable", product_id=product["id"])
    await feed(app, "longer cable", occurrences=2, product_type="kettle")
    (idea,) = await recommendations(client)
    assert idea["unmet_count"] == 3

    await activate(client, product["id"])
    (idea,) = await recommendations(client)
    assert idea["count"] == 3
    assert idea["unmet_count"] == 2  # the product's own requirement is met by the product
    fetched = (await client.get(f"/v1/requirements/{on_product['id']}", headers=READ)).json()
    assert fetched["met"] is True

    # A report about the (active) product adds nothing unmet.
    await feed(app, "longer cable", occurrences=5, product_id=product["id"])
    (idea,) = await recommendations(client)
    assert (idea["count"], idea["unmet_count"]) == (8, 2)
    assert idea["score"] == pytest.approx(2, rel=1e-3)


async def test_dismiss(app: FastAPI, client: httpx.AsyncClient) -> None:
    await feed(app, TEMP, occurrences=3)
    await feed(app, "glass teapot")
    url = f"/v1/recommendations/{TEMP_ID}/dismiss"
    resp = await client.post(url, json={"reason": " we sell no kettles "}, headers=BOTH)
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == '"2"'
    dismissed = resp.json()
    assert dismissed["status"] == "dismissed"
    assert dismissed["version"] == 2
    assert dismissed["decision"]["reason"] == "we sell no kettles"
    assert dismissed["decision"]["by"] == {"subject": "key-test", "name": "tester"}
    assert [idea["title"] for idea in await recommendations(client)] == ["glass teapot"]
    shown = await recommendations(client, include_dismissed="true")
    assert [idea["status"] for idea in shown] == ["dismissed", "open"]

    # Demand keeps counting while dismissed.
    await feed(app, TEMP, occurrences=2)
    assert (await client.get(f"/v1/recommendations/{TEMP_ID}", headers=READ)).json()["count"] == 5

    again = await client.post(url, json={"reason": "still no"}, headers=WRITE)
    problem = assert_problem(again, 409, detail_has="only an open one can be dismissed")
    assert problem["current_status"] == "dismissed"


async def test_dismiss_errors(app: FastAPI, client: httpx.AsyncClient) -> None:
    await feed(app, TEMP)
    url = f"/v1/recommendations/{TEMP_ID}/dismiss"
    assert_problem(await client.post(url, json={}, headers=WRITE), 422)
    assert_problem(await client.post(url, json={"reason": "  "}, headers=WRITE), 422)
    assert_problem(
        await client.post(url, json={"reason": "x", "status": "open"}, headers=WRITE), 422
    )
    stale = await client.post(url, json={"reason": "x"}, headers={**WRITE, "If-Match": "7"})
    assert_problem(stale, 412, detail_has="version 1, not 7")
    assert_problem(await client.post(url, json={"reason": "x"}, headers=READ), 403)
    assert_problem(await client.post(url, json={"reason": "x"}), 401)
    missing = await client.post(
        "/v1/recommendations/nope/dismiss", json={"reason": "x"}, headers=WRITE
    )
    assert_problem(missing, 404, detail_has="no recommendation with id 'nope'")
    ok = await client.post(url, json={"reason": "x"}, headers={**WRITE, "If-Match": "1"})
    assert ok.status_code == 200


async def test_adopt_creates_a_linked_draft_product(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    other = await make_product(client, sku="KT-OLD", name="Basic boiler", attributes={})
    on_other = await record(client, TEMP, product_id=other["id"])
    await feed(app, TEMP, occurrences=6, quote="I need 70 degrees")
    await feed(app, "glass teapot")
    body = {"sku": "KT-TEMP", "name": "Tea kettle", "product_type": "kettle", "brand": "Boilwell"}
    resp = await client.post(f"/v1/recommendations/{TEMP_ID}/adopt", json=body, headers=WRITE)
    assert resp.status_code == 201, resp.text
    adopted = resp.json()
    product = adopted["product"]
    assert resp.headers["Location"] == f"/v1/products/{product['id']}"
    assert product["sku"] == "KT-TEMP"
    assert product["lifecycle"] == "draft"
    idea = adopted["recommendation"]
    assert idea["status"] == "adopted"
    assert idea["product_id"] == product["id"]
    assert idea["version"] == 2
    assert idea["decision"]["by"]["subject"] == "key-test"
    assert idea["decision"]["reason"] is None

    # Linked both ways.
    fetched = (await client.get(f"/v1/recommendations/{TEMP_ID}", headers=READ)).json()
    assert fetched["product_id"] == product["id"]
    linked = await walk(client, f"/v1/products/{product['id']}/requirements")
    assert sorted(item["count"] for item in linked) == [1, 6]
    assert on_other["id"] in {item["id"] for item in linked}
    assert (await client.get(f"/v1/products/{product['id']}", headers=READ)).status_code == 200

    # Off the default list; shown on request; still unmet while the product is a draft.
    assert [idea["title"] for idea in await recommendations(client)] == ["glass teapot"]
    shown = await recommendations(client, include_adopted="true")
    assert [idea["status"] for idea in shown] == ["adopted", "open"]

    # Once the adopted product is active, it meets the idea, whatever its name.
    await activate(client, product["id"])
    met = (await client.get(f"/v1/recommendations/{TEMP_ID}", headers=READ)).json()
    assert met["met_by_product_id"] == product["id"]
    assert await recommendations(client, include_adopted="true") == [shown[1]]

    again = await client.post(
        f"/v1/recommendations/{TEMP_ID}/adopt", json={**body, "sku": "KT-2"}, headers=WRITE
    )
    assert_problem(again, 409, detail_has="already adopted")


async def test_a_dismissed_idea_can_still_be_adopted(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    await feed(app, TEMP)
    await client.post(f"/v1/recommendations/{TEMP_ID}/dismiss", json={"reason": "x"}, headers=WRITE)
    body = {"sku": "KT-T", "name": "Tea kettle", "product_type": "kettle", "brand": "B"}
    resp = await client.post(f"/v1/recommendations/{TEMP_ID}/adopt", json=body, headers=WRITE)
    assert resp.status_code == 201, resp.text
    assert resp.json()["recommendation"]["version"] == 3


async def test_adopt_errors_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    await make_product(client, sku="KT-TAKEN")
    await feed(app, TEMP)
    url = f"/v1/recommendations/{TEMP_ID}/adopt"
    body = {"sku": "KT-NEW", "name": "Tea kettle", "product_type": "kettle", "brand": "B"}
    taken = await client.post(url, json={**body, "sku": "KT-TAKEN"}, headers=WRITE)
    assert_problem(taken, 409, detail_has="'KT-TAKEN' already exists")
    unknown_type = await client.post(url, json={**body, "product_type": "toaster"}, headers=WRITE)
    assert_problem(unknown_type, 422, detail_has="unknown product type 'toaster'")
    bad_sku = await client.post(url, json={**body, "sku": "no spaces"}, headers=WRITE)
    assert_problem(bad_sku, 422)
    assert_problem(await client.post(url, json={"sku": "KT-NEW"}, headers=WRITE), 422)
    stale = await client.post(url, json=body, headers={**WRITE, "If-Match": "2"})
    assert_problem(stale, 412)
    assert_problem(await client.post(url, json=body, headers=READ), 403)
    missing = await client.post("/v1/recommendations/nope/adopt", json=body, headers=WRITE)
    assert_problem(missing, 404, detail_has="no recommendation")

    idea = (await client.get(f"/v1/recommendations/{TEMP_ID}", headers=READ)).json()
    assert (idea["status"], idea["product_id"], idea["version"]) == ("open", None, 1)
    products = (await client.get("/v1/products", headers=READ)).json()["items"]
    assert [item["sku"] for item in products] == ["KT-TAKEN"]


async def test_adopt_is_idempotent_with_a_key(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    await feed(app, TEMP)
    url = f"/v1/recommendations/{TEMP_ID}/adopt"
    body = {"sku": "KT-NEW", "name": "Tea kettle", "product_type": "kettle", "brand": "B"}
    headers = {**WRITE, "Idempotency-Key": "adopt-1"}
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


async def test_unknown_recommendation(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/recommendations/nope", headers=READ)
    assert_problem(resp, 404, detail_has="no recommendation with id 'nope'")


@pytest.mark.parametrize(
    "cursor",
    ["!!!", encode_cursor([1.5]), encode_cursor(["1.5", "x"]), encode_cursor([1.5, 2])],
)
async def test_malformed_recommendation_cursor(client: httpx.AsyncClient, cursor: str) -> None:
    resp = await client.get("/v1/recommendations", params={"cursor": cursor}, headers=READ)
    assert_problem(resp, 422, detail_has="malformed")


async def test_bad_recommendation_parameters(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/recommendations?include_dismissed=perhaps", headers=READ)
    problem = assert_problem(resp, 422)
    assert problem["errors"][0]["loc"] == ["query", "include_dismissed"]
    assert_problem(await client.get("/v1/recommendations?limit=500", headers=READ), 422)


# --- events ------------------------------------------------------------------------------------


async def test_events_of_requirements_and_recommendations(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    product = await make_product(client, name="Basic boiler", attributes={})
    on_product = await record(client, TEMP, product_id=product["id"])
    anywhere = await record(client, TEMP)
    await feed(app, TEMP, occurrences=4)
    await client.post(
        f"/v1/recommendations/{TEMP_ID}/dismiss", json={"reason": "later"}, headers=WRITE
    )
    body = {"sku": "KT-NEW", "name": "Tea kettle", "product_type": "kettle", "brand": "B"}
    adopted = await client.post(f"/v1/recommendations/{TEMP_ID}/adopt", json=body, headers=WRITE)
    new_product = adopted.json()["product"]

    events = [
        e
        for e in await outbox_events(app)
        if ".requirement." in e.type or "recommendation" in e.type or e.subject == new_product["id"]
    ]
    assert [event.type for event in events] == [
        "catalog.requirement.recorded.v1",
        "catalog.requirement.recorded.v1",
        "catalog.requirement.merged.v1",
        "catalog.recommendation.dismissed.v1",
        "catalog.product.created.v1",
        "catalog.recommendation.adopted.v1",
    ]
    for event in events:
        assert event.source == "/catalog"
        registry.payload(event)
    recorded_on_product, recorded, merged, dismissed, created, adopted_event = events
    # About a product: keyed by it, with no sequence (that is the product's version).
    assert recorded_on_product.subject == product["id"]
    assert recorded_on_product.sequence is None
    assert recorded_on_product.data["requirement_id"] == on_product["id"]
    assert recorded_on_product.data["origin"] == "person"
    # About nothing in particular: keyed by the requirement, with its version.
    assert recorded.subject == anywhere["id"]
    assert recorded.sequence_number == 1
    assert merged.subject == anywhere["id"]
    assert merged.sequence_number == 2
    assert merged.data["added"] == 4
    assert merged.data["count"] == 5
    assert merged.data["recommendation_id"] == TEMP_ID
    assert dismissed.subject == TEMP_ID
    assert dismissed.sequence_number == 2
    assert dismissed.data["reason"] == "later"
    assert created.subject == adopted_event.subject == new_product["id"]
    assert adopted_event.sequence is None
    assert adopted_event.data["recommendation_id"] == TEMP_ID
    assert adopted_event.data["product_id"] == new_product["id"]
    assert adopted_event.data["sku"] == "KT-NEW"
    assert adopted_event.data["count"] == 6
    assert adopted_event.data["requirement_count"] == 2
