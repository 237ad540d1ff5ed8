"""Products over HTTP: create, read, search, patch, lifecycle, history, and every error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from shared.auth import TokenSigner
from shared.pagination import encode_cursor
from tests.catalog.conftest import BOTH, READ, WRITE, make_product, make_type, product_body, walk
from tests.support import assert_problem, auth, running


@pytest.fixture
async def kettle_type(client: httpx.AsyncClient) -> dict[str, Any]:
    return await make_type(client, "kettle", ("color", "capacity_l"))


# --- create and read ---------------------------------------------------------------------------


async def test_create_product(client: httpx.AsyncClient, kettle_type: dict[str, Any]) -> None:
    resp = await client.post(
        "/v1/products",
        json=product_body(sku=" KT-1000 ", vendor="Acme", description="1.7 l, steel"),
        headers=WRITE,
    )
    assert resp.status_code == 201, resp.text
    product = resp.json()
    assert resp.headers["Location"] == f"/v1/products/{product['id']}"
    assert resp.headers["ETag"] == '"1"'
    assert product["sku"] == "KT-1000"
    assert product["lifecycle"] == "draft"
    assert product["version"] == 1
    assert product["cost"] == {"amount": "19.99", "currency": "EUR"}
    assert product["vendor"] == "Acme"
    # name, brand, description, color present; capacity_l missing: 4 of 5.
    assert product["completeness"] == {"score": 80, "missing": ["attributes.capacity_l"]}

    resp = await client.get(f"/v1/products/{product['id']}", headers=READ)
    assert resp.status_code == 200
    assert resp.json() == product
    assert resp.headers["ETag"] == '"1"'


async def test_minimal_product_defaults(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    body = {"sku": "KT-1", "name": "Kettle", "product_type": "kettle", "brand": "Boilwell"}
    resp = await client.post("/v1/products", json=body, headers=WRITE)
    assert resp.status_code == 201, resp.text
    product = resp.json()
    assert product["attributes"] == {}
    assert product["cost"] is None
    assert product["vendor"] is None
    assert product["description"] is None
    assert product["completeness"] == {
        "score": 40,
        "missing": ["description", "attributes.color", "attributes.capacity_l"],
    }


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("19.9", "19.90"), ("20", "20.00"), ("0.0001", "0.0001"), ("123456789012.1234", None)],
)
async def test_money_round_trips_exactly(
    client: httpx.AsyncClient, kettle_type: dict[str, Any], amount: str, shown: str | None
) -> None:
    product = await make_product(client, cost={"amount": amount, "currency": "USD"})
    fetched = (await client.get(f"/v1/products/{product['id']}", headers=READ)).json()
    assert fetched["cost"] == {"amount": shown or amount, "currency": "USD"}


async def test_unknown_product_is_not_found(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/products/0190f0e8-0000-7000-8000-000000000000", headers=READ)
    assert_problem(resp, 404, detail_has="no product with id")


# --- create errors -----------------------------------------------------------------------------


async def test_duplicate_sku_is_a_conflict(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    first = await make_product(client)
    resp = await client.post("/v1/products", json=product_body(name="Other"), headers=WRITE)
    problem = assert_problem(resp, 409, detail_has="'KT-1000' already exists")
    assert problem["product_id"] == first["id"]


async def test_unknown_product_type_is_invalid(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/products", json=product_body(), headers=WRITE)
    problem = assert_problem(resp, 422, detail_has="unknown product type 'kettle'")
    assert problem["field"] == "product_type"
    assert problem["errors"] == [{"loc": ["body", "product_type"], "msg": "unknown product type"}]


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"sku": None}, "body.sku"),
        ({"name": None}, "body.name"),
        ({"brand": "   "}, "body.brand"),
        ({"sku": "bad sku!"}, "invalid SKU"),
        ({"name": "n" * 201}, "body.name"),
        ({"description": "d" * 10_001}, "body.description"),
        ({"lifecycle": "active"}, "body.lifecycle: Extra inputs"),
        ({"version": 7}, "body.version: Extra inputs"),
        ({"attributes": {"1bad": "x"}}, "body.attributes"),
        ({"attributes": {f"a{i}": i for i in range(201)}}, "body.attributes"),
        ({"attributes": ["color"]}, "body.attributes"),
        ({"cost": {"amount": 19.99, "currency": "EUR"}}, "decimal string"),
        ({"cost": {"amount": 19, "currency": "EUR"}}, "decimal string"),
        ({"cost": {"amount": "1e3", "currency": "EUR"}}, "decimal string"),
        ({"cost": {"amount": "NaN", "currency": "EUR"}}, "decimal string"),
        ({"cost": {"amount": "Infinity", "currency": "EUR"}}, "decimal string"),
        ({"cost": {"amount": "-1.00", "currency": "EUR"}}, "decimal string"),
        ({"cost": {"amount": "1.23456", "currency": "EUR"}}, "decimal string"),
        ({"cost": {"amount": "1234567890123", "currency": "EUR"}}, "decimal string"),
        ({"cost": {"amount": "19.99\n", "currency": "EUR"}}, "decimal string"),
        ({"cost": {"amount": "19.99", "currency": "eur"}}, "body.cost.currency"),
        ({"cost": {"amount": "19.99", "currency": "EUR", "fx": 1}}, "body.cost.fx"),
        ({"cost": {"amount": "19.99"}}, "body.cost.currency"),
    ],
)
async def test_invalid_product_bodies_are_rejected(
    client: httpx.AsyncClient,
    kettle_type: dict[str, Any],
    overrides: dict[str, Any],
    detail: str,
) -> None:
    body = {k: v for k, v in product_body(**overrides).items() if v is not None}
    resp = await client.post("/v1/products", json=body, headers=WRITE)
    problem = assert_problem(resp, 422, detail_has=detail)
    assert problem["errors"]
    assert (await client.get("/v1/products", headers=READ)).json()["items"] == []


async def test_values_no_database_can_keep_are_422_and_nothing_is_kept(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    # PostgreSQL refuses the character in text and JSON columns: this was a 500 there, and
    # SQLite kept it.
    body = product_body(
        name="Steel\x00kettle", attributes={"color": "sil\x00ver", "notes": ["ok", "\x00"]}
    )
    resp = await client.post("/v1/products", json=body, headers=WRITE)
    problem = assert_problem(resp, 422, detail_has="body.name: must not contain the NUL")
    assert [error["loc"] for error in problem["errors"]] == [
        ["body", "name"],
        ["body", "attributes", "color"],
        ["body", "attributes", "notes", "1"],
    ]
    # Half a UTF-16 pair, which no database can write as UTF-8: a 500 on both before.
    resp = await client.post(
        "/v1/products",
        content=orjson.dumps(product_body()).replace(b'"silver"', b'"silver \\udbff"'),
        headers={**WRITE, "Content-Type": "application/json"},
    )
    problem = assert_problem(resp, 422, detail_has="body.attributes.color: must not contain a")
    assert [error["loc"] for error in problem["errors"]] == [["body", "attributes", "color"]]
    # Not JSON, but Python's decoder takes them: SQLite kept null instead, PostgreSQL a 500.
    for number in (b"NaN", b"1e400"):
        resp = await client.post(
            "/v1/products",
            content=orjson.dumps(product_body()).replace(b'"silver"', number),
            headers={**WRITE, "Content-Type": "application/json"},
        )
        assert_problem(resp, 422, detail_has="body.attributes.color: must be a finite number")
    assert (await client.get("/v1/products", headers=READ)).json()["items"] == []
    product = await make_product(client, description="the text \\u0000 is no NUL")
    resp = await client.patch(
        f"/v1/products/{product['id']}", json={"description": "a\x00"}, headers=WRITE
    )
    assert_problem(resp, 422, detail_has="body.description")
    fetched = (await client.get(f"/v1/products/{product['id']}", headers=READ)).json()
    assert fetched == product
    assert fetched["description"] == "the text \\u0000 is no NUL"


async def test_malformed_json_is_rejected(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/v1/products",
        content=b'{"sku": ',
        headers={**WRITE, "Content-Type": "application/json"},
    )
    assert_problem(resp, 422, detail_has="JSON")


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("text/plain", "is 'text/plain'"),
        ("application/x-www-form-urlencoded", "is 'app"),
        (None, "is not named"),
    ],
)
async def test_a_body_not_sent_as_json_is_415(
    client: httpx.AsyncClient, content_type: str | None, named: str
) -> None:
    """FastAPI left such a body unread and answered that it "should be a valid dictionary"."""
    headers = {**WRITE, **({"Content-Type": content_type} if content_type else {})}
    resp = await client.post("/v1/products", content=orjson.dumps(product_body()), headers=headers)
    problem = assert_problem(resp, 415, detail_has=named)
    assert problem["type"].endswith("/unsupported-media-type")
    assert (await client.get("/v1/products", headers=READ)).json()["items"] == []


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/merge-patch+json"]
)
async def test_json_by_any_of_its_names_is_read(
    client: httpx.AsyncClient, kettle_type: dict[str, Any], content_type: str
) -> None:
    resp = await client.post(
        "/v1/products",
        content=orjson.dumps(product_body()),
        headers={**WRITE, "Content-Type": content_type},
    )
    assert resp.status_code == 201, resp.text


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        # Python's JSON reader refuses integers of over 4300 digits (CVE-2020-10735).
        (b'{"sku": ' + b"9" * 5000 + b"}", "a number in the body has more than 4300 digits"),
        (b'{"sku": "A-\xff"}', "the body is not JSON text: it must be UTF-8"),
        (b'{"sku": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "nest too deeply"),
    ],
)
async def test_a_body_python_cannot_read_says_why(
    client: httpx.AsyncClient, body: bytes, detail: str
) -> None:
    resp = await client.post(
        "/v1/products", content=body, headers={**WRITE, "Content-Type": "application/json"}
    )
    assert_problem(resp, 400, detail_has=detail)


async def test_body_over_the_cap_is_too_large(
    make_settings: Any, database_url: str, kettle_type: dict[str, Any]
) -> None:
    from services.catalog.app import create_app

    app = create_app(make_settings(catalog_database_url=database_url, max_body_bytes=1024))
    async with running(app) as small:
        body = product_body(description="x" * 2000)
        resp = await small.post("/v1/products", json=body, headers=WRITE)
        problem = assert_problem(resp, 413, detail_has="larger than 1024 bytes")
        assert problem["max_bytes"] == 1024
        patch = await small.patch("/v1/products/x", json=body, headers=WRITE)
        assert_problem(patch, 413)


async def test_streamed_body_over_the_cap_is_too_large(
    make_settings: Any, database_url: str
) -> None:
    from services.catalog.app import create_app

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the cap can only be enforced while the body streams in.
        for _ in range(4):
            yield b"x" * 512

    app = create_app(make_settings(catalog_database_url=database_url, max_body_bytes=1024))
    async with running(app) as small:
        headers = {**WRITE, "Content-Type": "application/json"}
        resp = await small.post("/v1/products", content=chunks(), headers=headers)
        assert_problem(resp, 413)


async def test_concurrent_creates_of_one_sku_make_one_product(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    responses = await asyncio.gather(
        *(
            client.post("/v1/products", json=product_body(name=f"Racer {i}"), headers=WRITE)
            for i in range(6)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    for resp in responses:
        if resp.status_code == 409:
            assert_problem(resp, 409, detail_has="already exists")
    assert len((await client.get("/v1/products", headers=READ)).json()["items"]) == 1


# --- idempotency -------------------------------------------------------------------------------


async def test_idempotent_create_replays_the_first_response(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    headers = {**WRITE, "Idempotency-Key": "create-kt-1000"}
    first = await client.post("/v1/products", json=product_body(), headers=headers)
    again = await client.post("/v1/products", json=product_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    items = (await client.get("/v1/products", headers=READ)).json()["items"]
    assert [item["id"] for item in items] == [first.json()["id"]]

    changed = await client.post("/v1/products", json=product_body(sku="KT-2000"), headers=headers)
    problem = assert_problem(changed, 422, detail_has="different request body")
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert len((await client.get("/v1/products", headers=READ)).json()["items"]) == 1


async def test_idempotency_keys_belong_to_one_caller(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "same-key"}
    mine = await client.post("/v1/products", json=product_body(), headers={**WRITE, **key})
    theirs = await client.post(
        "/v1/products",
        json=product_body(),
        headers={**auth("catalog:write", subject="key-other"), **key},
    )
    assert mine.status_code == 201
    # Not a replay of someone else's response: their create runs, and the SKU is taken.
    assert_problem(theirs, 409, detail_has="already exists")


async def test_invalid_idempotency_key_is_rejected(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    headers = {**WRITE, "Idempotency-Key": "k" * 256}
    resp = await client.post("/v1/products", json=product_body(), headers=headers)
    assert_problem(resp, 422, detail_has="Idempotency-Key")


# --- list and search ---------------------------------------------------------------------------


async def test_pagination_walk_with_filters_and_search(client: httpx.AsyncClient) -> None:
    await make_type(client, "kettle", ("color",))
    await make_type(client, "toaster", ())
    made = []
    for i in range(7):
        made.append(
            await make_product(
                client,
                sku=f"KT-{i}",
                name=f"Kettle model {i}",
                brand="Boilwell" if i % 2 == 0 else "Steamy",
            )
        )
    for i in range(3):
        made.append(
            await make_product(
                client, sku=f"TS-{i}", name=f"Toaster {i}", product_type="toaster", brand="Boilwell"
            )
        )
    all_ids = [p["id"] for p in made]

    assert [p["id"] for p in await walk(client, "/v1/products", limit=3)] == all_ids
    assert [p["id"] for p in await walk(client, "/v1/products", limit=200)] == all_ids

    kettles = await walk(client, "/v1/products", limit=2, product_type="kettle")
    assert [p["sku"] for p in kettles] == [f"KT-{i}" for i in range(7)]

    boilwell_kettles = await walk(
        client, "/v1/products", limit=2, product_type="kettle", brand="Boilwell"
    )
    assert [p["sku"] for p in boilwell_kettles] == ["KT-0", "KT-2", "KT-4", "KT-6"]

    # q ignores case and looks at name, SKU and brand.
    assert [p["sku"] for p in await walk(client, "/v1/products", limit=1, q="TOASTER")] == [
        "TS-0",
        "TS-1",
        "TS-2",
    ]
    assert [p["sku"] for p in await walk(client, "/v1/products", q="ts-1")] == ["TS-1"]
    steamy = await walk(client, "/v1/products", limit=2, q="steam")
    assert [p["sku"] for p in steamy] == ["KT-1", "KT-3", "KT-5"]
    combined = await walk(client, "/v1/products", limit=1, q="boil", product_type="toaster")
    assert [p["sku"] for p in combined] == ["TS-0", "TS-1", "TS-2"]
    # LIKE wildcards in q are literal characters.
    assert await walk(client, "/v1/products", q="%") == []
    assert await walk(client, "/v1/products", q="KT_1") == []

    await client.post(
        f"/v1/products/{made[0]['id']}/lifecycle", json={"to": "incoming"}, headers=WRITE
    )
    incoming = await walk(client, "/v1/products", lifecycle="incoming")
    assert [p["id"] for p in incoming] == [made[0]["id"]]
    drafts = await walk(client, "/v1/products", limit=4, lifecycle="draft")
    assert [p["id"] for p in drafts] == all_ids[1:]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"cursor": "!!not-base64!!"}, "cursor is malformed"),
        ({"cursor": encode_cursor([1])}, "cursor is malformed"),
        ({"cursor": encode_cursor(["a", "b"])}, "cursor is malformed"),
        ({"cursor": "e30"}, "cursor is malformed"),
        ({"lifecycle": "retired"}, "query.lifecycle"),
        ({"q": "q" * 201}, "query.q"),
    ],
)
async def test_invalid_list_queries_are_rejected(
    client: httpx.AsyncClient, params: dict[str, Any], detail: str
) -> None:
    resp = await client.get("/v1/products", params=params, headers=READ)
    problem = assert_problem(resp, 422, detail_has=detail)
    assert problem["errors"]


async def test_a_cursor_of_another_list_is_422(client: httpx.AsyncClient) -> None:
    for code in ("kettle", "toaster"):
        await make_type(client, code)
    types = await client.get("/v1/product-types", params={"limit": 1}, headers=READ)
    # Both lists page by one string (a code, an id): the cursor names which order it is for.
    resp = await client.get(
        "/v1/products", params={"cursor": types.json()["next_cursor"]}, headers=READ
    )
    problem = assert_problem(resp, 422, detail_has="cursor is malformed")
    assert problem["errors"] == [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]


# --- patch -------------------------------------------------------------------------------------


async def test_patch_recomputes_completeness_and_bumps_version(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    product = await make_product(client)
    assert product["completeness"]["missing"] == ["description", "attributes.capacity_l"]
    resp = await client.patch(
        f"/v1/products/{product['id']}",
        json={"description": "Brushed steel", "attributes": {"capacity_l": 1.7}},
        headers={**WRITE, "If-Match": '"1"'},
    )
    assert resp.status_code == 200, resp.text
    patched = resp.json()
    assert resp.headers["ETag"] == '"2"'
    assert patched["version"] == 2
    assert patched["attributes"] == {"color": "silver", "capacity_l": 1.7}
    assert patched["completeness"] == {"score": 100, "missing": []}
    assert patched["updated_at"] > product["updated_at"]
    assert patched["created_at"] == product["created_at"]

    # A merge patch: null removes a key; clearing description lowers the score again.
    resp = await client.patch(
        f"/v1/products/{product['id']}",
        json={
            "attributes": {"color": None},
            "description": None,
            "vendor": "Acme",
            "cost": None,
        },
        headers=WRITE,
    )
    assert resp.status_code == 200, resp.text
    again = resp.json()
    assert again["version"] == 3
    assert again["attributes"] == {"capacity_l": 1.7}
    assert again["vendor"] == "Acme"
    assert again["cost"] is None
    assert again["completeness"] == {"score": 60, "missing": ["description", "attributes.color"]}
    fetched = (await client.get(f"/v1/products/{product['id']}", headers=READ)).json()
    assert fetched == again


async def test_patch_to_another_type_follows_its_required_attributes(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    await make_type(client, "teapot", ("material",))
    product = await make_product(client, description="Nice")
    resp = await client.patch(
        f"/v1/products/{product['id']}", json={"product_type": "teapot"}, headers=WRITE
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["completeness"] == {"score": 75, "missing": ["attributes.material"]}

    resp = await client.patch(
        f"/v1/products/{product['id']}", json={"product_type": "nope"}, headers=WRITE
    )
    problem = assert_problem(resp, 422, detail_has="unknown product type 'nope'")
    assert problem["field"] == "product_type"


async def test_patch_that_changes_nothing_bumps_nothing(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    product = await make_product(client)
    for body in (
        {},
        {"name": "Steel kettle", "cost": {"amount": "19.990", "currency": "EUR"}},
        {"attributes": {"color": "silver", "absent": None}},
    ):
        resp = await client.patch(
            f"/v1/products/{product['id']}", json=body, headers={**WRITE, "If-Match": "1"}
        )
        assert resp.status_code == 200, resp.text
        assert resp.json() == product
    history = await client.get(f"/v1/products/{product['id']}/history", headers=READ)
    assert history.json() == {"items": [], "next_cursor": None}


async def test_patch_with_stale_version_fails(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    product = await make_product(client)
    url = f"/v1/products/{product['id']}"
    assert (await client.patch(url, json={"name": "A"}, headers=WRITE)).status_code == 200
    resp = await client.patch(url, json={"name": "B"}, headers={**WRITE, "If-Match": '"1"'})
    problem = assert_problem(resp, 412, detail_has="version 2, not 1")
    assert problem["current_version"] == 2
    assert (await client.get(url, headers=READ)).json()["name"] == "A"
    resp = await client.patch(url, json={"name": "B"}, headers={**WRITE, "If-Match": "latest"})
    assert_problem(resp, 422, detail_has="If-Match")
    resp = await client.patch(url, json={"name": "B"}, headers={**WRITE, "If-Match": "*"})
    assert resp.status_code == 200


async def test_concurrent_patches_of_one_version_let_one_win(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    product = await make_product(client)
    url = f"/v1/products/{product['id']}"
    responses = await asyncio.gather(
        *(
            client.patch(url, json={"name": f"Name {i}"}, headers={**WRITE, "If-Match": "1"})
            for i in range(6)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [412] * 5
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert (await client.get(url, headers=READ)).json() == winner
    history = (await client.get(f"{url}/history", headers=READ)).json()["items"]
    assert [(h["field"], h["new"]) for h in history] == [("name", winner["name"])]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"sku": "NEW-1"}, "sku cannot be patched"),
        ({"lifecycle": "active"}, "lifecycle cannot be patched: use POST"),
        ({"version": 9}, "version cannot be patched"),
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"name": None}, "name cannot be null"),
        ({"brand": None}, "brand cannot be null"),
        ({"product_type": None}, "product_type cannot be null"),
        ({"name": ""}, "body.name"),
        ({"cost": {"amount": 5.5, "currency": "EUR"}}, "decimal string"),
        ({"attributes": "red"}, "body.attributes"),
        ({"attributes": {"bad key": 1}}, "body.attributes"),
    ],
)
async def test_invalid_patches_are_rejected(
    client: httpx.AsyncClient, kettle_type: dict[str, Any], body: dict[str, Any], detail: str
) -> None:
    product = await make_product(client)
    resp = await client.patch(f"/v1/products/{product['id']}", json=body, headers=WRITE)
    assert_problem(resp, 422, detail_has=detail)
    fetched = (await client.get(f"/v1/products/{product['id']}", headers=READ)).json()
    assert fetched == product


async def test_patch_cannot_exceed_the_attribute_cap(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    product = await make_product(client, attributes={f"a{i}": i for i in range(150)})
    resp = await client.patch(
        f"/v1/products/{product['id']}",
        json={"attributes": {f"b{i}": i for i in range(100)}},
        headers=WRITE,
    )
    problem = assert_problem(resp, 422, detail_has="at most 200 attributes")
    assert problem["field"] == "attributes"


async def test_patch_of_unknown_product_is_not_found(client: httpx.AsyncClient) -> None:
    resp = await client.patch("/v1/products/missing", json={"name": "X"}, headers=WRITE)
    assert_problem(resp, 404, detail_has="'missing'")


# --- lifecycle ---------------------------------------------------------------------------------


async def test_lifecycle_moves_forward(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    product = await make_product(client)
    url = f"/v1/products/{product['id']}/lifecycle"
    resp = await client.post(url, json={"to": "incoming"}, headers={**WRITE, "If-Match": "1"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["lifecycle"] == "incoming"
    assert resp.json()["version"] == 2
    assert resp.headers["ETag"] == '"2"'
    resp = await client.post(url, json={"to": "active"}, headers=WRITE)
    assert resp.json()["lifecycle"] == "active"
    assert resp.json()["version"] == 3


async def test_invalid_lifecycle_transition_is_a_conflict(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    product = await make_product(client)
    url = f"/v1/products/{product['id']}/lifecycle"
    resp = await client.post(url, json={"to": "active"}, headers=WRITE)
    problem = assert_problem(resp, 409, detail_has="from draft to active")
    assert problem["allowed"] == ["incoming", "discontinued"]
    resp = await client.post(url, json={"to": "draft"}, headers=WRITE)
    assert_problem(resp, 409, detail_has="from draft to draft")
    fetched = (await client.get(f"/v1/products/{product['id']}", headers=READ)).json()
    assert fetched["lifecycle"] == "draft"
    assert fetched["version"] == 1


async def test_lifecycle_errors(client: httpx.AsyncClient, kettle_type: dict[str, Any]) -> None:
    product = await make_product(client)
    url = f"/v1/products/{product['id']}/lifecycle"
    assert_problem(
        await client.post(url, json={"to": "retired"}, headers=WRITE), 422, detail_has="body.to"
    )
    assert_problem(await client.post(url, json={}, headers=WRITE), 422, detail_has="body.to")
    assert_problem(
        await client.post(url, json={"to": "incoming", "why": "x"}, headers=WRITE),
        422,
        detail_has="body.why",
    )
    stale = await client.post(url, json={"to": "incoming"}, headers={**WRITE, "If-Match": "4"})
    assert_problem(stale, 412, detail_has="version 1, not 4")
    missing = await client.post(
        "/v1/products/missing/lifecycle", json={"to": "incoming"}, headers=WRITE
    )
    assert_problem(missing, 404)


# --- history -----------------------------------------------------------------------------------


async def test_history_records_old_new_and_who(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    product = await make_product(client)
    url = f"/v1/products/{product['id']}"
    editor = auth("catalog:write", subject="key-editor")
    await client.patch(
        url,
        json={"name": "Kettle Pro", "cost": {"amount": "21.5", "currency": "EUR"}},
        headers=editor,
    )
    await client.patch(url, json={"attributes": {"color": "black"}}, headers=WRITE)
    await client.post(f"{url}/lifecycle", json={"to": "incoming"}, headers=WRITE)

    items = await walk(client, f"{url}/history", limit=2)
    simplified = [(i["version"], i["field"], i["old"], i["new"]) for i in items]
    assert simplified == [
        (
            2,
            "cost",
            {"amount": "19.99", "currency": "EUR"},
            {"amount": "21.50", "currency": "EUR"},
        ),
        (2, "name", "Steel kettle", "Kettle Pro"),
        (3, "attributes.color", "silver", "black"),
        (4, "lifecycle", "draft", "incoming"),
    ]
    assert items[0]["changed_by"] == {"subject": "key-editor", "name": "tester"}
    assert items[2]["changed_by"] == {"subject": "key-test", "name": "tester"}
    assert all(item["changed_at"].endswith("Z") for item in items)


async def test_history_errors(client: httpx.AsyncClient, kettle_type: dict[str, Any]) -> None:
    assert_problem(await client.get("/v1/products/missing/history", headers=READ), 404)
    product = await make_product(client)
    url = f"/v1/products/{product['id']}/history"
    for cursor in (encode_cursor(["x"]), encode_cursor([True]), "%%%"):
        resp = await client.get(url, params={"cursor": cursor}, headers=READ)
        assert_problem(resp, 422, detail_has="cursor is malformed")
    assert_problem(await client.get(url, params={"limit": 0}, headers=READ), 422)


# --- auth --------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/v1/products", None, "catalog:read"),
    ("GET", "/v1/products/p1", None, "catalog:read"),
    ("GET", "/v1/products/p1/history", None, "catalog:read"),
    ("POST", "/v1/products", product_body(), "catalog:write"),
    ("PATCH", "/v1/products/p1", {"name": "X"}, "catalog:write"),
    ("POST", "/v1/products/p1/lifecycle", {"to": "incoming"}, "catalog:write"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
async def test_every_route_checks_the_caller(
    client: httpx.AsyncClient, method: str, path: str, body: Any, scope: str
) -> None:
    async def call(headers: dict[str, str] | None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=headers)

    resp = assert_problem(await call(None), 401, detail_has="Authorization: Bearer")
    assert resp["type"].endswith("/unauthorized")
    forged = TokenSigner("another-secret-" + "y" * 40).issue(
        subject="key-test", name="tester", owner="key-test", scopes=frozenset({"admin"})
    )
    assert_problem(await call({"Authorization": f"Bearer {forged}"}), 401, detail_has="invalid")
    assert_problem(await call({"Authorization": "Basic abc"}), 401)
    other = "catalog:write" if scope == "catalog:read" else "catalog:read"
    problem = assert_problem(await call(auth(other)), 403, detail_has=scope)
    assert problem["required_scope"] == scope
    # admin holds every scope: past auth, the product p1 does not exist (or the type).
    admitted = await call(auth("admin"))
    assert admitted.status_code in {200, 404, 422}


async def test_expired_token_is_refused(client: httpx.AsyncClient) -> None:
    import jwt

    from tests.support import TEST_SECRET

    expired = jwt.encode(
        {"iss": "productops", "sub": "k", "scope": "admin", "iat": 1, "exp": 2},
        TEST_SECRET,
        algorithm="HS256",
    )
    resp = await client.get("/v1/products", headers={"Authorization": f"Bearer {expired}"})
    assert_problem(resp, 401, detail_has="expired")


async def test_both_scopes_read_and_write(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    resp = await client.post("/v1/products", json=product_body(), headers=BOTH)
    assert resp.status_code == 201
    assert (await client.get(resp.headers["Location"], headers=BOTH)).status_code == 200


async def test_patch_from_number_to_boolean_is_a_change(
    client: httpx.AsyncClient, kettle_type: dict[str, Any]
) -> None:
    product = await make_product(client, attributes={"color": "red", "auto_off": 1})
    resp = await client.patch(
        f"/v1/products/{product['id']}", json={"attributes": {"auto_off": True}}, headers=WRITE
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["attributes"]["auto_off"] is True
    assert resp.json()["version"] == 2
