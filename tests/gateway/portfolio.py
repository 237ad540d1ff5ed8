"""A small portfolio for the review's tests: the real catalog and pricing apps served on
ports in this process (pricing learns the products by catalog events and the sales by
customer events, as in production), and a feedback upstream answering its findings list
with findings built by feedback's own response model; or nothing listening there.

Three products in March 2030, in EUR:
- Alpha (kettle, cost 10.00): 10 sold at 20.00; its plan wanted 100 units and 600.00 margin.
- Beta (kettle, cost 30.00): 4 sold at 25.00, 2 returned: below cost, half returned.
- Gamma (toaster, cost 20.00): 5 sold at 50.00; three critical defect reports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI, Query

from gateway.app import create_app as create_gateway
from services.catalog.app import create_app as create_catalog
from services.feedback.findings.schemas import FindingPublic, TrendPublic
from services.pricing.app import create_app as create_pricing
from shared.settings import Settings
from tests.gateway.upstream import refusing_port, serving
from tests.pricing.conftest import created, deliver, purchase_event
from tests.pricing.test_plans import return_event
from tests.support import auth, running

MARCH = datetime(2030, 3, 10, 12, tzinfo=UTC)
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


def findings_app(findings: list[dict[str, Any]]) -> FastAPI:
    """Feedback's `GET /v1/findings`, answering critical defects from `findings`."""
    app = FastAPI()

    @app.get("/v1/findings")
    async def findings_list(
        kind: str = Query(), severity: str = Query(), limit: int = Query()
    ) -> dict[str, Any]:
        items = [f for f in findings if f["severity"] == severity][:limit]
        return {"items": items, "next_cursor": None}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def critical_defect(product_id: str, items: int) -> dict[str, Any]:
    return FindingPublic(
        id="finding-1",
        product_id=product_id,
        kind="defect",
        severity="critical",
        status="open",
        item_count=items,
        safety_hazard=True,
        topic="the base sparks",
        representative_quote="The base sparked",
        first_seen=MARCH,
        last_seen=MARCH,
        trend=TrendPublic(last_24h=0, daily_average_prior_7d=0.4, direction="falling"),
        regression=False,
        status_note=None,
        version=1,
        created_at=MARCH,
        updated_at=MARCH,
    ).model_dump(mode="json")


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
        before = MARCH - timedelta(days=9)
        for product_id, cost in ((alpha, "10.00"), (beta, "30.00"), (gamma, "20.00")):
            await deliver(pricing_app, created(product_id, cost=cost, at=before))
        await deliver(
            pricing_app,
            purchase_event(alpha, occurred_at=MARCH, quantity=10, amount="20.00", account="acme"),
            purchase_event(beta, occurred_at=MARCH, quantity=4, amount="25.00", account="acme"),
            return_event(beta, occurred_at=MARCH + timedelta(days=1), quantity=2),
            purchase_event(gamma, occurred_at=MARCH, quantity=5, amount="50.00", account="bolt"),
        )
        plan = {
            "kind": "product",
            "subject": alpha,
            "currency": "EUR",
            "targets": [{"month": "2030-03", "units": 100, "revenue": "2000", "margin": "600"}],
        }
        assert (await pricing.post("/v1/plans", json=plan, headers=WRITER)).status_code == 201

        ports = {
            "catalog_port": await stack.enter_async_context(serving(catalog_app)),
            "pricing_port": await stack.enter_async_context(serving(pricing_app)),
        }
        if feedback_up:
            stub = findings_app([critical_defect(gamma, 3)])
            ports["feedback_port"] = await stack.enter_async_context(serving(stub))
        else:
            ports["feedback_port"] = await stack.enter_async_context(refusing_port())
        gateway = create_gateway(make_settings(**ports), services=SERVICES)
        yield Portfolio(gateway, alpha, beta, gamma)
