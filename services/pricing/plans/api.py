"""Plan routes: create, list, read and edit plans, a plan's performance, and the sales
report of a period. Reading needs pricing:read, changing pricing:write; margins (targets,
actuals, variance, forecast) are null without pricing:finance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from services.pricing.plans import queries, service
from services.pricing.plans.domain import (
    MonthState,
    PlanKind,
    Totals,
    total_variance,
    variance,
)
from services.pricing.plans.queries import Performance, SalesReport, SalesRow
from services.pricing.plans.schemas import (
    ActualPublic,
    FiguresOut,
    MonthPublic,
    PerformancePublic,
    PlanCreate,
    PlanPublic,
    TargetsChange,
    TotalsPublic,
    VariancePublic,
    actual_public,
    figures_out,
    plan_public,
    variance_public,
)
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.errors import field_error
from shared.idempotency import IdempotencyDep
from shared.openapi import CONFLICT, MISSING
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from shared.periods import PERIOD_PATTERN, parse_period
from shared.types import IsoDate

router = APIRouter(prefix="/v1", tags=["plans"])

Reader = Annotated[Principal, Depends(require("pricing:read"))]
Writer = Annotated[Principal, Depends(require("pricing:write"))]
FINANCE = "pricing:finance"


@router.post(
    "/plans",
    responses=CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=PlanPublic,
)
async def create_plan(
    body: PlanCreate, runtime: RuntimeDep, idem: IdempotencyDep, actor: Writer, response: Response
) -> Response | PlanPublic:
    """Create a plan: monthly targets (units, revenue, gross margin amount) for one product
    (`kind` product, `subject` its id, known to pricing) or one account; 409 when that
    product or account has a plan already (edit its targets instead)."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row, targets = await service.create_plan(
            uow=uow, data=body, actor=actor, now=runtime.clock()
        )
        created = plan_public(row, targets, finance=actor.has(FINANCE))
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/plans/{created.id}"
    response.headers["ETag"] = etag(created.version)
    return created


@router.get("/plans", response_model=Page[PlanPublic])
async def list_plans(
    runtime: RuntimeDep,
    reader: Reader,
    kind: PlanKind | None = None,
    subject: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PlanPublic]:
    """Plans in creation order with their targets, of one kind or one subject."""
    async with runtime.db.reader() as session:
        page = await queries.list_plans(
            session=session, kind=kind, subject=subject, limit=limit, cursor=cursor
        )
    finance = reader.has(FINANCE)
    return page.map(lambda found: plan_public(*found, finance=finance))


@router.get("/plans/{plan_id}", responses=MISSING, response_model=PlanPublic)
async def get_plan(
    plan_id: str, runtime: RuntimeDep, reader: Reader, response: Response
) -> PlanPublic:
    """One plan with its targets; the ETag is its version, for `If-Match` on an edit."""
    async with runtime.db.reader() as session:
        row, targets = await queries.get_plan(session=session, plan_id=plan_id)
    response.headers["ETag"] = etag(row.version)
    return plan_public(row, targets, finance=reader.has(FINANCE))


