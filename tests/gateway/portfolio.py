"""A small portfolio for the review's tests: the real catalog, pricing and feedback apps
served on ports in this process. Pricing and feedback learn the products by the catalog's
events and pricing the sales by customer events, as in production; feedback's triage worker
(the real model) turns a customer's review into a critical finding. Or, for the review's
missing sections, nothing listening where feedback should be.

Four products in March 2030, in EUR:
- Alpha (kettle, cost 10.00): 10 sold at 20.00; its plan wanted 100 units and 600.00 margin.
- Beta (kettle, cost 30.00): 4 sold at 25.00, 2 returned: below cost, half returned.
- Gamma (toaster, cost 20.00): 5 sold at 50.00; one critical defect report (a one-star
  review: it burned a customer), still open.
- Delta (kettle, cost 15.00): nothing sold; its plan wanted 50 units.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from gateway.app import create_app as create_gateway
from services.catalog.app import create_app as create_catalog
from services.feedback.app import create_app as create_feedback
from services.pricing.app import create_app as create_pricing
from shared.events import CloudEvent
from shared.settings import Settings
from tests.feedback.conftest import outbox_events
from tests.gateway.store import Services, critical_review
from tests.gateway.upstream import refusing_port, serving
from tests.pricing.conftest import created, purchase_event
from tests.pricing.test_plans import return_event
from tests.support import auth, running

MARCH = datetime(2030, 3, 10, 12, tzinfo=UTC)
CATALOG_EVENTS = "catalog.events"
PRODUCT_CREATED = "catalog.product.created.v1"
SERVICES = ["catalog", "feedback", "pricing"]
# The review's reader: finance, and every service it composes.
LEADER = auth("catalog:read feedback:read pricing:read pricing:finance", subject="key-cfo")
WRITER = auth("catalog:read catalog:write pricing:read pricing:write pricing:finance")


@dataclass(frozen=True)
class Portfolio:
    gateway: FastAPI
    alpha: str
    beta: str
    gamma: str


async def deliver(app: FastAPI, *events: CloudEvent) -> None:
    """Hand events straight to the app's registered handlers, one transaction each, as its
    consumer would (these apps run none: no broker)."""
    runtime = app.state.runtime
    for event in events:
        async with runtime.uow() as uow:
            await runtime.handlers[event.type](event, uow)


async def _feedback(stack: AsyncExitStack, settings: Settings, catalog: FastAPI, gamma: str) -> int:
    """The real feedback app served on a port, told of the catalog's products by the
    catalog's own product-created events (from its outbox: without a broker they stay
    there), with a critical review of Gamma triaged into an open finding. Its port."""
    app = create_feedback(settings)
    await stack.enter_async_context(running(app))
    made = [e for e in await outbox_events(catalog, CATALOG_EVENTS) if e.type == PRODUCT_CREATED]
    assert len(made) == 4, made
    await deliver(app, *made)
    port = await stack.enter_async_context(serving(app))
    await critical_review(Services({"feedback": f"http://127.0.0.1:{port}"}), gamma)
    return port


async def _product(catalog: httpx.AsyncClient, name: str, kind: str, cost: str) -> str:
    made = await catalog.post(
        "/v1/products",
        json={
            "sku": f"SKU-{name.upper()}",
            "name": name,
            "product_type": kind,
            "brand": "Acme",
            "attributes": {},
            "cost": {"amount": cost, "currency": "EUR"},
        },
        headers=WRITER,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


@asynccontextmanager
async def portfolio(
    make_settings: Callable[..., Settings], *, feedback_up: bool = True
) -> AsyncIterator[Portfolio]:
    async with AsyncExitStack() as stack:
        settings = make_settings(run_consumers=False)
        catalog_app, pricing_app = create_catalog(settings), create_pricing(settings)
        catalog = await stack.enter_async_context(running(catalog_app))
        pricing = await stack.enter_async_context(running(pricing_app))
        for code, name in (("kettle", "Kettle"), ("toaster", "Toaster")):
            made = await catalog.post(
                "/v1/product-types",
                json={"code": code, "name": name, "required_attributes": []},
                headers=WRITER,
            )
            assert made.status_code == 201, made.text
        alpha = await _product(catalog, "Alpha", "kettle", "10.00")
        beta = await _product(catalog, "Beta", "kettle", "30.00")
        gamma = await _product(catalog, "Gamma", "toaster", "20.00")
        delta = await _product(catalog, "Delta", "kettle", "15.00")
        before = MARCH - timedelta(days=9)
        for product_id, cost in (
            (alpha, "10.00"),
            (beta, "30.00"),
            (gamma, "20.00"),
            (delta, "15.00"),
        ):
            await deliver(pricing_app, created(product_id, cost=cost, at=before))
        await deliver(
            pricing_app,
            purchase_event(alpha, occurred_at=MARCH, quantity=10, amount="20.00", account="acme"),
            purchase_event(beta, occurred_at=MARCH, quantity=4, amount="25.00", account="acme"),
            return_event(beta, occurred_at=MARCH + timedelta(days=1), quantity=2),
            purchase_event(gamma, occurred_at=MARCH, quantity=5, amount="50.00", account="bolt"),
        )
        for subject, units in ((alpha, 100), (delta, 50)):
            plan = {
                "kind": "product",
                "subject": subject,
                "currency": "EUR",
                "targets": [
                    {"month": "2030-03", "units": units, "revenue": "2000", "margin": "600"}
                ],
            }
            made = await pricing.post("/v1/plans", json=plan, headers=WRITER)
            assert made.status_code == 201, made.text

        ports = {
            "catalog_port": await stack.enter_async_context(serving(catalog_app)),
            "pricing_port": await stack.enter_async_context(serving(pricing_app)),
        }
        if feedback_up:
            ports["feedback_port"] = await _feedback(stack, settings, catalog_app, gamma)
        else:
            ports["feedback_port"] = await stack.enter_async_context(refusing_port())
        gateway = create_gateway(make_settings(**ports), services=SERVICES)
        yield Portfolio(gateway, alpha, beta, gamma)
