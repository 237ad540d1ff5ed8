"""`GET /v1/products/stats`: products counted by lifecycle in the database."""

from __future__ import annotations

import httpx

from tests.catalog.conftest import READ, WRITE, make_product, make_type
from tests.support import assert_problem, auth


async def test_products_are_counted_by_lifecycle_every_state_named(
    client: httpx.AsyncClient,
) -> None:
    await make_type(client)
    made = [await make_product(client, sku=f"SKU-{n}") for n in range(3)]
    moved = await client.post(
        f"/v1/products/{made[0]['id']}/lifecycle", json={"to": "discontinued"}, headers=WRITE
    )
    assert moved.status_code == 200, moved.text

    response = await client.get("/v1/products/stats", headers=READ)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "total": 3,
        "by_lifecycle": {"draft": 2, "incoming": 0, "active": 0, "discontinued": 1},
    }


async def test_an_empty_catalog_counts_zeros(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/products/stats", headers=READ)

    assert response.json()["total"] == 0
    assert set(response.json()["by_lifecycle"].values()) == {0}


async def test_product_stats_errors(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/products/stats"), 401)
    denied = await client.get("/v1/products/stats", headers=auth("pricing:read"))
    assert assert_problem(denied, 403)["required_scope"] == "catalog:read"
