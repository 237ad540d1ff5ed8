"""Catalog app fixtures: each test gets a fresh database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.catalog.app import create_app
from shared.events import CloudEvent, decode
from shared.settings import Settings
from shared.tables import outbox
from tests.support import auth, running

READ = auth("catalog:read")
WRITE = auth("catalog:write")
BOTH = auth("catalog:read catalog:write")


@pytest.fixture
def app(make_settings: Callable[..., Settings], database_url: str) -> FastAPI:
    # API tests check the outbox, not delivery: an API-only process, no consumer group to
    # join (~3 s on the embedded broker). Delivery: tests/catalog/requirements/test_handlers.py.
    return create_app(make_settings(catalog_database_url=database_url, run_consumers=False))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as http:
        yield http


async def make_type(
    client: httpx.AsyncClient,
    code: str = "kettle",
    required: tuple[str, ...] = ("color", "capacity_l"),
) -> dict[str, Any]:
    resp = await client.post(
        "/v1/product-types",
        json={"code": code, "name": code.title(), "required_attributes": list(required)},
        headers=WRITE,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": "KT-1000",
        "name": "Steel kettle",
        "product_type": "kettle",
        "brand": "Boilwell",
        "attributes": {"color": "silver"},
        "cost": {"amount": "19.99", "currency": "EUR"},
    }
    body.update(overrides)
    return body


async def make_product(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    resp = await client.post("/v1/products", json=product_body(**overrides), headers=WRITE)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def walk(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = await client.get(path, params=query, headers=READ)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= params.get("limit", 50)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def outbox_events(app: FastAPI) -> list[CloudEvent]:
    """The events the app has written to its outbox, oldest first."""
    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
    return [decode(row.payload) for row in rows]
