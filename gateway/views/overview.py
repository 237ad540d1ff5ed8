"""`GET /v1/products/{id}/overview`: one product as every service sees it.

The catalog is critical: without the product there is no overview, so its failure is the
view's (404 passed on, 502 down, 504 slow), as for routing. Every other part is optional:
when its service fails or is slow the part is null and the service named in `degraded`;
when the caller lacks its scope it is null and named in `forbidden`. All calls start at
once and share the view's budget, so a hung service costs the budget, not the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field

from gateway.upstream import Answer, Failure, ServiceCalls, Trouble
from gateway.views.sections import (
    Missing,
    Section,
    if_allowed,
    items_of,
    section_of,
    services_missing,
)
from shared.auth import Principal
from shared.errors import NotFound, UpstreamError, UpstreamTimeout

# How many of a product's entries each list part shows: an overview, not an export.
PART_LIMIT = 50


class LaunchPart(BaseModel):
    plans: list[dict[str, Any]] = Field(
        description="the product's launch plans as `GET /v1/launch/launches/{id}` shows "
        "them: readiness, gates and, for a gate not passing, the chain of reasons"
    )


class ProductOverview(BaseModel):
    """A product with its prices, feedback, launch and requirements; a part is null when
    its service failed (`degraded`) or the caller may not read it (`forbidden`)."""

    product: dict[str, Any] | None = Field(description="the catalog's product")
    prices: list[dict[str, Any]] | None = Field(
        description="the price in effect now on each price list that has one (pricing)"
    )
    pending_prices: list[dict[str, Any]] | None = Field(
        description=f"proposals waiting for approval, the first {PART_LIMIT} (pricing)"
    )
    feedback: dict[str, Any] | None = Field(
        description="open findings, critical open, by category, sentiment, overdue "
        "escalations (feedback's `GET /v1/findings/stats`)"
    )
    launch: LaunchPart | None
    requirements: list[dict[str, Any]] | None = Field(
        description=f"unmet customer requirements among the {PART_LIMIT} most asked (catalog)"
    )
    degraded: list[str] = Field(description="services that failed or did not answer in time")
    forbidden: list[str] = Field(description="services whose parts the caller may not read")


async def product_overview(
    *, calls: ServiceCalls, caller: Principal, product_id: str
) -> ProductOverview:
    """Ask every service at once; the catalog's failure is the view's."""
    product_task = asyncio.create_task(_product(calls, caller, product_id))
    optional = asyncio.gather(
        if_allowed(caller, "catalog:read", "catalog", lambda: _requirements(calls, product_id)),
        if_allowed(caller, "pricing:read", "pricing", lambda: _prices(calls, product_id)),
        if_allowed(caller, "pricing:read", "pricing", lambda: _pending(calls, product_id)),
        if_allowed(caller, "feedback:read", "feedback", lambda: _feedback(calls, product_id)),
        if_allowed(caller, "launch:read", "launch", lambda: _launch(calls, product_id)),
    )
    try:
        product = await product_task
    except BaseException:
        optional.cancel()
        # Awaited so that its CancelledError is read: a gather nobody reads logs an error
        # ("exception was never retrieved") when it is collected.
        with contextlib.suppress(asyncio.CancelledError):
            await optional
        raise
    requirements, prices, pending, feedback, launch = await optional
    parts = [product, requirements, prices, pending, feedback, launch]
    return ProductOverview(
        product=product.value,
        prices=prices.value,
        pending_prices=pending.value,
        feedback=feedback.value,
        launch=launch.value,
        requirements=requirements.value,
        degraded=services_missing(parts, Missing.DEGRADED),
        forbidden=services_missing(parts, Missing.FORBIDDEN),
    )


async def _product(calls: ServiceCalls, caller: Principal, product_id: str) -> Section:
    if not caller.has("catalog:read"):
        return Section("catalog", missing=Missing.FORBIDDEN)
    outcome = await calls.get("catalog", f"/v1/products/{product_id}")
    if not isinstance(outcome, Failure):
        return Section("catalog", outcome.body)
    match outcome.trouble:
        case Trouble.FORBIDDEN:
            return Section("catalog", missing=Missing.FORBIDDEN)
        case Trouble.NOT_FOUND:
            raise NotFound(outcome.detail)
        case Trouble.TIMEOUT:
            raise UpstreamTimeout(
                f"the catalog service did not answer within {calls.budget_s:g} s",
                service="catalog",
            )
        case _:
            raise UpstreamError(outcome.detail, service="catalog")


async def _requirements(calls: ServiceCalls, product_id: str) -> Section:
    outcome = await calls.get(
        "catalog", f"/v1/products/{product_id}/requirements", params={"limit": PART_LIMIT}
    )
    return section_of(outcome, lambda body: [r for r in items_of(body) if not r["met"]])


async def _prices(calls: ServiceCalls, product_id: str) -> Section:
    outcome = await calls.get(
        "pricing", f"/v1/products/{product_id}/effective-prices", params={"limit": PART_LIMIT}
    )
    return section_of(outcome, items_of)


async def _pending(calls: ServiceCalls, product_id: str) -> Section:
    outcome = await calls.get(
        "pricing",
        "/v1/prices",
        params={"product_id": product_id, "status": "proposed", "limit": PART_LIMIT},
    )
    return section_of(outcome, items_of)


async def _feedback(calls: ServiceCalls, product_id: str) -> Section:
    outcome = await calls.get("feedback", "/v1/findings/stats", params={"product_id": product_id})
    return section_of(outcome)


async def _launch(calls: ServiceCalls, product_id: str) -> Section:
    """The product's plans, then each plan in full (the list leaves out why it is blocked)."""
    listed = await calls.get(
        "launch", "/v1/launches", params={"product_id": product_id, "limit": PART_LIMIT}
    )
    ids = section_of(listed, lambda body: [str(plan["id"]) for plan in items_of(body)])
    if ids.missing is not None:
        return ids
    plans = await asyncio.gather(
        *(calls.get("launch", f"/v1/launches/{quote(id_, safe='')}") for id_ in ids.value)
    )
    failed = [plan for plan in plans if isinstance(plan, Failure)]
    if failed:
        return section_of(failed[0])
    return Section(
        "launch", LaunchPart(plans=[plan.body for plan in plans if isinstance(plan, Answer)])
    )
