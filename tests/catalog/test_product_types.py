"""Product types over HTTP: create, read, list, and every error with its problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.catalog.conftest import BOTH, READ, WRITE, make_type
from tests.support import assert_problem


async def test_create_then_get(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/v1/product-types",
        json={"code": "kettle", "name": "Kettle", "required_attributes": [" color ", "watts"]},
        headers=WRITE,
    )
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["code"] == "kettle"
    assert created["required_attributes"] == ["color", "watts"]
    assert created["version"] == 1
    assert created["created_at"].endswith("Z")

    resp = await client.get("/v1/product-types/kettle", headers=READ)
    assert resp.status_code == 200
    assert resp.json() == created


async def test_required_attributes_default_to_none(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/v1/product-types", json={"code": "gift-card", "name": "Gift card"}, headers=WRITE
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["required_attributes"] == []


async def test_list_walks_pages_by_code(client: httpx.AsyncClient) -> None:
    for code in ("toaster", "kettle", "blender", "mixer", "airfryer"):
        await make_type(client, code)
    codes: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        resp = await client.get("/v1/product-types", params=params, headers=READ)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= 2
        codes += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert codes == ["airfryer", "blender", "kettle", "mixer", "toaster"]


async def test_duplicate_code_is_a_conflict(client: httpx.AsyncClient) -> None:
    await make_type(client, "kettle")
    resp = await client.post(
        "/v1/product-types", json={"code": "kettle", "name": "Again"}, headers=WRITE
    )
    body = assert_problem(resp, 409, detail_has="'kettle' already exists")
    assert body["code"] == "kettle"


async def test_unknown_code_is_not_found(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/product-types/nope", headers=READ)
    assert_problem(resp, 404, detail_has="'nope'")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "No code"}, "body.code: Field required"),
        ({"code": "kettle"}, "body.name: Field required"),
        ({"code": "Kettle", "name": "Upper"}, "invalid product type code"),
        ({"code": "kettle", "name": "  "}, "body.name"),
        ({"code": "kettle", "name": "K", "version": 3}, "body.version: Extra inputs"),
        ({"code": "kettle", "name": "K", "required_attributes": "color"}, "required_attributes"),
        ({"code": "kettle", "name": "K", "required_attributes": ["a", "a"]}, "duplicate"),
        ({"code": "kettle", "name": "K", "required_attributes": ["1x"]}, "invalid attribute"),
    ],
)
async def test_invalid_bodies_are_rejected(
    client: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    resp = await client.post("/v1/product-types", json=body, headers=WRITE)
    problem = assert_problem(resp, 422, detail_has=detail)
    assert problem["errors"]
    assert {"loc", "msg"} <= set(problem["errors"][0])


async def test_idempotent_create_replays(client: httpx.AsyncClient) -> None:
    headers = {**WRITE, "Idempotency-Key": "type-1"}
    body = {"code": "kettle", "name": "Kettle"}
    first = await client.post("/v1/product-types", json=body, headers=headers)
    again = await client.post("/v1/product-types", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post("/v1/product-types", json={**body, "name": "Other"}, headers=headers)
    assert_problem(other, 422, detail_has="different request body")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/product-types"), ("GET", "/v1/product-types/kettle")],
)
async def test_reads_need_catalog_read(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert_problem(await client.request(method, path), 401, detail_has="Bearer")
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert_problem(await client.request(method, path, headers=bad), 401, detail_has="invalid")
    assert_problem(
        await client.request(method, path, headers=WRITE), 403, detail_has="catalog:read"
    )


async def test_create_needs_catalog_write(client: httpx.AsyncClient) -> None:
    body = {"code": "kettle", "name": "Kettle"}
    assert_problem(await client.post("/v1/product-types", json=body), 401)
    resp = await client.post("/v1/product-types", json=body, headers=READ)
    problem = assert_problem(resp, 403, detail_has="catalog:write")
    assert problem["required_scope"] == "catalog:write"
    assert (await client.get("/v1/product-types", headers=BOTH)).json()["items"] == []
