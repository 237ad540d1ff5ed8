"""The dashboard's parts: HTML fragments htmx swaps into a page, rendered from the services'
answers on behalf of the caller (their bearer token; each service checks its own scopes).

A part never fails as a whole for one slow or refusing service: what is missing is said in
words where it would have been. An expired or missing token is a 401 problem, which the
page's script turns into the sign-in form.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gateway.dashboard import lists
from gateway.dashboard.charts import CalendarDay, calendar_strip, single, stacked
from gateway.dashboard.render import PAGE_HEADERS, templates
from gateway.runtime import CallerDep, RuntimeDep
from gateway.upstream import ServiceCalls
from gateway.views import dead_letters, overview, summary
from gateway.views.api import ProductId
from gateway.views.sections import Section, if_allowed, items_of, section_of
from shared.auth import ADMIN, Principal
from shared.errors import DomainError

router = APIRouter(prefix="/dashboard/parts", include_in_schema=False)

# Severities from the most to the least urgent; the chart stacks them in this order.
SEVERITIES = ["critical", "high", "medium", "low"]
# Label every n-th column, so a phone-width chart stays legible.
_DAY_LABEL_EVERY = 2
_MINUTE_LABEL_EVERY = 3


def _render(request: Request, name: str, caller: Principal, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        f"parts/{name}.html",
        {
            "can": caller.has,
            "missing_why": lists.why_missing,
            "degraded": lists.degraded,
            "forbidden": lists.forbidden,
            **context,
        },
        headers=PAGE_HEADERS,
    )


@router.get("/summary", response_class=HTMLResponse)
async def summary_part(request: Request, runtime: RuntimeDep, caller: CallerDep) -> HTMLResponse:
    """Cards, charts, the launch calendar strip and every open critical finding."""
    calls = ServiceCalls.of(runtime, request)
    today = runtime.clock().date()
    figures, critical = await asyncio.gather(
        summary.dashboard_summary(calls=calls, caller=caller, today=today),
        lists.critical_findings(calls, caller),
    )
    calendar = figures.launches.calendar if figures.launches else []
    names = await lists.product_names(
        calls,
        caller,
        [str(f["product_id"]) for f in critical.value or []]
        + [str(e["product_id"]) for e in calendar],
    )

    def why(service: str) -> lists.Notice:
        if service in figures.forbidden:
            return lists.forbidden(service)
        return lists.degraded(service)

    return _render(
        request,
        "summary",
        caller,
        s=figures,
        critical=critical,
        names=names,
        why=why,
        open_letters=_open_letters,
        severities=SEVERITIES,
        findings_chart=_findings_chart(figures.findings),
        ingestion_chart=_ingestion_chart(figures.ingestion),
        calendar=_calendar(figures.launches, today),
        today=today,
    )


def _calendar(launches: summary.LaunchesPart | None, today: date) -> list[CalendarDay]:
    """The strip shows exactly the days the summary asked the calendar for (`from`..`to`,
    both inclusive), so no entry it holds falls off the end."""
    if launches is None:
        return calendar_strip(today, [], summary.CALENDAR_DAYS)
    days = (launches.to - launches.from_).days + 1
    return calendar_strip(launches.from_, launches.calendar, days)


def _open_letters(ops: summary.ServiceOps) -> int:
    return sum(statuses.get("open", 0) for statuses in ops.dead_letters.values())


def _findings_chart(findings: Mapping[str, Any] | None) -> Any:
    days = (findings or {}).get("opened_per_day") or []
    columns = [(str(d["day"])[5:], d.get("by_severity") or {}) for d in days]
    return stacked(columns, SEVERITIES, label_every=_DAY_LABEL_EVERY)


def _ingestion_chart(ingestion: Mapping[str, Any] | None) -> Any:
    minutes = (ingestion or {}).get("per_minute") or []
    columns = [
        (datetime.fromisoformat(str(m["start"])).strftime("%H:%M"), int(m["events"]))
        for m in minutes
    ]
    return single(columns, key="events", label_every=_MINUTE_LABEL_EVERY)


@router.get("/launches", response_class=HTMLResponse)
async def launches_part(request: Request, runtime: RuntimeDep, caller: CallerDep) -> HTMLResponse:
    """Plans not launched yet with their gates, why they are blocked, and the sign-off,
    waive and approve actions the caller's scopes allow."""
    calls = ServiceCalls.of(runtime, request)
    plans = await lists.launches(calls, caller)
    names = await lists.product_names(
        calls, caller, [str(p["product_id"]) for p in plans.value or []]
    )
    return _render(
        request, "launches", caller, plans=plans, names=names, today=runtime.clock().date()
    )


