"""Product creates by group commit (`services/catalog/creates.py`): creates waiting for the
writer are created in one transaction, each answered with its own product or its own error;
a group that cannot commit is created again product by product. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.catalog.app import create_app
from services.catalog.creates import MAX_GROUP_CREATES, product_creates
from services.catalog.schemas import ProductCreate
from services.catalog.service import NewProduct
from services.catalog.tables import product
from shared.auth import Principal
from shared.errors import Conflict, EventTooLarge, Invalid
from shared.settings import Settings
from tests.catalog.conftest import READ, WRITE, make_product, make_type, outbox_events, product_body
from tests.support import CountedTransactions, assert_problem, pg_database, running

EDITOR = Principal(subject="editor-key", name="editor", scopes=frozenset(), owner="editors")


def new(**overrides: Any) -> NewProduct:
    return NewProduct(ProductCreate.model_validate(product_body(**overrides)), EDITOR)


async def stored_skus(app: FastAPI) -> list[str]:
    async with app.state.runtime.db.reader() as session:
        rows = await session.execute(select(product.c.sku).order_by(product.c.id))
    return [row.sku for row in rows]


async def created_events(app: FastAPI) -> list[str]:
    """The subjects (product ids) of the product.created events in the outbox, in order."""
    return [
        str(event.subject)
        for event in await outbox_events(app)
        if event.type == "catalog.product.created.v1"
    ]


async def test_waiting_creates_share_one_transaction_and_each_gets_its_own_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_type(client, "kettle", ("color", "capacity_l"))
    await make_type(client, "tee", ("size",))
    held = await make_product(client, sku="KT-HELD")
    tee = await make_product(client, sku="TEE-1", product_type="tee", attributes={})
    resp = await client.post(
        f"/v1/products/{tee['id']}/variants",
        json={"sku": "TEE-1-L", "axes": {"size": "L"}},
        headers=WRITE,
    )
    assert resp.status_code == 201, resp.text
    variant = resp.json()
    transactions = CountedTransactions(app)
    creates = product_creates(unit_of_work=transactions, notices=app.state.core_notices)
    before = await created_events(app)

    answers = await asyncio.gather(
        *(
            creates.submit(item)
            for item in (
                new(
                    sku="KT-1", description="1.7 l", attributes={"color": "red", "capacity_l": 1.7}
                ),
                new(sku="KT-1", name="Same SKU, later in the group"),
                new(sku="KT-2", product_type="toaster"),
                new(sku="KT-HELD"),
                new(sku="TEE-1-L"),
                new(sku="KT-3"),
            )
        ),
        return_exceptions=True,
    )

    assert transactions.opened == 1
    first, again, unknown_type, product_held, variant_held, third = answers
    assert not isinstance(first, BaseException)
    assert not isinstance(third, BaseException)
    assert (first.sku, first.version, first.lifecycle) == ("KT-1", 1, "draft")
    assert (first.completeness_score, first.completeness_missing) == (100, [])
    assert third.completeness_missing == ["description", "attributes.capacity_l"]
    assert first.created_by == third.created_by == "editor-key"
    assert isinstance(again, Conflict)
    assert again.extra == {"sku": "KT-1", "product_id": first.id}
    assert isinstance(unknown_type, Invalid)
    assert "unknown product type 'toaster'" in unknown_type.detail
    assert isinstance(product_held, Conflict)
    assert product_held.extra == {"sku": "KT-HELD", "product_id": held["id"]}
    assert isinstance(variant_held, Conflict)
    assert variant_held.extra == {
        "sku": "TEE-1-L",
        "product_id": tee["id"],
        "variant_id": variant["id"],
    }
    assert await stored_skus(app) == ["KT-HELD", "TEE-1", "KT-1", "KT-3"]
    # One event each for the products created, none for those refused.
    assert await created_events(app) == [*before, first.id, third.id]


async def test_a_group_holds_at_most_its_bound(app: FastAPI, client: httpx.AsyncClient) -> None:
    await make_type(client, "kettle", ("color", "capacity_l"))
    transactions = CountedTransactions(app)
    creates = product_creates(unit_of_work=transactions, notices=app.state.core_notices)
    count = MAX_GROUP_CREATES + 6

    created = await asyncio.gather(*(creates.submit(new(sku=f"KT-{i}")) for i in range(count)))

    assert [row.sku for row in created] == [f"KT-{i}" for i in range(count)]
    assert transactions.opened == 2
    assert len(await stored_skus(app)) == count


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    # Events over 2 KiB are refused (413) when they would be published.
    return make_settings(
        catalog_database_url=database_url, run_consumers=False, max_event_bytes=2048
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


async def test_a_group_that_cannot_commit_is_created_product_by_product(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_type(client, "kettle", ("color", "capacity_l"))
    transactions = CountedTransactions(app)
    creates = product_creates(unit_of_work=transactions, notices=app.state.core_notices)

    answers = await asyncio.gather(
        creates.submit(new(sku="KT-1")),
        creates.submit(new(sku="KT-BIG", description="A kettle. " * 300)),
        creates.submit(new(sku="KT-2")),
        return_exceptions=True,
    )

    assert isinstance(answers[1], EventTooLarge)
    assert [row.sku for row in (answers[0], answers[2])] == ["KT-1", "KT-2"]  # type: ignore[union-attr]
    # The group's transaction, rolled back, then each create in its own.
    assert transactions.opened == 4
    assert await stored_skus(app) == ["KT-1", "KT-2"]
    assert len(await created_events(app)) == 2


async def test_concurrent_requests_each_get_their_own_response(
    client: httpx.AsyncClient,
) -> None:
    await make_type(client, "kettle", ("color", "capacity_l"))
    bodies = [product_body(sku=f"KT-{i}", name=f"Kettle {i}") for i in range(12)]
    bodies += [product_body(sku="KT-3", name="KT-3 again"), product_body(product_type="toaster")]

    responses = await asyncio.gather(
        *(client.post("/v1/products", json=body, headers=WRITE) for body in bodies)
    )

    assert_problem(responses[13], 422, detail_has="unknown product type 'toaster'")
    # Of the two requests for KT-3, whichever came first has it.
    kt3 = [responses[3], responses[12]]
    assert sorted(resp.status_code for resp in kt3) == [201, 409]
    refused = next(resp for resp in kt3 if resp.status_code == 409)
    assert_problem(refused, 409, detail_has="a product with SKU 'KT-3' already exists")
    for body, resp in zip(bodies[:13], responses[:13], strict=True):
        if resp is refused:
            continue
        assert resp.status_code == 201, resp.text
        created = resp.json()
        assert (created["sku"], created["name"]) == (body["sku"], body["name"])
        assert resp.headers["Location"] == f"/v1/products/{created['id']}"
        fetched = await client.get(resp.headers["Location"], headers=READ)
        assert fetched.json() == created


async def test_a_type_created_after_a_refusal_is_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    creates = product_creates(unit_of_work=app.state.runtime.uow, notices=app.state.core_notices)

    with pytest.raises(Invalid) as refused:
        await creates.submit(new(sku="TS-1", product_type="toaster"))
    await make_type(client, "toaster", ("slots",))
    created = await creates.submit(new(sku="TS-1", product_type="toaster", attributes={}))

    assert "unknown product type 'toaster'" in refused.value.detail
    assert created.product_type == "toaster"
    assert created.completeness_missing == ["description", "attributes.slots"]


@pytest.mark.postgres
async def test_two_processes_grouping_the_same_skus_create_each_once(
    make_settings: Callable[..., Settings],
) -> None:
    """Two catalog processes on one PostgreSQL database, each with a group of the same 40
    SKUs (in opposite orders): every SKU is created once, the other create of it is a 409,
    and neither group fails: the later one waits for the earlier one's SKU locks, then
    finds every SKU held."""
    skus = [f"KT-{i}" for i in range(40)]
    async with pg_database() as url:
        apps = [
            create_app(make_settings(catalog_database_url=url, run_consumers=False))
            for _ in range(2)
        ]
        async with running(apps[0]) as client, running(apps[1]):
            await make_type(client, "kettle", ("color", "capacity_l"))
            transactions = [CountedTransactions(app) for app in apps]
            creates = [
                product_creates(unit_of_work=counted, notices=app.state.core_notices)
                for app, counted in zip(apps, transactions, strict=True)
            ]

            answers = await asyncio.gather(
                *(creates[0].submit(new(sku=sku)) for sku in skus),
                *(creates[1].submit(new(sku=sku)) for sku in reversed(skus)),
                return_exceptions=True,
            )

            stored = await stored_skus(apps[0])
    created = [answer for answer in answers if not isinstance(answer, BaseException)]
    refused = [answer for answer in answers if isinstance(answer, BaseException)]
    assert sorted(row.sku for row in created) == sorted(skus)
    assert len(refused) == len(skus)
    assert all(isinstance(answer, Conflict) for answer in refused)
    assert sorted(stored) == sorted(skus)
    assert [counted.opened for counted in transactions] == [1, 1]
