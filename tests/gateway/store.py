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


# --- the knowledge sheet's store -----------------------------------------------------------

PRICE_QUESTION = "Do you give a discount for 40 units for our office?"
PRICE_ANSWER = "Yes: 10% from 25 units | ask sales."


@dataclass(frozen=True)
class KnowledgeStore:
    """What `knowledge_store` made: the kettle, its type, and what the sheet must show."""

    kettle: SeededProduct
    product_type: str
    study_id: str
    other_active_id: str
    draft_id: str
    answer_id: str


async def catalog_call(services: Services, method: str, path: str, **kwargs: Any) -> Any:
    """A catalog call by a reader and writer; by default 201 for a POST, else 200."""
    expect = kwargs.pop("expect", 201 if method == "POST" else 200)
    response = await services.call(
        method, "catalog", path, scopes="catalog:read catalog:write", expect=expect, **kwargs
    )
    return response.json()


async def _activate(services: Services, product_id: str) -> None:
    for to in ("incoming", "active"):
        await catalog_call(
            services, "POST", f"/v1/products/{product_id}/lifecycle", json={"to": to}, expect=200
        )


async def knowledge_store(services: Services) -> KnowledgeStore:
    """The kettle of `product_with_everything` (prices, a critical defect, a blocked launch)
    with a variant, research, a competitor case study, a vendor's answers, a case and a
    decision; and two more kettles of its type, one active, one draft."""
    kettle = await product_with_everything(services)
    await blocked_launch(services, kettle)
    product = await catalog_call(services, "GET", f"/v1/products/{kettle.id}")
    code = product["product_type"]
    await catalog_call(
        services,
        "POST",
        f"/v1/products/{kettle.id}/variants",
        json={"sku": f"{kettle.sku}-B", "axes": {"color": "black"}},
    )
    criteria = [{"name": "boil_speed", "weight": 2}, {"name": "build", "weight": 1}]
    await catalog_call(services, "PUT", f"/v1/product-types/{code}/criteria", json=criteria)
    for brand, scores in (("Acme", {"boil_speed": 8, "build": 6}), ("Kettlo", {"build": 9})):
        await catalog_call(
            services,
            "POST",
            f"/v1/product-types/{code}/benchmarks",
            json={"brand": brand, "scores": scores, "source": "lab test"},
        )
    study = await catalog_call(
        services,
        "POST",
        f"/v1/product-types/{code}/case-studies",
        json={
            "competitor": "Kettlo",
            "competitor_product": "Kettlo Pro | 1.7 l",
            "strengths": "Boils in 2 minutes.",
            "weaknesses": "<b>Lid hinge</b> breaks within a year.",
            "sources": [{"url": "https://example.com/review", "text": "Consumer review"}],
        },
    )
    template = await catalog_call(
        services,
        "POST",
        "/v1/questionnaires",
        json={
            "title": "Kettle facts",
            "product_type": code,
            "questions": [
                {
                    "key": "capacity",
                    "text": "Capacity?",
                    "type": "number",
                    "unit": "l",
                    "attribute": "capacity_l",
                }
            ],
        },
    )
    await services.call(
        "POST",
        "catalog",
        f"/v1/questionnaires/{template['id']}/responses",
        scopes="catalog:read catalog:write",
        subject="vendor-acme",
        json={"product_id": kettle.id, "answers": {"capacity": 1.5}},
        expect=201,
    )
    await catalog_call(
        services,
        "POST",
        f"/v1/products/{kettle.id}/cases",
        json={"stance": "for", "summary": "Asked for by 40 customers a week."},
    )
    await catalog_call(
        services,
        "POST",
        f"/v1/products/{kettle.id}/decision",
        json={"outcome": "adopt", "rationale": "Demand is steady."},
    )
    await _activate(services, kettle.id)
    label = tag()
    body = {"name": "Other kettle", "product_type": code, "brand": "Acme"}
    other = await catalog_call(
        services, "POST", "/v1/products", json={**body, "sku": f"OT-{label}"}
    )
    await _activate(services, other["id"])
    draft = await catalog_call(
        services, "POST", "/v1/products", json={**body, "sku": f"DR-{label}"}
    )
    answer = await answered_question(services, kettle.id)
    return KnowledgeStore(kettle, code, study["id"], other["id"], draft["id"], answer["id"])


async def answered_question(services: Services, product_id: str) -> dict[str, Any]:
    """A customer's price question about the product, escalated to sales and answered."""
    await services.call(
        "POST",
        "feedback",
        "/v1/customer-events",
        scopes="feedback:ingest",
        json={
            "events": [
                {
                    "event_id": f"question-{tag()}",
                    "kind": "question",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "product_id": product_id,
                    "customer_ref": "customer-2",
                    "text": PRICE_QUESTION,
                }
            ]
        },
        expect=202,
    )
    found: list[dict[str, Any]] = []

    async def escalated() -> bool:
        response = await services.call(
            "GET",
            "feedback",
            "/v1/escalations",
            scopes="feedback:read",
            params={"product_id": product_id, "route": "sales"},
            expect=200,
        )
        found[:] = response.json()["items"]
        return bool(found)

    await eventually(escalated, timeout_s=60)
    answered = await services.call(
        "POST",
        "feedback",
        f"/v1/escalations/{found[0]['id']}/answer",
        scopes="feedback:write",
        json={"answer": PRICE_ANSWER},
        expect=201,
    )
    return dict(answered.json())
