"""A small store made through the real services' own APIs (not the gateway), for the
composed views' tests and the gateway benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from shared.events import HEADERS, encode, encode_text, kafka_headers, new_event, topic_of
from shared.tables import outbox
from tests.gateway.services import ServiceProcess
from tests.support import auth, eventually

CRITICAL_REVIEW = "The lid came off and the boiling water burned my hand. Dangerous, avoid!"


class Services:
    """Straight calls to each service, each with a token of the scopes it names."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        scopes: str,
        subject: str = "seeder",
        expect: int | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.urls[service], trust_env=False) as http:
            response = await http.request(
                method, path, headers=auth(scopes, subject=subject), timeout=10, **kwargs
            )
        if expect is not None:
            assert response.status_code == expect, response.text
        return response


@dataclass(frozen=True)
class SeededProduct:
    id: str
    sku: str
    price_list: str
    approved_price_id: str
    pending_price_id: str
    requirement_id: str


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def catalog_product(services: Services) -> dict[str, Any]:
    """A new product type and a draft kettle of it, as the catalog answers."""
    label = tag()
    product_type = f"kettle-{label}"
    await services.call(
        "POST",
        "catalog",
        "/v1/product-types",
        scopes="catalog:write",
        json={"code": product_type, "name": "Kettle", "required_attributes": ["capacity_l"]},
        expect=201,
    )
    made = await services.call(
        "POST",
        "catalog",
        "/v1/products",
        scopes="catalog:write",
        json={
            "sku": f"KT-{label}",
            "name": f"Kettle {label}",
            "product_type": product_type,
            "brand": "Acme",
            "attributes": {"capacity_l": 1.7},
            "cost": {"amount": "12.40", "currency": "EUR"},
        },
        expect=201,
    )
    return dict(made.json())


async def price_list(services: Services) -> str:
    code = f"web-{tag()}"
    await services.call(
        "POST",
        "pricing",
        "/v1/price-lists",
        scopes="pricing:write",
        json={"code": code, "currency": "EUR", "channel": "web"},
        expect=201,
    )
    return code


async def product_with_everything(services: Services) -> SeededProduct:
    """A kettle with an approved price and a pending one, an unmet requirement and a
    critical review triaged into a critical finding."""
    product = await catalog_product(services)
    code = await price_list(services)
    approved = await propose_once_pricing_knows(services, product["id"], code, "29.99")
    await services.call(
        "POST",
        "pricing",
        f"/v1/prices/{approved}/approve",
        scopes="pricing:approve",
        subject="approver",
        expect=200,
    )
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    pending = await services.call(
        "POST",
        "pricing",
        "/v1/prices",
        scopes="pricing:write",
        json={
            "product_id": product["id"],
            "price_list": code,
            "amount": "27.99",
            "kind": "base",
            "valid_from": later,
        },
        expect=201,
    )
    requirement = await services.call(
        "POST",
        "catalog",
        "/v1/requirements",
        scopes="catalog:write",
        json={"text": "A keep-warm mode for tea", "product_id": product["id"]},
        expect=201,
    )
    await critical_review(services, product["id"])
    return SeededProduct(
        id=product["id"],
        sku=product["sku"],
        price_list=code,
        approved_price_id=approved,
        pending_price_id=pending.json()["id"],
        requirement_id=requirement.json()["id"],
    )


async def propose_once_pricing_knows(
    services: Services, product_id: str, price_list: str, amount: str
) -> str:
    """Propose a base price as soon as pricing has heard of the product from the catalog."""
    proposed: dict[str, Any] = {}

    async def accepted() -> bool:
        response = await services.call(
            "POST",
            "pricing",
            "/v1/prices",
            scopes="pricing:write",
            json={
                "product_id": product_id,
                "price_list": price_list,
                "amount": amount,
                "kind": "base",
            },
        )
        proposed.update(response.json())
        return response.status_code == 201

    await eventually(accepted, timeout_s=60)
    return str(proposed["id"])


async def critical_review(services: Services, product_id: str) -> None:
    """A one-star review saying the kettle burned someone, triaged into a critical finding."""
    await services.call(
        "POST",
        "feedback",
        "/v1/customer-events",
        scopes="feedback:ingest",
        json={
            "events": [
                {
                    "event_id": f"review-{tag()}",
                    "kind": "review",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "product_id": product_id,
                    "customer_ref": "customer-1",
                    "rating": 1,
                    "text": CRITICAL_REVIEW,
                }
            ]
        },
        expect=202,
    )

    async def critical() -> bool:
        stats = await services.call(
            "GET",
            "feedback",
            "/v1/findings/stats",
            scopes="feedback:read",
            params={"product_id": product_id},
            expect=200,
        )
        return bool(stats.json()["critical_open"] >= 1)

    await eventually(critical, timeout_s=60)


async def poison_catalog_event(bootstrap: str) -> str:
    """A `catalog.product.created.v1` without its data on the broker: the consumers of
    pricing and feedback cannot read it and dead-letter it at once. Returns its id."""
    event = new_event(
        source="/catalog", type="catalog.product.created.v1", subject=f"poison-{tag()}", data={}
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            "catalog.events",
            encode(event),
            key=(event.subject or "").encode(),
            headers=kafka_headers(),
        )
    finally:
        await producer.stop()
    return event.id


async def blocked_launch(services: Services, product: SeededProduct) -> dict[str, Any]:
    """A launch plan of the product on its price list, five days out, as launch shows it
    once the critical finding has reached it: blocked by `no_critical_defects`."""
    target = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    plan: dict[str, Any] = {}

    async def planned() -> bool:
        # 422 until launch has heard of the product from the catalog.
        response = await services.call(
            "POST",
            "launch",
            "/v1/launches",
            scopes="launch:write",
            json={
                "product_id": product.id,
                "price_list": product.price_list,
                "target_date": target,
            },
        )
        plan.update(response.json())
        return response.status_code == 201

    await eventually(planned, timeout_s=60)

    async def blocked() -> bool:
        response = await services.call(
            "GET", "launch", f"/v1/launches/{plan['id']}", scopes="launch:read", expect=200
        )
        plan.update(response.json())
        return bool(plan["readiness"] == "blocked")

    await eventually(blocked, timeout_s=60)
    return plan


async def parked_event(service: ServiceProcess, error: str) -> str:
    """An event in a real service's outbox, set aside as its relay sets aside one the broker
    can never take (the relay's own parking is tested in tests/kernel). Its type is no one's,
    so consumers skip it once it is re-queued and sent. Returns its id."""
    event = new_event(
        source=f"/{service.name}",
        type="gateway_test.parked.v1",
        subject=f"parked-{tag()}",
        data={"note": "a gateway test's parked event"},
    )
    now = datetime.now(UTC)
    engine = create_async_engine(service.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(outbox).values(
                    id=event.id,
                    topic=topic_of(service.name),
                    key=event.subject,
                    type=event.type,
                    payload=encode_text(event),
                    headers=dict(HEADERS),
                    created_at=now,
                    attempts=1,
                    last_error=error,
                    parked_at=now,
                )
            )
    finally:
        await engine.dispose()
    return event.id