@router.get("/feedback", response_class=HTMLResponse)
async def feedback_part(request: Request, runtime: RuntimeDep, caller: CallerDep) -> HTMLResponse:
    """Open escalations (overdue first) and unresolved findings (most severe first)."""
    calls = ServiceCalls.of(runtime, request)
    escalations, findings = await asyncio.gather(
        lists.escalations(calls, caller), lists.findings(calls, caller)
    )
    product_ids = [str(f["product_id"]) for f in findings.value or []] + [
        str(e["product_id"]) for e in escalations.value or [] if e.get("product_id")
    ]
    names = await lists.product_names(calls, caller, product_ids)
    return _render(
        request, "feedback", caller, escalations=escalations, findings=findings, names=names
    )


@router.get("/pricing", response_class=HTMLResponse)
async def pricing_part(request: Request, runtime: RuntimeDep, caller: CallerDep) -> HTMLResponse:
    """Proposals waiting for approval, with their guardrail violations."""
    calls = ServiceCalls.of(runtime, request)
    prices = await lists.proposals(calls, caller)
    names = await lists.product_names(
        calls, caller, [str(p["product_id"]) for p in prices.value or []]
    )
    return _render(request, "pricing", caller, prices=prices, names=names)


@router.get("/products", response_class=HTMLResponse)
async def products_part(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Products matching `q` (name, SKU or brand), or the first ones."""
    calls = ServiceCalls.of(runtime, request)

    async def ask() -> Section:
        params: dict[str, str | int] = {"limit": lists.PAGE_SIZE}
        if q:
            params["q"] = q
        return section_of(await calls.get("catalog", "/v1/products", params=params), items_of)

    found = await if_allowed(caller, "catalog:read", "catalog", ask)
    return _render(request, "products", caller, found=found, q=q)


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def product_part(
    product_id: ProductId, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> HTMLResponse:
    """One product's overview: prices, feedback, requirements and its launch plans."""
    calls = ServiceCalls.of(runtime, request)
    try:
        view = await overview.product_overview(calls=calls, caller=caller, product_id=product_id)
    except DomainError as exc:
        # No product (404) or no catalog (502, 504): the page says so where the product was.
        return _render(request, "problem", caller, notice=lists.Notice(exc.detail))
    return _render(
        request,
        "product",
        caller,
        view=view.model_dump(),
        names={product_id: (view.product or {}).get("name", product_id)},
        today=runtime.clock().date(),
    )


@router.get("/dead-letters", response_class=HTMLResponse)
async def dead_letters_part(
    request: Request, runtime: RuntimeDep, caller: CallerDep
) -> HTMLResponse:
    """Every service's open dead letters and parked outbox events, newest first, with
    replay and discard (admin)."""
    if not caller.has(ADMIN):
        return _render(request, "dead_letters", caller, letters=None)
    letters = await dead_letters.merged_dead_letters(
        calls=ServiceCalls.of(runtime, request),
        services=runtime.services,
        sources=list(dead_letters.Source),
        filters={"status": "open"},
        limit=lists.PAGE_SIZE,
        cursor=None,
    )
    return _render(request, "dead_letters", caller, letters=letters)
