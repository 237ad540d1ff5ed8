"""The composed views' routes: `GET /v1/products/{id}/overview`, the knowledge sheet and the
training pack, `GET /v1/dashboard/summary`, `GET /v1/dead-letters` and
`GET /v1/reports/portfolio`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.dashboard.render import PAGE_HEADERS, STATIC, templates
from gateway.runtime import CallerDep, RuntimeDep
from gateway.upstream import ServiceCalls
from gateway.views import dead_letters, knowledge, overview, portfolio, summary
from gateway.views.knowledge_render import (
    DOCUMENT_HEADERS,
    Format,
    negotiate,
    pack_html,
    pack_markdown,
    sheet_html,
    sheet_markdown,
)
from shared.auth import ADMIN, Principal
from shared.dead_letter_api import Filter
from shared.dead_letters import Status
from shared.errors import Forbidden, field_error
from shared.openapi import answers, problems
from shared.pagination import DEFAULT_LIMIT, Limit
from shared.periods import PERIOD_PATTERN, parse_period

# The prefix lives on the router so the route templates (metrics labels) are public paths.
router = APIRouter(prefix="/v1", tags=["composed views"])

# Safe in an upstream path as it is: no slash, no leading dot (so no dot segment).
# The merged list's cursor holds a place in each service's two lists: longer than one list's.
MergedCursor = Annotated[str | None, Query(max_length=2048, description="from the previous page")]

ProductId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._:-]*$")
]


# The catalog is critical: its 404, or 502/504 when it fails.
@router.get(
    "/products/{product_id}/overview",
    response_model=overview.ProductOverview,
    responses=problems(404, 502, 504),
)
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


TypeCode = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._:-]*$")
]

# A document in any of these, by `Accept`; the problems are problem+json whatever was asked.
_DOCUMENTS = {
    "content": {
        Format.MARKDOWN.value: {"schema": {"type": "string"}},
        Format.HTML.value: {"schema": {"type": "string"}},
    },
    "description": "JSON by default; Markdown or printable HTML when `Accept` asks for it",
}
_View = TypeVar("_View", knowledge.KnowledgeSheet, knowledge.TrainingPack)
# Caches must keep the formats apart.
_VARY = {"Vary": "Accept"}


@router.get(
    "/products/{product_id}/knowledge-sheet",
    response_model=knowledge.KnowledgeSheet,
    responses={200: _DOCUMENTS, **problems(403, 404, 406, 502, 504)},
)
async def knowledge_sheet(
    product_id: ProductId, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> Response:
    """What stakeholders and trainees need to know about one product: attributes and
    variants, the research standing of its brand, the product type's competitor case
    studies, the vendors' questionnaire answers, the cases and the current decision
    (catalog); known defects and the answered customer questions (feedback); the prices in
    effect (pricing); the launch plans and their status (launch).

    `Accept: text/markdown` gives Markdown, `Accept: text/html` a printable page (no
    script), anything else JSON; a type none of these is 406. Each section says when what
    it shows last changed. A section whose service fails or does not answer within the view
    budget is `missing`, one the caller has no scope for `forbidden`; neither is shown as
    empty. The product is critical: needs catalog:read (403), unknown is 404, the catalog
    down or slow is 502 or 504.
    """
    wanted = negotiate(request.headers.get("accept"))
    sheet = await knowledge.knowledge_sheet(
        calls=ServiceCalls.of(runtime, request),
        caller=caller,
        product_id=product_id,
        now=runtime.clock(),
    )
    return _document(wanted, sheet, sheet_markdown, sheet_html)


@router.get(
    "/product-types/{code}/training-pack",
    response_model=knowledge.TrainingPack,
    responses={200: _DOCUMENTS, **problems(403, 404, 406, 502, 504)},
)
async def training_pack(
    code: TypeCode, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> Response:
    """The knowledge sheets of a product type's active products in one document, with a
    table of contents: at most 10 products (`capped` says when the type has more). Formats,
    sections and failures as for the knowledge sheet; an unknown type is 404."""
    wanted = negotiate(request.headers.get("accept"))
    pack = await knowledge.training_pack(
        calls=ServiceCalls.of(runtime, request), caller=caller, code=code, now=runtime.clock()
    )
    return _document(wanted, pack, pack_markdown, pack_html)


def _document(
    wanted: Format, view: _View, markdown: Callable[[_View], str], html: Callable[[_View], str]
) -> Response:
    match wanted:
        case Format.MARKDOWN:
            return Response(
                markdown(view), media_type="text/markdown; charset=utf-8", headers=_VARY
            )
        case Format.HTML:
            return HTMLResponse(html(view), headers={**DOCUMENT_HEADERS, **_VARY})
    return JSONResponse(view.model_dump(mode="json"), headers=_VARY)


@router.get("/dashboard/summary", response_model=summary.DashboardSummary)
async def dashboard_summary(
    request: Request, runtime: RuntimeDep, caller: CallerDep
) -> summary.DashboardSummary:
    """The ops dashboard's figures: products by lifecycle (catalog), every open launch plan
    by readiness and the next 30 days of launches with their flags (launch), open critical
    findings, findings opened per day over 14 days by severity, overdue escalations and the
    ingestion rate (feedback), prices waiting for approval (pricing), and each service's
    outbox backlog, consumer lag and dead letters per consumer group (its `/readyz`).

    A service that fails or does not answer within the view budget leaves its parts null
    and is named in `degraded`; a part the caller has no scope for is null and named in
    `forbidden`.
    """
    calls = ServiceCalls.of(runtime, request)
    return await summary.dashboard_summary(calls=calls, caller=caller, today=runtime.clock().date())


@router.get("/dead-letters", response_model=dead_letters.MergedDeadLetters, responses=problems(403))
async def list_dead_letters(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    service: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    source: Annotated[
        dead_letters.Source | None,
        Query(description="consumer: consumer dead letters; outbox: parked events; default both"),
    ] = None,
    event_type: Annotated[str | None, Query(alias="type", min_length=1, max_length=255)] = None,
    topic: Filter = None,
    consumer: Filter = None,
    error: Annotated[
        str | None, Query(min_length=1, max_length=200, description="part of the error")
    ] = None,
    status: Status | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: MergedCursor = None,
) -> dead_letters.MergedDeadLetters:
    """Every service's dead letters (admin), newest first, each with the `service` that
    holds it and its `source`: what a consumer could not apply (`consumer`) or an outbox
    event the relay parked because the broker can never take it (`outbox`); both unless
    `source` names one (a `consumer` filter or `status=replayed` lists consumer letters
    only). The filters are each service's own (`type`, `topic`, `consumer`, `status`,
    `error`), and `service` asks one service only. A service that fails or does not answer
    in time is named in `degraded`. Replay or discard either kind through routing:
    `POST /v1/<service>/dead-letters/{letter_id}/replay` (a parked event goes back to the relay's
    queue) or `.../discard`."""
    if not caller.has(ADMIN):
        raise Forbidden(f"this call needs the scope {ADMIN}", required_scope=ADMIN)
    services = runtime.services
    if service is not None:
        if service not in services:
            raise field_error(
                "service", f"not one of {', '.join(services)}", where="query", service=service
            )
        services = [service]
    filters = {
        name: value
        for name, value in {
            "type": event_type,
            "topic": topic,
            "consumer": consumer,
            "error": error,
            "status": status.value if status else None,
        }.items()
        if value is not None
    }
    return await dead_letters.merged_dead_letters(
        calls=ServiceCalls.of(runtime, request),
        services=services,
        sources=dead_letters.sources_for(source, filters),
        filters=filters,
        limit=limit,
        cursor=cursor,
    )


# Margins and costs are pricing:finance's (security issue 12, finding 9): so is the review.
FINANCE = "pricing:finance"


@answers(403)
async def finance_caller(caller: CallerDep) -> Principal:
    """The caller, who must hold pricing:finance: the review shows margins. A dependency,
    so a caller without it is refused before the query is read."""
    if not caller.has(FINANCE):
        raise Forbidden(f"this report needs the scope {FINANCE}", required_scope=FINANCE)
    return caller


@router.get(
    "/reports/portfolio",
    response_model=portfolio.PortfolioReport,
    responses={
        **problems(403, 422),
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
    },
)
async def portfolio_review(
    request: Request,
    runtime: RuntimeDep,
    caller: Annotated[Principal, Depends(finance_caller)],
    period: Annotated[
        str,
        Query(
            max_length=7,
            description="a month YYYY-MM or a quarter YYYY-Qn (UTC)",
            json_schema_extra={"pattern": PERIOD_PATTERN},
        ),
    ],
) -> portfolio.PortfolioReport | HTMLResponse:
    """The portfolio review of a month or quarter (needs pricing:finance: it shows
    margins): revenue and margin by product type and by account, plan versus actual, the
    products that cost the most margin, those with high return or critical-defect rates,
    and the candidates to discontinue with the facts behind each. JSON, or with
    `Accept: text/html` a printable page with its charts drawn on the server as SVG.

    The calls share `PRODUCTOPS_REPORT_BUDGET_S` (5 s). A section whose service (pricing,
    catalog, feedback) failed, was slow or refused the caller is null (in the page: marked
    missing) and named with that service in `missing`.
    """
    try:
        parsed = parse_period(period)
    except ValueError as exc:
        raise field_error("period", str(exc), where="query") from None
    report = await portfolio.portfolio_report(
        calls=ServiceCalls.of(runtime, request, budget_s=runtime.settings.report_budget_s),
        caller=caller,
        period=parsed,
        now=runtime.clock(),
    )
    if _wants_html(request.headers.get("accept", "")):
        return templates.TemplateResponse(
            request,
            "reports/portfolio.html",
            {"r": report, "charts": portfolio.report_charts(report), "static": STATIC},
            headers=PAGE_HEADERS,
        )
    return report


def _wants_html(accept: str) -> bool:
    """HTML when the client names text/html before any JSON type (a browser does)."""
    html = accept.find("text/html")
    json = accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)
