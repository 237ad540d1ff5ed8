"""`GET /v1/dashboard/summary`: the ops dashboard's figures, from every service at once.

Each figure comes from a small aggregate the service computes itself (no list is paged
through here), and the operational state of each service from its `/readyz`. Every part is
optional: a service that fails or is slow leaves its parts null and is named in
`degraded`; a part the caller has no scope for is null and named in `forbidden`.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field

from gateway.upstream import Failure, ServiceCalls
from gateway.views.sections import (
    Missing,
    Section,
    if_allowed,
    section_of,
    services_missing,
)
from shared.auth import Principal

# The launch calendar covers CALENDAR_DAYS days, today included: today through
# today + CALENDAR_DAYS - 1, both ends inclusive (launch's `to` is inclusive). The summary's
# `from`/`to` and its entries, and the dashboard's strip (drawn from `from`..`to`), are the
# same days: a launch on the last day shown is in the answer, and none past it.
CALENDAR_DAYS = 30
FINDINGS_DAYS = 14
INGESTION_MINUTES = 15
# `/readyz` answers 503 when a service is not ready, with the same body: still worth showing.
_NOT_READY = 503


class LaunchesPart(BaseModel):
    from_: date = Field(alias="from", serialization_alias="from", description="today")
    to: date = Field(description=f"the calendar's last day, inclusive: from + {CALENDAR_DAYS - 1}")
    by_readiness: dict[str, int] = Field(
        description="every open plan (planned or approved) by readiness, whatever its target "
        "date: launch's `GET /v1/launches/stats`"
    )
    by_status: dict[str, int] = Field(description="every plan by status")
    at_risk: int = Field(description="launched plans at risk in their monitoring")
    calendar: list[dict[str, Any]] = Field(
        description="launch's `GET /v1/launch-calendar` entries, with their behind, slipped "
        "and at-risk flags"
    )


class ServiceOps(BaseModel):
    """A service's delivery state, from its `/readyz`."""

    status: str
    outbox_backlog: int | None
    consumer_lag: int | None
    dead_letters: dict[str, dict[str, int]] = Field(
        description="per consumer group, per status (open, replayed, discarded)"
    )


class DashboardSummary(BaseModel):
    """The ops dashboard's figures; a part is null when its service failed (`degraded`) or
    the caller may not read it (`forbidden`)."""

    products: dict[str, Any] | None = Field(description="catalog: products by lifecycle")
    launches: LaunchesPart | None = Field(
        description=f"launch: plans by readiness and the next {CALENDAR_DAYS} days of the calendar"
    )
    findings: dict[str, Any] | None = Field(
        description="feedback: open and critical findings, overdue escalations, findings "
        f"opened per day by severity over the last {FINDINGS_DAYS} days"
    )
    ingestion: dict[str, Any] | None = Field(
        description=f"feedback: customer events per minute over the last {INGESTION_MINUTES}"
    )
    prices: dict[str, Any] | None = Field(description="pricing: prices waiting for approval")
    services: dict[str, ServiceOps | None] = Field(
        description="each service's outbox backlog, consumer lag and dead letters"
    )
    degraded: list[str]
    forbidden: list[str]


async def dashboard_summary(
    *, calls: ServiceCalls, caller: Principal, today: date
) -> DashboardSummary:
    """Ask every service at once; each part stands or falls alone."""
    services = calls.services
    products, launches, findings, ingestion, prices, *ops = await asyncio.gather(
        if_allowed(caller, "catalog:read", "catalog", lambda: _products(calls)),
        if_allowed(caller, "launch:read", "launch", lambda: _launches(calls, today)),
        if_allowed(caller, "feedback:read", "feedback", lambda: _findings(calls)),
        if_allowed(caller, "feedback:read", "feedback", lambda: _ingestion(calls)),
        if_allowed(caller, "pricing:read", "pricing", lambda: _prices(calls)),
        *(_ops(calls, service) for service in services),
    )
    parts = [products, launches, findings, ingestion, prices, *ops]
    return DashboardSummary(
        products=products.value,
        launches=launches.value,
        findings=findings.value,
        ingestion=ingestion.value,
        prices=prices.value,
        services={section.service: section.value for section in ops},
        degraded=services_missing(parts, Missing.DEGRADED),
        forbidden=services_missing(parts, Missing.FORBIDDEN),
    )


async def _products(calls: ServiceCalls) -> Section:
    return section_of(await calls.get("catalog", "/v1/products/stats"))


async def _findings(calls: ServiceCalls) -> Section:
    outcome = await calls.get("feedback", "/v1/findings/stats", params={"days": FINDINGS_DAYS})
    return section_of(outcome)


async def _ingestion(calls: ServiceCalls) -> Section:
    outcome = await calls.get(
        "feedback", "/v1/customer-events/stats", params={"minutes": INGESTION_MINUTES}
    )
    return section_of(outcome)


async def _prices(calls: ServiceCalls) -> Section:
    return section_of(await calls.get("pricing", "/v1/prices/stats"))


def calendar_until(today: date) -> date:
    """The last day of the calendar starting `today` (inclusive)."""
    return today + timedelta(days=CALENDAR_DAYS - 1)


async def _launches(calls: ServiceCalls, today: date) -> Section:
    until = calendar_until(today)
    stats, calendar = await asyncio.gather(
        calls.get("launch", "/v1/launches/stats"),
        calls.get(
            "launch",
            "/v1/launch-calendar",
            params={"from": today.isoformat(), "to": until.isoformat()},
        ),
    )
    # The part needs both answers: the first failure says why it is missing.
    if isinstance(stats, Failure):
        return section_of(stats)

    def shape(body: Any) -> LaunchesPart:
        # The calendar is a list page or a bare list; either way its entries are dicts.
        entries = body["items"] if isinstance(body, dict) else body
        counts = stats.body
        return LaunchesPart.model_validate(
            {
                "from": today,
                "to": until,
                "by_readiness": counts["by_readiness"],
                "by_status": counts["by_status"],
                "at_risk": counts["at_risk"],
                "calendar": [dict(entry) for entry in entries],
            }
        )

    return section_of(calendar, shape)


async def _ops(calls: ServiceCalls, service: str) -> Section:
    # With the caller's token: a service shows its details to authenticated callers only.
    outcome = await calls.get(service, "/readyz", also_ok={_NOT_READY})

    def shape(body: Any) -> ServiceOps:
        consumer = body.get("consumer") or {}
        return ServiceOps(
            status=str(body["status"]),
            outbox_backlog=body.get("outbox_backlog"),
            consumer_lag=consumer.get("lag"),
            dead_letters=body.get("dead_letters") or {},
        )

    return section_of(outcome, shape)
