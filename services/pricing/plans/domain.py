"""Financial plans, pure: targets split from launch goals, monthly actuals from sales and
returns, variance, and the run-rate forecast. No I/O; amounts are exact decimals.

A plan is in one currency: sales in another currency are not its actuals (there is no
exchange rate in pricing to convert them with).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.pricing.domain import percent
from shared.errors import Conflict, field_error
from shared.money import check_scale, minor_units
from shared.periods import days_in_month, month_start, next_month

# A launch's goals cover its first 90 days: the launch month and the two after it.
LAUNCH_MONTHS = 3
# A plan's months at most: five years of monthly targets.
MAX_MONTHS = 60


class PlanKind(StrEnum):
    """What a plan covers: one product's sales, or one account's (all its products)."""

    PRODUCT = "product"
    ACCOUNT = "account"


class PlanSource(StrEnum):
    MANUAL = "manual"
    LAUNCH = "launch"


class MonthState(StrEnum):
    CLOSED = "closed"
    CURRENT = "current"
    FUTURE = "future"


@dataclass(frozen=True)
class Target:
    """What one month should bring: units, revenue and gross margin as amounts."""

    month: date
    units: int
    revenue: Decimal
    margin: Decimal


def check_targets(targets: Sequence[Target], currency: str) -> list[Target]:
    """The targets by month, or a 422: first days of distinct months, at most `MAX_MONTHS`,
    amounts the currency can express."""
    if not targets:
        raise field_error("targets", "a plan needs at least one monthly target")
    if len(targets) > MAX_MONTHS:
        raise field_error("targets", f"at most {MAX_MONTHS} monthly targets")
    seen: set[date] = set()
    for index, target in enumerate(targets):
        if target.month in seen:
            raise field_error(f"targets.{index}.month", f"month {target.month} is given twice")
        seen.add(target.month)
        for name in ("revenue", "margin"):
            try:
                check_scale(abs(getattr(target, name)), currency)
            except ValueError as exc:
                raise field_error(f"targets.{index}.{name}", str(exc)) from None
    return sorted(targets, key=lambda t: t.month)


def split_units(total: int, parts: int) -> list[int]:
    """`total` in `parts` whole shares differing by at most one, the larger ones first:
    500 in 3 is [167, 167, 166]."""
    share, rest = divmod(total, parts)
    return [share + (1 if index < rest else 0) for index in range(parts)]


def split_amount(total: Decimal, parts: int, currency: str) -> list[Decimal]:
    """`total` in `parts` shares to the currency's minor unit that add up to it exactly, the
    extra minor units on the first shares: 25000.00 EUR in 3 is [8333.34, 8333.33, 8333.33]."""
    unit = Decimal(1).scaleb(-minor_units(currency))
    minor = int((total / unit).to_integral_value(rounding=ROUND_HALF_UP))
    return [Decimal(share) * unit for share in split_units(minor, parts)]


def launch_targets(
    *,
    launched_at: datetime,
    units: int,
    revenue: Decimal,
    margin_pct: Decimal,
    currency: str,
    months: int = LAUNCH_MONTHS,
) -> list[Target]:
    """The first monthly targets from a launch's goals for its first 90 days: the launch
    month and the two after it, each an even share; the margin goal is a percentage of
    revenue, so the margin amount is revenue * margin% (then split like the revenue)."""
    unit = Decimal(1).scaleb(-minor_units(currency))
    margin = (revenue * margin_pct / 100).quantize(unit, rounding=ROUND_HALF_UP)
    firsts = [month_start(launched_at.date())]
    while len(firsts) < months:
        firsts.append(next_month(firsts[-1]))
    return [
        Target(month, u, r, m)
        for month, u, r, m in zip(
            firsts,
            split_units(units, months),
            split_amount(revenue, months, currency),
            split_amount(margin, months, currency),
            strict=True,
        )
    ]


def change_targets(
    current: Sequence[Target], changes: Sequence[Target], currency: str
) -> list[Target]:
    """The plan's targets after `changes`: a month given replaces that month's target, a new
    month is added; the other months stay."""
    by_month = {t.month: t for t in current}
    for target in check_targets(changes, currency):
        by_month[target.month] = target
    return check_targets(list(by_month.values()), currency)


# --- actuals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A sale (positive quantity) or a return (negative), valued in the line's currency.

    `value` is price * quantity, negative for a return; None for a return with no earlier
    sale to value it by. `cost` is the unit cost at the time, None when unknown.
    """

    occurred_at: datetime
    quantity: int
    value: Decimal | None
    currency: str | None
    unit_cost: Decimal | None


