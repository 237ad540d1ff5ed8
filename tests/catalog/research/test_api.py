"""Brand research over HTTP: criteria, benchmarks, ranking, events, and every error path."""

from __future__ import annotations

import importlib
import random
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, text

from services.catalog.events import registry
from services.catalog.research.tables import benchmark_tally
from shared.events import decode
from shared.pagination import encode_cursor
from shared.tables import outbox
from tests.catalog.conftest import READ, WRITE, make_product, make_type
from tests.support import assert_problem, auth

CRITERIA = [
    {"name": "boil_speed", "weight": 3, "description": "seconds to boil 1 l"},
    {"name": "build", "weight": 1},
    {"name": "noise", "weight": 1},
]
MISSING = "0190f0e8-0000-7000-8000-000000000000"


@pytest.fixture
async def kettle(client: httpx.AsyncClient) -> dict[str, Any]:
    await make_type(client, "kettle", ())
    resp = await client.put("/v1/product-types/kettle/criteria", json=CRITERIA, headers=WRITE)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def bench(client: httpx.AsyncClient, code: str = "kettle", **body: Any) -> dict[str, Any]:
    payload = {"source": "lab test 2024", **body}
    resp = await client.post(f"/v1/product-types/{code}/benchmarks", json=payload, headers=WRITE)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def events_of(app: FastAPI, prefix: str) -> list[Any]:
    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
    return [decode(row.payload) for row in rows if row.type.startswith(prefix)]


# --- criteria ----------------------------------------------------------------------------------


