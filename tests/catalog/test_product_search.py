"""Product search (`q`) gives what a plain substring filter gives, whichever path serves it.

On SQLite an FTS5 trigram index names the candidates (needles of 3 characters or more that
match few products), the scan serves the rest; on PostgreSQL ILIKE uses trigram indexes.
Each test compares the API's answer with a brute-force filter of the products it made.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.catalog import service
from tests.catalog.conftest import READ, WRITE, make_product, make_type, walk
from tests.support import assert_problem

# Case differs in ASCII only: SQLite's lower() folds nothing else, PostgreSQL's folds more,
# and the brute force below must agree with both.
PIECES = [
    "Kettle", "kettle", "KETTLE", "Toast", "steam", "Stéam", "ßtraße", "øre", "50%", "5_0",
    "a/b", 'say "hi"', "it's", "x", "Xy", "  ", "-", "BOIL", "boilwell", "Mug 2",
]  # fmt: skip
NEEDLES = [
    "k", "Ke", "ket", "KETTLE", "ettl", "toast", "STEAM", "stéam", "téa", "ßtr", "traße",
    "øre", "50%", "%", "5_0", "_", "a/b", "/", '"hi"', '"', "it's", "'", "  ", "- ", "boil",
    "wELL", "mug 2", "ug 2", "no such thing", "xy", "XYZ", "SKU-00", "sku-013", "-01",
]  # fmt: skip


def brute_force(products: list[dict[str, Any]], needle: str) -> list[str]:
    """The SKUs whose name, SKU or brand contains `needle` ignoring ASCII case, by id; the
    API strips `q`, and a blank one filters nothing."""
    wanted = needle.strip().lower()
    return [
        p["sku"]
        for p in sorted(products, key=lambda p: p["id"])
        if any(wanted in p[field].lower() for field in ("name", "sku", "brand"))
    ]


async def generated(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    await make_type(client, "kettle", ())
    rng = random.Random(16)
    return [
        await make_product(
            client,
            sku=f"SKU-{i:03d}" + rng.choice(["", "-KT", "-Kettle", "-5_0", "-x.y"]),
            name=" ".join(rng.sample(PIECES, 2)),
            brand=rng.choice(PIECES[:8]),
        )
        for i in range(count)
    ]


async def searched(client: httpx.AsyncClient, needle: str, limit: int = 7) -> list[str]:
    return [p["sku"] for p in await walk(client, "/v1/products", q=needle, limit=limit)]


async def test_search_equals_a_brute_force_filter(client: httpx.AsyncClient) -> None:
    products = await generated(client, 40)
    for needle in NEEDLES:
        assert await searched(client, needle) == brute_force(products, needle), needle


async def test_search_follows_renames(client: httpx.AsyncClient, app: FastAPI) -> None:
    products = await generated(client, 12)
    renamed = products[3]
    resp = await client.patch(
        f"/v1/products/{renamed['id']}",
        json={"name": "Quartz grinder", "brand": "Grindco"},
        headers=WRITE,
    )
    assert resp.status_code == 200, resp.text
    products[3] = resp.json()

    db = app.state.runtime.db
    if db.dialect == "sqlite":
        # The trigram index itself holds the new name, not only the table.
        async with db.reader() as session:
            indexed = await session.scalars(
                text(
                    "SELECT k.product_id FROM product_search AS s JOIN product_search_key AS k"
                    " ON k.seq = s.rowid WHERE product_search MATCH '\"quartz\"'"
                )
            )
            assert list(indexed) == [renamed["id"]]
    assert await searched(client, "quartz") == [renamed["sku"]]
    assert await searched(client, "grindco") == [renamed["sku"]]
    for needle in ("kettle", "toast", "steam", "SKU-003"):
        assert await searched(client, needle) == brute_force(products, needle), needle


async def test_a_needle_matching_many_products_gives_the_same_answer(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past this many candidates the SQLite path scans instead of using the trigram index.
    monkeypatch.setattr(service, "SEARCH_CANDIDATES", 3)
    products = await generated(client, 20)
    for needle in ("SKU-0", "kettle", "sku-01", "ßtraße", "no such thing"):
        assert await searched(client, needle, limit=2) == brute_force(products, needle), needle


async def test_a_search_or_filter_holding_a_nul_character_is_422(client: httpx.AsyncClient) -> None:
    # Found by schemathesis: SQLite's full-text search read the NUL as the end of its phrase
    # (500), and PostgreSQL refuses the character in any text parameter (500).
    await make_type(client)
    for params in ({"q": "ket\x00tle"}, {"brand": "Boil\x00well"}):
        response = await client.get("/v1/products", params=params, headers=READ)
        body = assert_problem(response, 422, detail_has="NUL character")
        assert body["errors"][0]["loc"] == ["query", *params]
