"""Pricing's schema history keeps proposals made before prices recorded their proposer's
owner, and the four-eyes rule still holds for them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import select
from uuid6 import uuid7

from services.pricing.migrations import history
from services.pricing.tables import price, price_list, product, purchase
from shared.db import Database
from shared.migrations import upgrade
from shared.settings import Settings
from tests.pricing.conftest import PM, READ, START, new_id
from tests.support import assert_problem, auth, running


async def propose_at_revision_1(url: str, *, proposer: str, proposer_name: str) -> str:
    """A price list, a product and a proposal as pricing stored them at revision 1."""
    db = Database(url)
    product_id, price_id = new_id(), str(uuid7())
    try:
        await upgrade(db, history, "0001_initial")
        async with db.engine.begin() as conn:
            await conn.execute(
                price_list.insert().values(
                    code="eu-web",
                    currency="EUR",
                    channel="web",
                    version=1,
                    created_by="key-admin",
                    created_at=START,
                    updated_at=START,
                )
            )
            await conn.execute(
                product.insert().values(
                    id=product_id,
                    sku="SKU-1",
                    lifecycle="active",
                    cost_amount=Decimal("10.00"),
                    cost_currency="EUR",
                    catalog_version=1,
                    event_sequence=0,
                    updated_at=START,
                )
            )
            await conn.execute(
                price.insert().values(
                    id=price_id,
                    product_id=product_id,
                    price_list="eu-web",
                    currency="EUR",
                    kind="base",
                    amount=Decimal("15.00"),
                    valid_from=START + timedelta(days=1),
                    status="proposed",
                    guardrail_violations=[],
                    proposed_by=proposer,
                    proposed_by_name=proposer_name,
                    proposed_at=START,
                    version=1,
                )
            )
    finally:
        await db.dispose()
    return price_id


async def test_a_proposal_from_revision_1_is_owned_by_its_proposer_name_after_the_upgrade(
    settings: Settings, app: FastAPI, database_url: str
) -> None:
    price_id = await propose_at_revision_1(database_url, proposer="key-old", proposer_name="Pat")
    # After the gateway's migration, Pat's old keys are owned by their name, "Pat".
    pat = auth("pricing:read pricing:approve", subject="key-pat-new", owner="Pat")
    dana = auth("pricing:read pricing:approve", subject="key-dana", owner="Dana")

    # The service migrates its database at start.
    async with running(app) as client:
        fetched = await client.get(f"/v1/prices/{price_id}", headers=pat)
        own = await client.post(f"/v1/prices/{price_id}/approve", headers=pat)
        other = await client.post(f"/v1/prices/{price_id}/approve", headers=dana)

    assert fetched.status_code == 200
    assert fetched.json()["proposed_by"] == {"subject": "key-old", "name": "Pat"}
    assert_problem(own, 403, detail_has="you proposed this price")
    assert other.status_code == 200, other.text
    db = Database(settings.database_url("pricing"))
    try:
        async with db.reader() as session:
            owner = await session.scalar(
                select(price.c.proposed_by_owner).where(price.c.id == price_id)
            )
    finally:
        await db.dispose()
    assert owner == "Pat"


async def test_lists_and_purchases_from_before_accounts_are_for_everyone(
    app: FastAPI, database_url: str
) -> None:
    db = Database(database_url)
    try:
        await upgrade(db, history, "0006_guardrail_changes")
        async with db.engine.begin() as conn:
            for code in ("eu-web", "eu-app"):
                await conn.execute(
                    price_list.insert().values(
                        code=code,
                        currency="EUR",
                        channel="web",
                        version=1,
                        created_by="key-admin",
                        created_at=START,
                        updated_at=START,
                    )
                )
            await conn.execute(
                purchase.insert().values(
                    event_id="shop/o-1",
                    product_id="prod-1",
                    occurred_at=START,
                    quantity=1,
                    unit_price=Decimal("19.99"),
                    currency="EUR",
                    received_at=START,
                )
            )
    finally:
        await db.dispose()

    # The service migrates its database at start.
    async with running(app) as client:
        listed = await client.get("/v1/price-lists", headers=READ)
        scoped = await client.patch("/v1/price-lists/eu-app", json={"account": "acme"}, headers=PM)
        twice = await client.patch("/v1/price-lists/eu-web", json={"account": "acme"}, headers=PM)
    assert [(p["code"], p["account"]) for p in listed.json()["items"]] == [
        ("eu-app", None),
        ("eu-web", None),
    ]
    assert scoped.json()["account"] == "acme"
    assert_problem(twice, 409, detail_has="already has price list 'eu-app' in EUR")
    async with app.state.runtime.db.reader() as session:
        assert await session.scalar(select(purchase.c.account)) is None
