"""The composed views' routes: `GET /v1/products/{id}/overview`, `GET /v1/dashboard/summary`
and `GET /v1/dead-letters`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from gateway.runtime import CallerDep, RuntimeDep
from gateway.upstream import ServiceCalls
from gateway.views import overview, summary

# The prefix lives on the router so the route templates (metrics labels) are public paths.
router = APIRouter(prefix="/v1", tags=["composed views"])

# Safe in an upstream path as it is: no slash, no leading dot (so no dot segment).
ProductId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._:-]*$")
]


@router.get("/products/{product_id}/overview", response_model=overview.ProductOverview)
async def product_overview(
    product_id: ProductId, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> overview.ProductOverview:
    """One product as every service sees it: the product (catalog), the price in effect on
    each price list and the proposals waiting (pricing), the feedback summary, the launch
    plans with readiness and why they are blocked, and the unmet requirements.

    The catalog is critical: an unknown product is 404, the catalog down or slow is 502 or
    504. Any other service that fails or does not answer within the view budget
    (`PRODUCTOPS_VIEW_BUDGET_S`) leaves its part null and is named in `degraded`; a part the
    caller has no scope for is null and named in `forbidden`.
    """
    calls = ServiceCalls.of(runtime, request)
    return await overview.product_overview(calls=calls, caller=caller, product_id=product_id)


@router.get("/dashboard/summary", response_model=summary.DashboardSummary)
async def dashboard_summary(
    request: Request, runtime: RuntimeDep, caller: CallerDep
) -> summary.DashboardSummary:
    """The ops dashboard's figures: products by lifecycle (catalog), the next 30 days of
    launches with their flags (launch), open critical findings, overdue escalations and the
    ingestion rate (feedback), prices waiting for approval (pricing), and each service's
    outbox backlog, consumer lag and dead letters per consumer group (its `/readyz`).

    A service that fails or does not answer within the view budget leaves its parts null
    and is named in `degraded`; a part the caller has no scope for is null and named in
    `forbidden`.
    """
    calls = ServiceCalls.of(runtime, request)
    return await summary.dashboard_summary(calls=calls, caller=caller, today=runtime.clock().date())
