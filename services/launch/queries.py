"""Launch reads: one plan, lists of plans, a plan's history, gate templates and the
calendar. Each takes a read-only session; none writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.launch.calendar import CalendarEntry, ConflictRule, calendar
from services.launch.gates import Readiness
from services.launch.status import OPEN_STATUSES, PlanStatus
from services.launch.store import StoredPlan
from services.launch.tables import gate_template, launch_plan, plan_history
from shared.errors import NotFound, field_error
from shared.pagination import Keyset, Page

PLANS = Keyset(launch_plan.c.target_date, launch_plan.c.id)
HISTORY = Keyset(plan_history.c.id)
TEMPLATES = Keyset(gate_template.c.product_type)
MAX_CALENDAR_DAYS = 366


async def get_plan(*, session: AsyncSession, launch_id: str) -> StoredPlan:
    """One plan; 404 if unknown."""
    row = (await session.execute(select(launch_plan).where(launch_plan.c.id == launch_id))).first()
    if row is None:
        raise NotFound(f"no launch plan with id {launch_id!r}", launch_id=launch_id)
    return StoredPlan.of(row)


async def list_plans(
    *,
    session: AsyncSession,
    readiness: Readiness | None,
    status: PlanStatus | None,
    product_id: str | None,
    owner: str | None,
    start: date | None,
    end: date | None,
    limit: int,
    cursor: str | None,
) -> Page[StoredPlan]:
    """Plans by target date, filtered; `start` and `end` bound the target date (inclusive)."""
    _check_range(start, end)
    stmt = select(launch_plan)
    for column, value in (
        (launch_plan.c.readiness, readiness),
        (launch_plan.c.status, status),
        (launch_plan.c.product_id, product_id),
        (launch_plan.c.owner, owner),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if start is not None:
        stmt = stmt.where(launch_plan.c.target_date >= start)
    if end is not None:
        stmt = stmt.where(launch_plan.c.target_date <= end)
    page = await PLANS.page(session, stmt, limit=limit, cursor=cursor)
    return page.map(StoredPlan.of)


@dataclass(frozen=True)
class LaunchStats:
    """Plans counted for dashboards, every status and readiness named (zeros included)."""

    by_status: dict[str, int]
    open_by_readiness: dict[str, int]
    at_risk: int


async def launch_stats(*, session: AsyncSession) -> LaunchStats:
    """Every plan by status; the open ones (planned or approved) by readiness, whatever
    their target date; the plans flagged at risk. One GROUP BY: no plan is read."""
    rows = await session.execute(
        select(
            launch_plan.c.status, launch_plan.c.readiness, launch_plan.c.at_risk, func.count()
        ).group_by(launch_plan.c.status, launch_plan.c.readiness, launch_plan.c.at_risk)
    )
    by_status = dict.fromkeys((s.value for s in PlanStatus), 0)
    by_readiness = dict.fromkeys((r.value for r in Readiness), 0)
    at_risk = 0
    open_statuses = {s.value for s in OPEN_STATUSES}
    for status, readiness, risky, count in rows.all():
        by_status[status] = by_status.get(status, 0) + count
        if status in open_statuses:
            by_readiness[readiness] = by_readiness.get(readiness, 0) + count
        at_risk += count if risky else 0
    return LaunchStats(by_status=by_status, open_by_readiness=by_readiness, at_risk=at_risk)


async def history(
    *, session: AsyncSession, launch_id: str, limit: int, cursor: str | None
) -> Page[Row[Any]]:
    """A plan's history, oldest first; 404 if the plan is unknown."""
    known = await session.scalar(select(launch_plan.c.id).where(launch_plan.c.id == launch_id))
    if known is None:
        raise NotFound(f"no launch plan with id {launch_id!r}", launch_id=launch_id)
    stmt = select(plan_history).where(plan_history.c.launch_id == launch_id)
    return await HISTORY.page(session, stmt, limit=limit, cursor=cursor)


async def get_template(*, session: AsyncSession, product_type: str) -> Any:
    """A product type's gate template; 404 if it has none."""
    stmt = select(gate_template).where(gate_template.c.product_type == product_type)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound(
            f"product type {product_type!r} has no gate template", product_type=product_type
        )
    return row


async def list_templates(
    *, session: AsyncSession, limit: int, cursor: str | None
) -> Page[Row[Any]]:
    """Gate templates by product type."""
    return await TEMPLATES.page(session, select(gate_template), limit=limit, cursor=cursor)


async def launch_calendar(
    *,
    session: AsyncSession,
    start: date,
    end: date,
    today: date,
    owner: str | None,
    rule: ConflictRule,
    behind_within: int,
) -> tuple[CalendarEntry, ...]:
    """The plans targeting `start`..`end` (inclusive) that are not cancelled, with their
    flags. Conflicts are looked for in the whole ISO weeks the range touches."""
    _check_range(start, end)
    if (end - start).days >= MAX_CALENDAR_DAYS:
        raise field_error(
            "to", f"the calendar spans at most {MAX_CALENDAR_DAYS} days", where="query"
        )
    week_start = start - timedelta(days=start.isoweekday() - 1)
    week_end = end + timedelta(days=7 - end.isoweekday())
    stmt = (
        select(launch_plan)
        .where(
            launch_plan.c.target_date >= week_start,
            launch_plan.c.target_date <= week_end,
            launch_plan.c.status != PlanStatus.CANCELLED.value,
        )
        .order_by(launch_plan.c.target_date, launch_plan.c.id)
    )
    plans = [StoredPlan.of(row).plan for row in (await session.execute(stmt)).all()]
    entries = calendar(plans, today=today, rule=rule, behind_within=behind_within)
    return tuple(
        entry
        for entry in entries
        if start <= entry.plan.target_date <= end and owner in (None, entry.plan.owner)
    )


def _check_range(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise field_error("to", f"to ({end}) is before from ({start})", where="query")