@dataclass(frozen=True)
class Actual:
    """One month's sales less its returns, in the plan's currency.

    The margin covers the lines whose cost was known; `units_without_cost` counts the rest,
    and `returns_unvalued` the returned units that reduce units but not revenue. A month
    with no line has a margin of zero (nothing sold); one whose lines all lack a cost, none.
    """

    month: date
    units_sold: int = 0
    units_returned: int = 0
    revenue: Decimal = Decimal(0)
    margin: Decimal | None = Decimal(0)
    units_without_cost: int = 0
    returns_unvalued: int = 0

    @property
    def units(self) -> int:
        return self.units_sold - self.units_returned

    @property
    def has_lines(self) -> bool:
        return bool(self.units_sold or self.units_returned)

    def __add__(self, other: Actual) -> Actual:
        # No line adds nothing, not even a known zero margin to lines of unknown cost.
        if not other.has_lines:
            return self
        if not self.has_lines:
            return replace(other, month=self.month)
        margin = (
            None
            if self.margin is None and other.margin is None
            else (self.margin or Decimal(0)) + (other.margin or Decimal(0))
        )
        return Actual(
            month=self.month,
            units_sold=self.units_sold + other.units_sold,
            units_returned=self.units_returned + other.units_returned,
            revenue=self.revenue + other.revenue,
            margin=margin,
            units_without_cost=self.units_without_cost + other.units_without_cost,
            returns_unvalued=self.returns_unvalued + other.returns_unvalued,
        )


def _actual_of(line: Line, month: date) -> Actual:
    sold = max(line.quantity, 0)
    returned = max(-line.quantity, 0)
    if line.value is None:
        return Actual(month, sold, returned, margin=None, returns_unvalued=returned)
    margin = None if line.unit_cost is None else line.value - line.unit_cost * line.quantity
    return Actual(
        month,
        sold,
        returned,
        revenue=line.value,
        margin=margin,
        units_without_cost=abs(line.quantity) if margin is None else 0,
    )


def monthly_actuals(lines: Iterable[Line], months: Sequence[date], currency: str) -> list[Actual]:
    """Each month's actual (every month named, empty ones too) from the lines in the plan's
    currency; a line valued in another currency is left out. A return without a value
    still lowers units (`returns_unvalued`)."""
    by_month = {month: Actual(month) for month in months}
    for line in lines:
        month = month_start(line.occurred_at.date())
        if month not in by_month or (line.value is not None and line.currency != currency):
            continue
        by_month[month] = by_month[month] + _actual_of(line, month)
    return [by_month[month] for month in months]


# --- variance and forecast ----------------------------------------------------------------------


@dataclass(frozen=True)
class Variance:
    """Actual (or forecast) minus target, and that as a percentage of the target (None for a
    zero target, or a margin that is not known)."""

    units: int
    revenue: Decimal
    margin: Decimal | None
    units_pct: Decimal | None
    revenue_pct: Decimal | None
    margin_pct: Decimal | None


def _pct(delta: Decimal | None, target: Decimal) -> Decimal | None:
    return None if delta is None or target == 0 else percent(delta * 100 / abs(target))


