"""Plan reads: plans with their targets, a plan's actuals, variance and forecast, and the
sales of a period per product and per plan (the portfolio review's figures). None writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.domain import Money
from services.pricing.plans import domain
from services.pricing.plans.domain import Actual, Forecast, Line, PlanKind, Target, Totals
from services.pricing.tables import financial_plan, plan_target, product_cost, purchase, sale_return
from services.pricing.timeline import CostPoint, cost_at
from shared.errors import NotFound
from shared.pagination import Keyset, Page
from shared.periods import Period, month_start, next_month

# Ids are UUIDv7: creation order.
PLANS = Keyset(financial_plan.c.id)
# The rows a sales report lists per section, the best sellers first (plans' actuals are
# taken from every row).
MAX_REPORT_ROWS = 200


async def targets_of(session: AsyncSession, plan_id: str) -> list[Target]:
    """A plan's targets by month."""
    rows = await session.execute(
        select(plan_target).where(plan_target.c.plan_id == plan_id).order_by(plan_target.c.month)
    )
    return [_target(row) for row in rows.all()]


async def get_plan(*, session: AsyncSession, plan_id: str) -> tuple[Any, list[Target]]:
    """A plan and its targets; 404 if unknown."""
    row = (
        await session.execute(select(financial_plan).where(financial_plan.c.id == plan_id))
    ).first()
    if row is None:
        raise NotFound(f"no plan with id {plan_id!r}")
    return row, await targets_of(session, plan_id)


async def list_plans(
    *,
    session: AsyncSession,
    kind: PlanKind | None,
    subject: str | None,
    limit: int,
    cursor: str | None,
) -> Page[tuple[Any, list[Target]]]:
    """Plans in creation order, with their targets, one keyset page."""
    stmt = select(financial_plan)
    if kind is not None:
        stmt = stmt.where(financial_plan.c.kind == kind.value)
    if subject is not None:
        stmt = stmt.where(financial_plan.c.subject == subject)
    page = await PLANS.page(session, stmt, limit=limit, cursor=cursor)
    by_plan: dict[str, list[Target]] = {row.id: [] for row in page.items}
    if by_plan:
        rows = await session.execute(
            select(plan_target)
            .where(plan_target.c.plan_id.in_(list(by_plan)))
            .order_by(plan_target.c.plan_id, plan_target.c.month)
        )
        for row in rows.all():
            by_plan[row.plan_id].append(_target(row))
    return page.map(lambda row: (row, by_plan[row.id]))


# --- one plan's performance ---------------------------------------------------------------------


@dataclass(frozen=True)
class Performance:
    plan: Any
    targets: list[Target]
    as_of: date
    months: list[date]
    actuals: list[Actual]
    forecasts: list[Forecast]

    def target(self, month: date) -> Target | None:
        return next((t for t in self.targets if t.month == month), None)

    @property
    def target_totals(self) -> Totals:
        return domain.total_targets(self.targets)

    @property
    def actual_totals(self) -> Totals:
        whole = sum(self.actuals[1:], self.actuals[0]) if self.actuals else Actual(self.as_of)
        return Totals(whole.units, whole.revenue, whole.margin)

    @property
    def forecast_totals(self) -> Totals:
        return domain.total_forecast(self.forecasts)


async def performance(*, session: AsyncSession, plan_id: str, today: date) -> Performance:
    """A plan's months with actuals and the run-rate forecast as of `today`; 404 if unknown."""
    row, targets = await get_plan(session=session, plan_id=plan_id)
    months = [t.month for t in targets]
    current = month_start(today)
    first, last = min([*months, current]), max([*months, current])
    lines = await _lines(
        session,
        kind=PlanKind(row.kind),
        subject=row.subject,
        start=_instant(first),
        end=_instant(next_month(last)),
    )
    actuals = domain.monthly_actuals(lines, months, row.currency)
    (this_month,) = domain.monthly_actuals(lines, [current], row.currency)
    forecasts = domain.forecast(actuals, current=this_month, today=today, currency=row.currency)
    return Performance(row, targets, today, months, actuals, forecasts)