@router.patch("/plans/{plan_id}", responses=MISSING, response_model=PlanPublic)
async def change_targets(
    plan_id: str,
    body: TargetsChange,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> PlanPublic:
    """Set monthly targets: each month given replaces that month's target (or adds the
    month), the others stay; a plan made from a launch's goals is edited the same way.
    412 when `If-Match` is not the plan's version."""
    async with runtime.uow() as uow:
        row, targets = await service.change_targets(
            uow=uow,
            plan_id=plan_id,
            data=body,
            expected_version=if_match,
            actor=actor,
            now=runtime.clock(),
        )
    response.headers["ETag"] = etag(row.version)
    return plan_public(row, targets, finance=actor.has(FINANCE))


@router.get("/plans/{plan_id}/performance", responses=MISSING, response_model=PerformancePublic)
async def plan_performance(
    plan_id: str,
    runtime: RuntimeDep,
    reader: Reader,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD, UTC; default today")] = None,
) -> PerformancePublic:
    """Each month of the plan: its target, the actual (purchases less returns, a return
    valued at the last earlier sale price), the variance, and the run-rate forecast: a
    closed month is its actual, the current month month-to-date / elapsed days * days in
    the month, a later month the current month's daily pace times its days."""
    async with runtime.db.reader() as session:
        found = await queries.performance(
            session=session, plan_id=plan_id, today=as_of or runtime.clock().date()
        )
    return performance_public(found, finance=reader.has(FINANCE))


# --- the sales report ---------------------------------------------------------------------------


class SalesRowPublic(ActualPublic):
    key: str = Field(description="the product id, or the account")
    currency: str | None = Field(description="null: returns with no earlier sale to value")


class PlanInPeriodPublic(BaseModel):
    plan_id: str
    kind: PlanKind
    subject: str
    currency: str
    target: FiguresOut
    actual: FiguresOut
    variance: VariancePublic


class SalesReportPublic(BaseModel):
    """A period's sales less returns per product and per account (the best sellers
    first, at most `MAX_REPORT_ROWS` each: `truncated` says more sold), and every plan with
    targets in the period against its actuals."""

    period: str
    products: list[SalesRowPublic]
    accounts: list[SalesRowPublic]
    plans: list[PlanInPeriodPublic]
    truncated: bool


@router.get("/reports/sales", response_model=SalesReportPublic)
async def sales_report(
    runtime: RuntimeDep,
    reader: Reader,
    period: Annotated[
        str,
        Query(
            max_length=7,
            description="a month YYYY-MM or a quarter YYYY-Qn",
            json_schema_extra={"pattern": PERIOD_PATTERN},
        ),
    ],
) -> SalesReportPublic:
    """Sales, returns, revenue and margin of a month or quarter (UTC) per product and per
    account, and plan against actual: what the portfolio review is made of."""
    try:
        parsed = parse_period(period)
    except ValueError as exc:
        raise field_error("period", str(exc), where="query") from None
    async with runtime.db.reader() as session:
        found = await queries.sales_report(session=session, period=parsed)
    return report_public(found, finance=reader.has(FINANCE))


# --- views --------------------------------------------------------------------------------------


def performance_public(found: Performance, *, finance: bool) -> PerformancePublic:
    currency = found.plan.currency
    months = []
    for actual, forecast in zip(found.actuals, found.forecasts, strict=True):
        target = found.target(actual.month)
        months.append(
            MonthPublic(
                month=f"{actual.month:%Y-%m}",
                state=MonthState(forecast.state),
                target=None if target is None else figures_out(target, currency, finance=finance),
                actual=actual_public(actual, currency, finance=finance),
                variance=None
                if target is None
                else variance_public(variance(target, actual), currency, finance=finance),
                forecast=figures_out(forecast, currency, finance=finance),
            )
        )
    planned, done, paced = found.target_totals, found.actual_totals, found.forecast_totals
    return PerformancePublic(
        plan=plan_public(found.plan, found.targets, finance=finance),
        as_of=found.as_of,
        months=months,
        totals=TotalsPublic(
            target=figures_out(planned, currency, finance=finance),
            actual=figures_out(done, currency, finance=finance),
            forecast=figures_out(paced, currency, finance=finance),
            variance=_totals_variance(planned, done, currency, finance),
            forecast_variance=_totals_variance(planned, paced, currency, finance),
        ),
    )


def _totals_variance(target: Totals, other: Totals, currency: str, finance: bool) -> VariancePublic:
    return variance_public(total_variance(target, other), currency, finance=finance)


def _row_public(row: SalesRow, *, finance: bool) -> SalesRowPublic:
    shown = actual_public(row.actual, row.currency or "", finance=finance)
    return SalesRowPublic(key=row.key, currency=row.currency, **shown.model_dump())


def report_public(found: SalesReport, *, finance: bool) -> SalesReportPublic:
    return SalesReportPublic(
        period=found.period.text,
        products=[_row_public(r, finance=finance) for r in found.products],
        accounts=[_row_public(r, finance=finance) for r in found.accounts],
        plans=[
            PlanInPeriodPublic(
                plan_id=p.plan.id,
                kind=PlanKind(p.plan.kind),
                subject=p.plan.subject,
                currency=p.plan.currency,
                target=figures_out(p.target, p.plan.currency, finance=finance),
                actual=figures_out(p.actual, p.plan.currency, finance=finance),
                variance=_totals_variance(p.target, p.actual, p.plan.currency, finance),
            )
            for p in found.plans
        ],
        truncated=found.truncated,
    )