def variance(target: Target, actual: Actual) -> Variance:
    """How far `actual` is from `target`: 120 units against 100 is +20 units, +20%."""
    units = actual.units - target.units
    revenue = actual.revenue - target.revenue
    margin = None if actual.margin is None else actual.margin - target.margin
    return Variance(
        units=units,
        revenue=revenue,
        margin=margin,
        units_pct=_pct(Decimal(units), Decimal(target.units)),
        revenue_pct=_pct(revenue, target.revenue),
        margin_pct=_pct(margin, target.margin),
    )


def run_rate(to_date: Decimal, *, elapsed_days: int, days: int) -> Decimal:
    """A month's figure at the pace so far: month-to-date / elapsed days * days in month.
    30 units by the 10th of a 30-day month is 90."""
    if elapsed_days <= 0:
        raise ValueError("elapsed_days must be at least 1")
    return to_date * days / elapsed_days


def month_state(month: date, today: date) -> MonthState:
    current = month_start(today)
    if month < current:
        return MonthState.CLOSED
    return MonthState.CURRENT if month == current else MonthState.FUTURE


@dataclass(frozen=True)
class Forecast:
    """What a month will have brought at the current pace: a closed month its actual, the
    current month its run rate, a later month the current month's daily pace times its days."""

    month: date
    state: MonthState
    units: int
    revenue: Decimal
    margin: Decimal | None


def _round(value: Decimal, unit: Decimal) -> Decimal:
    return value.quantize(unit, rounding=ROUND_HALF_UP)


def forecast(
    actuals: Sequence[Actual], *, current: Actual, today: date, currency: str
) -> list[Forecast]:
    """The run-rate forecast of each of `actuals`' months. `current` is the actual of
    today's month to date (a plan need not cover it: its pace still drives later months).

    Today counts as elapsed: its sales so far are in the month-to-date figures. Units are
    rounded half up to whole units, amounts to the currency's minor unit.
    """
    unit = Decimal(1).scaleb(-minor_units(currency))
    elapsed = today.day
    days = days_in_month(today)

    def paced(value: Decimal, month_days: int) -> Decimal:
        return run_rate(value, elapsed_days=elapsed, days=days) * month_days / days

    result = []
    for actual in actuals:
        state = month_state(actual.month, today)
        if state is MonthState.CLOSED:
            result.append(
                Forecast(actual.month, state, actual.units, actual.revenue, actual.margin)
            )
            continue
        month_days = days_in_month(actual.month)
        units = paced(Decimal(current.units), month_days).to_integral_value(ROUND_HALF_UP)
        margin = None if current.margin is None else _round(paced(current.margin, month_days), unit)
        result.append(
            Forecast(
                actual.month,
                state,
                int(units),
                _round(paced(current.revenue, month_days), unit),
                margin,
            )
        )
    return result


@dataclass(frozen=True)
class Totals:
    units: int
    revenue: Decimal
    margin: Decimal | None


def total_targets(targets: Iterable[Target]) -> Totals:
    listed = list(targets)
    return Totals(
        units=sum(t.units for t in listed),
        revenue=sum((t.revenue for t in listed), Decimal(0)),
        margin=sum((t.margin for t in listed), Decimal(0)),
    )


def total_forecast(forecasts: Iterable[Forecast]) -> Totals:
    """The period's forecast: margin known only if every month's is."""
    listed = list(forecasts)
    margins = [f.margin for f in listed if f.margin is not None]
    return Totals(
        units=sum(f.units for f in listed),
        revenue=sum((f.revenue for f in listed), Decimal(0)),
        margin=sum(margins, Decimal(0)) if len(margins) == len(listed) else None,
    )


def total_variance(target: Totals, other: Totals) -> Variance:
    """`other` (actual or forecast totals) against the target totals."""
    as_target = Target(date.min, target.units, target.revenue, target.margin or Decimal(0))
    as_actual = Actual(date.min, other.units, 0, other.revenue, other.margin)
    return variance(as_target, as_actual)


def already_planned(kind: PlanKind, subject: str) -> Conflict:
    return Conflict(f"a {kind.value} plan for {subject!r} exists already", subject=subject)