async def _lines(
    session: AsyncSession, *, kind: PlanKind, subject: str, start: datetime, end: datetime
) -> list[Line]:
    """The subject's sales and returns in `[start, end)`, each with the unit cost of its
    time (unknown in another currency than the sale's)."""
    sold_by = _subject_filter(purchase, kind, subject)
    returned_by = _subject_filter(sale_return, kind, subject)
    sales = await session.execute(
        select(
            purchase.c.product_id,
            purchase.c.occurred_at,
            purchase.c.quantity,
            purchase.c.unit_price,
            purchase.c.currency,
        ).where(sold_by, purchase.c.occurred_at >= start, purchase.c.occurred_at < end)
    )
    returns = await session.execute(
        select(
            sale_return.c.product_id,
            sale_return.c.occurred_at,
            sale_return.c.quantity,
            sale_return.c.unit_value,
            sale_return.c.currency,
        ).where(returned_by, sale_return.c.occurred_at >= start, sale_return.c.occurred_at < end)
    )
    found = [(r, 1) for r in sales.all()] + [(r, -1) for r in returns.all()]
    costs = await _cost_points(session, {r.product_id for r, _ in found})
    lines = []
    for r, sign in found:
        price = r[3]
        cost = cost_at(costs.get(r.product_id, []), r.occurred_at)
        unit_cost = cost.amount if cost is not None and cost.currency == r.currency else None
        lines.append(
            Line(
                occurred_at=r.occurred_at,
                quantity=sign * r.quantity,
                value=None if price is None else sign * price * r.quantity,
                currency=r.currency,
                unit_cost=unit_cost,
            )
        )
    return lines


def _subject_filter(table: Any, kind: PlanKind, subject: str) -> ColumnElement[bool]:
    column = table.c.product_id if kind is PlanKind.PRODUCT else table.c.account
    return column == subject  # type: ignore[no-any-return]


async def _cost_points(session: AsyncSession, product_ids: set[str]) -> dict[str, list[CostPoint]]:
    if not product_ids:
        return {}
    rows = await session.execute(
        select(product_cost)
        .where(product_cost.c.product_id.in_(sorted(product_ids)))
        .order_by(product_cost.c.product_id, product_cost.c.valid_from, product_cost.c.id)
    )
    points: dict[str, list[CostPoint]] = {}
    for row in rows.all():
        points.setdefault(row.product_id, []).append(
            CostPoint(
                row.valid_from,
                Money(row.amount, row.currency)
                if row.amount is not None and row.currency
                else None,
            )
        )
    return points


# --- a period's sales ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesRow:
    """One product's (or account's) sales less returns in one currency over the period."""

    key: str
    currency: str | None
    actual: Actual


@dataclass(frozen=True)
class PlanInPeriod:
    plan: Any
    target: Totals
    actual: Totals


@dataclass(frozen=True)
class SalesReport:
    period: Period
    products: list[SalesRow]
    accounts: list[SalesRow]
    plans: list[PlanInPeriod]
    truncated: bool


async def sales_report(*, session: AsyncSession, period: Period) -> SalesReport:
    """Each product's sales less returns over the period, the best sellers first (at most
    `MAX_REPORT_ROWS`), and each plan with targets in the period against its actuals."""
    products = await _sales_by(session, purchase.c.product_id, sale_return.c.product_id, period)
    accounts = await _sales_by(session, purchase.c.account, sale_return.c.account, period)
    plans = await _plans_in(session, period, products, accounts)
    truncated = len(products) > MAX_REPORT_ROWS or len(accounts) > MAX_REPORT_ROWS
    return SalesReport(
        period, products[:MAX_REPORT_ROWS], accounts[:MAX_REPORT_ROWS], plans, truncated
    )


def _cost_windows() -> Any:
    """Each cost point with the start of the next one (`valid_to`, NULL for the current):
    the cost in effect over `[valid_from, valid_to)`. Of two points at the same instant the
    later one wins, as in `timeline.cost_at` (the earlier one's window is empty)."""
    return select(
        product_cost.c.product_id,
        product_cost.c.amount,
        product_cost.c.currency,
        product_cost.c.valid_from,
        func.lead(product_cost.c.valid_from)
        .over(
            partition_by=product_cost.c.product_id,
            order_by=(product_cost.c.valid_from, product_cost.c.id),
        )
        .label("valid_to"),
    ).subquery()