async def test_criteria_start_empty_then_are_replaced(client: httpx.AsyncClient) -> None:
    await make_type(client, "kettle", ())
    resp = await client.get("/v1/product-types/kettle/criteria", headers=READ)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "product_type": "kettle",
        "version": 0,
        "criteria": [],
        "updated_at": None,
        "updated_by": None,
    }
    assert resp.headers["ETag"] == '"0"'

    url = "/v1/product-types/kettle/criteria"
    resp = await client.put(url, json=CRITERIA, headers={**WRITE, "If-Match": "0"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert resp.headers["ETag"] == '"1"'
    assert body["version"] == 1
    assert body["criteria"] == [
        {"name": "boil_speed", "weight": 3.0, "description": "seconds to boil 1 l"},
        {"name": "build", "weight": 1.0, "description": None},
        {"name": "noise", "weight": 1.0, "description": None},
    ]
    assert body["updated_by"] == {"subject": "key-test", "name": "tester"}
    assert body["updated_at"].endswith("Z")
    assert (await client.get(url, headers=READ)).json() == body

    # The same list again changes nothing.
    same = await client.put(url, json=CRITERIA, headers=WRITE)
    assert same.json() == body

    resp = await client.put(
        url, json=[{"name": " build ", "weight": 2.5}], headers={**WRITE, "If-Match": '"1"'}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 2
    assert resp.json()["criteria"] == [{"name": "build", "weight": 2.5, "description": None}]


async def test_stale_criteria_version_is_refused(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    url = "/v1/product-types/kettle/criteria"
    resp = await client.put(url, json=CRITERIA[:1], headers={**WRITE, "If-Match": "0"})
    problem = assert_problem(resp, 412, detail_has="version 1, not 0")
    assert problem["current_version"] == 1
    assert (await client.get(url, headers=READ)).json() == kettle


@pytest.mark.parametrize(
    ("body", "loc", "detail"),
    [
        ([{"name": "a", "weight": 0}], ["body", "0", "weight"], "greater than 0"),
        ([{"name": "a", "weight": -2}], ["body", "0", "weight"], "greater than 0"),
        ([{"name": "a", "weight": 1001}], ["body", "0", "weight"], "at most 1000"),
        (
            [{"name": "a", "weight": 1}, {"name": "a", "weight": 2}],
            ["body", "1", "name"],
            "duplicate criterion 'a'",
        ),
        ([{"name": "Boil Speed", "weight": 1}], ["body", "0", "name"], "invalid criterion name"),
        ([], ["body"], "at least one criterion"),
        ([{"name": "a", "weight": "2"}], ["body", "0", "weight"], "valid number"),
        ([{"name": "a", "weight": True}], ["body", "0", "weight"], "valid number"),
        ([{"name": "a"}], ["body", "0", "weight"], "Field required"),
        ([{"name": "a", "weight": 1, "unit": "s"}], ["body", "0", "unit"], "Extra inputs"),
        ({"criteria": []}, ["body"], "valid list"),
    ],
)
async def test_invalid_criteria_are_refused_with_their_location(
    client: httpx.AsyncClient, body: Any, loc: list[Any], detail: str
) -> None:
    await make_type(client, "kettle", ())
    resp = await client.put("/v1/product-types/kettle/criteria", json=body, headers=WRITE)
    problem = assert_problem(resp, 422)
    assert problem["errors"][0]["loc"] == loc
    assert detail in problem["errors"][0]["msg"]
    unchanged = await client.get("/v1/product-types/kettle/criteria", headers=READ)
    assert unchanged.json()["version"] == 0


async def test_criteria_of_an_unknown_type_are_not_found(client: httpx.AsyncClient) -> None:
    assert_problem(
        await client.get("/v1/product-types/nope/criteria", headers=READ), 404, detail_has="'nope'"
    )
    resp = await client.put("/v1/product-types/nope/criteria", json=CRITERIA, headers=WRITE)
    assert_problem(resp, 404, detail_has="'nope'")
    resp = await client.put(
        "/v1/product-types/kettle/criteria", json=CRITERIA, headers={**WRITE, "If-Match": "v1"}
    )
    assert_problem(resp, 422, detail_has="If-Match")


# --- benchmarks --------------------------------------------------------------------------------


async def test_record_and_read_a_competitor_benchmark(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    resp = await client.post(
        "/v1/product-types/kettle/benchmarks",
        json={
            "brand": " Steamy ",
            "competitor_ref": "ST-9 (2024)",
            "scores": {"boil_speed": 7.5, "noise": 0, "build": 10},
            "source": "https://example.org/kettle-test",
            "notes": "bought retail",
        },
        headers=WRITE,
    )
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert resp.headers["Location"] == f"/v1/benchmarks/{created['id']}"
    assert created["brand"] == "Steamy"
    assert created["product_id"] is None
    assert created["competitor_ref"] == "ST-9 (2024)"
    assert created["scores"] == {"boil_speed": 7.5, "build": 10.0, "noise": 0.0}
    assert created["recorded_by"] == {"subject": "key-test", "name": "tester"}
    assert created["recorded_at"].endswith("Z")
    fetched = await client.get(resp.headers["Location"], headers=READ)
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_benchmark_of_our_product_takes_its_brand(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    ours = await make_product(client, attributes={})
    created = await bench(client, product_id=ours["id"], scores={"build": 8})
    assert created["brand"] == "Boilwell"
    assert created["product_id"] == ours["id"]
    again = await bench(client, product_id=ours["id"], brand="Boilwell", scores={"build": 6})
    assert again["brand"] == "Boilwell"


@pytest.mark.parametrize(
    ("body", "loc", "msg"),
    [
        ({"brand": "B", "scores": {"taste": 5}}, ["body", "scores", "taste"], "unknown criterion"),
        ({"brand": "B", "scores": {"build": 11}}, ["body", "scores", "build"], "between 0 and 10"),
        ({"brand": "B", "scores": {"build": -1}}, ["body", "scores", "build"], "between 0 and 10"),
        ({"brand": "B", "scores": {"build": "5"}}, ["body", "scores", "build"], "valid number"),
        ({"brand": "B", "scores": {"build": True}}, ["body", "scores", "build"], "valid number"),
        ({"brand": "B", "scores": {}}, ["body", "scores"], "at least one"),
        ({"brand": "B"}, ["body", "scores"], "Field required"),
        ({"scores": {"build": 5}}, ["body", "brand"], "brand is required"),
        ({"brand": "  ", "scores": {"build": 5}}, ["body", "brand"], "at least 1 character"),
        (
            {"brand": "B", "product_id": MISSING, "scores": {"build": 5}},
            ["body", "product_id"],
            "no product with id",
        ),
        ({"brand": "B", "scores": {"build": 5}, "rank": 1}, ["body", "rank"], "Extra inputs"),
    ],
)
async def test_invalid_benchmarks_are_refused_with_their_location(
    client: httpx.AsyncClient,
    kettle: dict[str, Any],
    body: dict[str, Any],
    loc: list[str],
    msg: str,
) -> None:
    resp = await client.post(
        "/v1/product-types/kettle/benchmarks", json={"source": "s", **body}, headers=WRITE
    )
    problem = assert_problem(resp, 422)
    assert problem["errors"][0]["loc"] == loc
    assert msg in problem["errors"][0]["msg"]
    listed = await client.get("/v1/product-types/kettle/benchmarks", headers=READ)
    assert listed.json()["items"] == []


async def test_every_bad_score_is_reported_at_once(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    resp = await client.post(
        "/v1/product-types/kettle/benchmarks",
        json={"brand": "B", "source": "s", "scores": {"build": 12, "smell": 3, "noise": 4}},
        headers=WRITE,
    )
    problem = assert_problem(resp, 422, detail_has="scores.build")
    assert [e["loc"] for e in problem["errors"]] == [
        ["body", "scores", "build"],
        ["body", "scores", "smell"],
    ]


async def test_benchmarks_must_name_a_product_of_the_type(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    await make_type(client, "toaster", ())
    toaster = await make_product(client, sku="TS-1", product_type="toaster", attributes={})
    kettle_product = await make_product(client, attributes={})
    cases = [
        ({"product_id": toaster["id"]}, ["body", "product_id"], "is a 'toaster', not a 'kettle'"),
        (
            {"product_id": kettle_product["id"], "brand": "Other"},
            ["body", "brand"],
            "brand is 'Boilwell'",
        ),
        (
            {"product_id": kettle_product["id"], "competitor_ref": "X-1"},
            ["body", "competitor_ref"],
            "not both",
        ),
    ]
    for extra, loc, msg in cases:
        resp = await client.post(
            "/v1/product-types/kettle/benchmarks",
            json={"source": "s", "scores": {"build": 5}, **extra},
            headers=WRITE,
        )
        problem = assert_problem(resp, 422, detail_has=msg)
        assert problem["errors"][0]["loc"] == loc


async def test_benchmarks_need_criteria_and_a_known_type(client: httpx.AsyncClient) -> None:
    body = {"brand": "B", "source": "s", "scores": {"build": 5}}
    resp = await client.post("/v1/product-types/nope/benchmarks", json=body, headers=WRITE)
    assert_problem(resp, 404, detail_has="'nope'")
    await make_type(client, "kettle", ())
    resp = await client.post("/v1/product-types/kettle/benchmarks", json=body, headers=WRITE)
    assert_problem(resp, 422, detail_has="PUT them on the product type first")
    assert_problem(await client.get("/v1/benchmarks/missing", headers=READ), 404)
    assert_problem(await client.get("/v1/product-types/nope/benchmarks", headers=READ), 404)


async def test_benchmark_list_pages_and_filters(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    ours = await make_product(client, attributes={})
    made = [
        await bench(client, brand=["Acme", "Steamy"][i % 2], scores={"build": i}) for i in range(5)
    ]
    made.append(await bench(client, product_id=ours["id"], scores={"noise": 3}))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = await client.get("/v1/product-types/kettle/benchmarks", params=params, headers=READ)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [b["id"] for b in made]
    first = (
        await client.get("/v1/product-types/kettle/benchmarks", params={"limit": 1}, headers=READ)
    ).json()["items"][0]
    assert first == made[0]

    steamy = await client.get(
        "/v1/product-types/kettle/benchmarks", params={"brand": "Steamy"}, headers=READ
    )
    assert [b["scores"]["build"] for b in steamy.json()["items"]] == [1.0, 3.0]
    mine = await client.get(
        "/v1/product-types/kettle/benchmarks", params={"product_id": ours["id"]}, headers=READ
    )
    assert [b["id"] for b in mine.json()["items"]] == [made[-1]["id"]]

    for cursor in (encode_cursor([1]), "%%%", encode_cursor(["a", "b"])):
        resp = await client.get(
            "/v1/product-types/kettle/benchmarks", params={"cursor": cursor}, headers=READ
        )
        assert_problem(resp, 422, detail_has="cursor is malformed")
    resp = await client.get(
        "/v1/product-types/kettle/benchmarks", params={"limit": 201}, headers=READ
    )
    assert_problem(resp, 422, detail_has="query.limit")


async def test_idempotent_benchmark_replays(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    headers = {**WRITE, "Idempotency-Key": "bench-1"}
    body = {"brand": "Acme", "source": "s", "scores": {"build": 4}}
    url = "/v1/product-types/kettle/benchmarks"
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post(url, json={**body, "brand": "Other"}, headers=headers)
    assert_problem(other, 422, detail_has="different request body")
    assert len((await client.get(url, headers=READ)).json()["items"]) == 1


# --- ranking -----------------------------------------------------------------------------------


async def test_ranking_weighs_brands_and_places_our_products(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    ours = await make_product(client, attributes={})
    # Boilwell (ours): boil 8 and 6 -> 7; build 9 -> (3*7 + 9) / 4 = 7.5, noise never scored.
    await bench(client, product_id=ours["id"], scores={"boil_speed": 8, "build": 9})
    await bench(client, product_id=ours["id"], scores={"boil_speed": 6})
    # Steamy: (3*9 + 5 + 5) / 5 = 7.4.
    await bench(client, brand="Steamy", scores={"boil_speed": 9, "build": 5, "noise": 5})
    # Acme twice, averaging to (3*8 + 8 + 8) / 5 = 8, and Zest tied with Steamy.
    await bench(client, brand="Acme", scores={"boil_speed": 10, "build": 8, "noise": 6})
    await bench(client, brand="Acme", scores={"boil_speed": 6, "noise": 10})
    await bench(client, brand="Zest", scores={"boil_speed": 9, "build": 5, "noise": 5})

    resp = await client.get("/v1/product-types/kettle/ranking", headers=READ)
    assert resp.status_code == 200, resp.text
    ranking = resp.json()
    assert ranking["product_type"] == "kettle"
    assert ranking["criteria_version"] == 1
    assert ranking["benchmark_count"] == 6
    assert ranking["min_coverage"] == 0.0
    assert [c["name"] for c in ranking["criteria"]] == ["boil_speed", "build", "noise"]
    summary = [
        (b["rank"], b["brand"], b["score"], b["coverage"], b["benchmark_count"])
        for b in ranking["brands"]
    ]
    assert summary == [
        (1, "Acme", 8.0, 1.0, 2),
        (2, "Boilwell", 7.5, 0.8, 2),
        (3, "Steamy", 7.4, 1.0, 1),
        (3, "Zest", 7.4, 1.0, 1),
    ]
    acme = ranking["brands"][0]
    assert acme["criteria"] == [
        {"name": "boil_speed", "mean": 8.0, "count": 2},
        {"name": "build", "mean": 8.0, "count": 1},
        {"name": "noise", "mean": 8.0, "count": 2},
    ]
    assert ranking["brands"][1]["missing_criteria"] == ["noise"]

    (standing,) = ranking["our_products"]
    assert standing == {
        "product_id": ours["id"],
        "sku": "KT-1000",
        "name": "Steel kettle",
        "brand": "Boilwell",
        "score": 7.5,
        "coverage": 0.8,
        "benchmark_count": 2,
        "rank": 2,
        "brand_rank": 2,
        "criteria": [
            {"name": "boil_speed", "mean": 7.0, "count": 2},
            {"name": "build", "mean": 9.0, "count": 1},
        ],
        "missing_criteria": ["noise"],
    }

    thin = await client.get(
        "/v1/product-types/kettle/ranking", params={"min_coverage": 0.9}, headers=READ
    )
    brands = [(b["rank"], b["brand"]) for b in thin.json()["brands"]]
    assert brands == [(1, "Acme"), (2, "Steamy"), (2, "Zest"), (None, "Boilwell")]
    assert thin.json()["our_products"][0]["brand_rank"] is None
    assert thin.json()["our_products"][0]["rank"] == 2


async def test_ranking_follows_the_current_criteria(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    await bench(client, brand="Acme", scores={"boil_speed": 2, "build": 10})
    await bench(client, brand="Steamy", scores={"boil_speed": 9, "build": 1})
    before = (await client.get("/v1/product-types/kettle/ranking", headers=READ)).json()
    assert [b["brand"] for b in before["brands"]] == ["Steamy", "Acme"]
    # Only build counts now; the boil_speed scores stay on the benchmarks but no longer count.
    await client.put(
        "/v1/product-types/kettle/criteria", json=[{"name": "build", "weight": 1}], headers=WRITE
    )
    after = (await client.get("/v1/product-types/kettle/ranking", headers=READ)).json()
    assert after["criteria_version"] == 2
    assert [(b["brand"], b["score"]) for b in after["brands"]] == [("Acme", 10.0), ("Steamy", 1.0)]
    # A brand benchmarked only on dropped criteria is listed, unranked.
    await client.put(
        "/v1/product-types/kettle/criteria", json=[{"name": "noise", "weight": 1}], headers=WRITE
    )
    none = (await client.get("/v1/product-types/kettle/ranking", headers=READ)).json()
    assert [(b["rank"], b["brand"], b["score"], b["benchmark_count"]) for b in none["brands"]] == [
        (None, "Acme", None, 1),
        (None, "Steamy", None, 1),
    ]
    assert none["brands"][0]["missing_criteria"] == ["noise"]


async def test_ranking_without_benchmarks_is_empty(client: httpx.AsyncClient) -> None:
    await make_type(client, "kettle", ())
    resp = await client.get("/v1/product-types/kettle/ranking", headers=READ)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "product_type": "kettle",
        "criteria": [],
        "criteria_version": 0,
        "min_coverage": 0.0,
        "benchmark_count": 0,
        "brands": [],
        "our_products": [],
    }


async def test_ranking_errors(client: httpx.AsyncClient, kettle: dict[str, Any]) -> None:
    assert_problem(
        await client.get("/v1/product-types/nope/ranking", headers=READ), 404, detail_has="'nope'"
    )
    for value in ("-0.1", "1.5", "many", "nan"):
        resp = await client.get(
            "/v1/product-types/kettle/ranking", params={"min_coverage": value}, headers=READ
        )
        problem = assert_problem(resp, 422, detail_has="query.min_coverage")
        assert problem["errors"][0]["loc"] == ["query", "min_coverage"]


# --- events ------------------------------------------------------------------------------------


async def test_research_changes_write_their_events(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    ours = await make_product(client, attributes={})
    # No change, no event; a refused benchmark, no event.
    await client.put("/v1/product-types/kettle/criteria", json=CRITERIA, headers=WRITE)
    await client.post(
        "/v1/product-types/kettle/benchmarks",
        json={"brand": "B", "source": "s", "scores": {"x": 1}},
        headers=WRITE,
    )
    await client.put(
        "/v1/product-types/kettle/criteria",
        json=[*CRITERIA[1:], {"name": "price", "weight": 2}],
        headers=WRITE,
    )
    mine = await bench(client, product_id=ours["id"], scores={"build": 7})
    theirs = await bench(client, brand="Steamy", competitor_ref="ST-9", scores={"price": 4})

    changed = await events_of(app, "catalog.research_criteria")
    assert [e.type for e in changed] == ["catalog.research_criteria.changed.v1"] * 2
    first, second = changed
    assert first.subject == "kettle"
    assert first.sequence is None
    assert first.data["version"] == 1
    assert first.data["added"] == ["boil_speed", "build", "noise"]
    assert first.data["removed"] == []
    assert second.data["version"] == 2
    assert second.data["added"] == ["price"]
    assert second.data["removed"] == ["boil_speed"]
    assert second.data["criteria"][-1] == {"name": "price", "weight": 2.0, "description": None}

    recorded = await events_of(app, "catalog.benchmark")
    assert [e.type for e in recorded] == ["catalog.benchmark.recorded.v1"] * 2
    assert recorded[0].subject == ours["id"]
    assert recorded[0].sequence is None
    assert recorded[0].data["benchmark_id"] == mine["id"]
    assert recorded[0].data["brand"] == "Boilwell"
    assert recorded[0].data["scores"] == {"build": 7.0}
    assert recorded[1].subject == "kettle"
    assert recorded[1].data["benchmark_id"] == theirs["id"]
    assert recorded[1].data["competitor_ref"] == "ST-9"
    for event in changed + recorded:
        assert event.source == "/catalog"
        registry.payload(event)


# --- auth --------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/v1/product-types/kettle/criteria", None, "catalog:read"),
    ("PUT", "/v1/product-types/kettle/criteria", CRITERIA, "catalog:write"),
    ("GET", "/v1/product-types/kettle/benchmarks", None, "catalog:read"),
    (
        "POST",
        "/v1/product-types/kettle/benchmarks",
        {"brand": "B", "source": "s", "scores": {"build": 1}},
        "catalog:write",
    ),
    ("GET", "/v1/benchmarks/b1", None, "catalog:read"),
    ("GET", "/v1/product-types/kettle/ranking", None, "catalog:read"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
async def test_every_route_checks_the_caller(
    client: httpx.AsyncClient, method: str, path: str, body: Any, scope: str
) -> None:
    async def call(headers: dict[str, str] | None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=headers)

    assert_problem(await call(None), 401, detail_has="Authorization: Bearer")
    assert_problem(await call({"Authorization": "Bearer nope"}), 401, detail_has="invalid")
    other = "catalog:write" if scope == "catalog:read" else "catalog:read"
    problem = assert_problem(await call(auth(other)), 403, detail_has=scope)
    assert problem["required_scope"] == scope
    # Past auth, the product type kettle (or the benchmark) does not exist.
    assert_problem(await call(auth("admin")), 404)


# --- the ranking's tally -----------------------------------------------------------------------

tally_migration = importlib.import_module("services.catalog.migrations.0005_benchmark_tally")


def close(left: Any, right: Any) -> bool:
    """Equal, however deep, but for floats within one unit of the 4th decimal."""
    if isinstance(left, float) and isinstance(right, float):
        return abs(left - right) <= 1.000001e-4
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(close(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(close, left, right))
    return bool(left == right)


async def tally_rows(app: FastAPI) -> dict[tuple[str, str, str, str], tuple[float, int]]:
    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(benchmark_tally))).all()
    return {(r.product_type, r.scope, r.key, r.criterion): (r.total, r.count) for r in rows}


async def test_recorded_tally_equals_the_backfill_and_ranks_the_same(
    client: httpx.AsyncClient, app: FastAPI, kettle: dict[str, Any]
) -> None:
    ours = [await make_product(client, sku=f"KT-{i}", brand="Boilwell") for i in range(2)]
    rng = random.Random(16)
    names = [c["name"] for c in kettle["criteria"]]
    for i in range(30):
        scores = {n: round(rng.uniform(0, 10), 2) for n in names if rng.random() < 0.8}
        subject: dict[str, Any] = (
            {"product_id": ours[i % 2]["id"]}
            if i % 5 == 0
            else {"brand": rng.choice(["Boilwell", "Steamy", "Kettlr"])}
        )
        await bench(client, scores=scores or {names[0]: 5.0}, **subject)
    ranked = (await client.get("/v1/product-types/kettle/ranking", headers=READ)).json()
    recorded = await tally_rows(app)

    db = app.state.runtime.db
    async with db.engine.begin() as conn:
        await conn.execute(delete(benchmark_tally))
        await conn.execute(text(tally_migration.BACKFILL))
    backfilled = await tally_rows(app)

    assert recorded.keys() == backfilled.keys()
    for key, (total, count) in recorded.items():
        assert backfilled[key] == (pytest.approx(total), count), key
    # 30 benchmarks, 3 brands, 2 products of ours: one count row per brand and product.
    assert sum(count for (_, scope, _, c), (_, count) in recorded.items() if c == "") == 36
    again = (await client.get("/v1/product-types/kettle/ranking", headers=READ)).json()
    # Sums added one benchmark at a time and sums made at once may differ in the last bits,
    # enough to round a mean shown to 4 decimals the other way when it falls half-way.
    assert close(again, ranked)
    assert ranked["benchmark_count"] == 30