async def _sales_by(
    session: AsyncSession, sold_key: Any, returned_key: Any, period: Period
) -> list[SalesRow]:
    """Per key and currency: units, revenue, and the margin of the units whose cost (in the
    sale's currency) was known at the time.

    The database joins each sale to the cost window it fell in, groups the rows by key,
    price and cost and sums only quantities (on SQLite amounts are text, and a SQL sum of
    them would go through a float); the money is multiplied here, exactly.
    """
    rows: dict[tuple[str, str | None], Actual] = {}
    for table, key, price, sign in (
        (purchase, sold_key, purchase.c.unit_price, 1),
        (sale_return, returned_key, sale_return.c.unit_value, -1),
    ):
        costs = _cost_windows()
        grouped = (
            select(
                key.label("key"),
                table.c.currency,
                price.label("price"),
                costs.c.amount.label("cost"),
                costs.c.currency.label("cost_currency"),
                func.sum(table.c.quantity).label("units"),
            )
            .select_from(
                table.outerjoin(
                    costs,
                    and_(
                        costs.c.product_id == table.c.product_id,
                        costs.c.valid_from <= table.c.occurred_at,
                        or_(costs.c.valid_to.is_(None), table.c.occurred_at < costs.c.valid_to),
                    ),
                )
            )
            .where(
                key.is_not(None),
                table.c.occurred_at >= period.start,
                table.c.occurred_at < period.end,
            )
            .group_by(key, table.c.currency, price, costs.c.amount, costs.c.currency)
        )
        for r in (await session.execute(grouped)).all():
            known = r.cost is not None and r.cost_currency == r.currency
            line = Line(
                occurred_at=period.start,
                quantity=sign * int(r.units),
                value=None if r.price is None else sign * int(r.units) * _decimal(r.price),
                currency=r.currency,
                unit_cost=_decimal(r.cost) if known else None,
            )
            (part,) = domain.monthly_actuals([line], [period.first], r.currency or "")
            at = (r.key, r.currency)
            rows[at] = rows[at] + part if at in rows else part
    return sorted(
        (SalesRow(key, currency, actual) for (key, currency), actual in rows.items()),
        key=lambda row: (-row.actual.revenue, row.key, row.currency or ""),
    )


def _decimal(value: Any) -> Decimal:
    """An amount from a subquery column: SQLite hands back its text, PostgreSQL a Decimal."""
    return value if isinstance(value, Decimal) else Decimal(value)


async def _plans_in(
    session: AsyncSession, period: Period, products: list[SalesRow], accounts: list[SalesRow]
) -> list[PlanInPeriod]:
    """The plans with targets in the period (at most `MAX_REPORT_ROWS`), each with its
    target and actual for the period's months."""
    months = period.months
    found = await session.execute(
        select(
            financial_plan,
            plan_target.c.month,
            plan_target.c.units,
            plan_target.c.revenue,
            plan_target.c.margin,
        )
        .join(plan_target, plan_target.c.plan_id == financial_plan.c.id)
        .where(plan_target.c.month >= months[0], plan_target.c.month <= months[-1])
        .order_by(financial_plan.c.id, plan_target.c.month)
    )
    plans: dict[str, tuple[Any, list[Target]]] = {}
    for row in found.all():
        plans.setdefault(row.id, (row, []))[1].append(_target(row))
    sold = {
        PlanKind.PRODUCT: {(r.key, r.currency): r.actual for r in products},
        PlanKind.ACCOUNT: {(r.key, r.currency): r.actual for r in accounts},
    }
    result = []
    for row, targets in list(plans.values())[:MAX_REPORT_ROWS]:
        actual = sold[PlanKind(row.kind)].get((row.subject, row.currency), Actual(months[0]))
        result.append(
            PlanInPeriod(
                row,
                domain.total_targets(targets),
                Totals(actual.units, actual.revenue, actual.margin),
            )
        )
    return result


def _target(row: Row[Any] | Any) -> Target:
    return Target(row.month, row.units, row.revenue, row.margin)


def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
