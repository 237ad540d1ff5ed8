"""What a proposed price would do over the next 30 days (issue 14 part 3): an estimate from
the product's recent run rate, adjusted by a constant-elasticity fit where the history
holds enough distinct prices. Pure: no I/O, Decimal throughout (never a float).

- Run rate: the units sold over the last `RUN_RATE_DAYS` days, and the mean price they were
  paid at (the reference price: revenue / units).
- Fit: one point per UTC day with sales over the last `FIT_DAYS` days, (ln mean price paid
  that day, ln units that day), and a least-squares line through them; its slope is the
  price elasticity of demand `e` (units ~ price^e).
- The "not enough data" rule: the fit adjusts the units only with at least
  `MIN_DISTINCT_PRICES` distinct daily prices over at least `MIN_POINTS` days, and only
  when it says demand falls as the price rises (`e < 0`): a flat or rising line on
  observational sales is confounding (a promotion's marketing, a season), not a law.
- Projection: units = run-rate units * (proposed / reference)^e, rounded to whole units;
  revenue = units * proposed; margin = units * (proposed - cost) when the cost is known in
  the price's currency. Without a usable fit, e is taken as 0: unchanged demand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.pricing.domain import Money

HORIZON_DAYS = 30
RUN_RATE_DAYS = 30
FIT_DAYS = 180
MIN_DISTINCT_PRICES = 3
MIN_POINTS = 5
# Shown and used at this precision, so the figure on screen reproduces the units.
ELASTICITY_PLACES = Decimal("0.001")
# Mean daily prices equal to the cent are one price: 19.99 and 19.9900001 are not two.
_CENT = Decimal("0.01")


class Basis(StrEnum):
    ELASTICITY = "elasticity"
    UNCHANGED_DEMAND = "unchanged_demand"


@dataclass(frozen=True)
class Sale:
    """Units sold at a unit price, at a moment (a purchase, in the price's currency)."""

    occurred_at: datetime
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class DayPoint:
    """One UTC day's sales: units and the mean price paid."""

    day: date
    units: int
    mean_price: Decimal


@dataclass(frozen=True)
class Fit:
    """A constant-elasticity fit, or why there is none (`elasticity` None)."""

    elasticity: Decimal | None
    points: int
    distinct_prices: int
    reason: str


@dataclass(frozen=True)
class Projection:
    days: int
    basis: Basis
    assumption: str
    fit: Fit
    run_rate_units: int
    reference_price: Decimal | None
    units: int
    revenue: Decimal
    margin: Decimal | None


def daily_points(sales: Iterable[Sale]) -> list[DayPoint]:
    """Each UTC day with sales, oldest first, with its units and mean price paid."""
    units: dict[date, int] = defaultdict(int)
    revenue: dict[date, Decimal] = defaultdict(Decimal)
    for sale in sales:
        day = sale.occurred_at.date()
        units[day] += sale.quantity
        revenue[day] += sale.unit_price * sale.quantity
    return [
        DayPoint(day, units[day], (revenue[day] / units[day]).quantize(_CENT, ROUND_HALF_UP))
        for day in sorted(units)
    ]


def fit_elasticity(points: Iterable[DayPoint]) -> Fit:
    """The least-squares slope of ln(units) on ln(price) over `points`, under the "not
    enough data" rule (see the module's docstring)."""
    usable = [p for p in points if p.mean_price > 0]
    prices = {p.mean_price for p in usable}
    count, distinct = len(usable), len(prices)
    if distinct < MIN_DISTINCT_PRICES or count < MIN_POINTS:
        reason = (
            f"{distinct} distinct daily price(s) over {count} day(s) with sales; a fit needs "
            f"at least {MIN_DISTINCT_PRICES} prices over {MIN_POINTS} days"
        )
        return Fit(None, count, distinct, reason)
    xs = [p.mean_price.ln() for p in usable]
    ys = [Decimal(p.units).ln() for p in usable]
    zero = Decimal(0)
    mean_x, mean_y = sum(xs, zero) / count, sum(ys, zero) / count
    spread = sum(((x - mean_x) ** 2 for x in xs), zero)
    covariance = sum(((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)), zero)
    slope = covariance / spread
    elasticity = slope.quantize(ELASTICITY_PLACES, ROUND_HALF_UP)
    if elasticity >= 0:
        reason = f"the fit ({elasticity}) does not show demand falling as the price rises"
        return Fit(None, count, distinct, reason)
    return Fit(elasticity, count, distinct, f"fitted on {count} days at {distinct} prices")


def project(
    *,
    proposed: Money,
    cost: Money | None,
    sales: Iterable[Sale],
    now: datetime,
) -> Projection:
    """Units, revenue and margin over the next `HORIZON_DAYS` days at `proposed`, from
    `sales` (the product's, in `proposed.currency`, up to `FIT_DAYS` back from `now`)."""
    recent_start = now - timedelta(days=RUN_RATE_DAYS)
    fit_start = now - timedelta(days=FIT_DAYS)
    kept = [s for s in sales if fit_start <= s.occurred_at < now]
    recent = [s for s in kept if s.occurred_at >= recent_start]
    run_units = sum(s.quantity for s in recent)
    reference = None
    if run_units:
        paid = sum((s.unit_price * s.quantity for s in recent), Decimal(0))
        reference = (paid / run_units).quantize(_CENT, ROUND_HALF_UP)
    fit = fit_elasticity(daily_points(kept))
    # The run rate scaled over the horizon (equal lengths today, kept apart on purpose).
    baseline = Decimal(run_units) * HORIZON_DAYS / RUN_RATE_DAYS
    if fit.elasticity is not None and reference and proposed.amount > 0:
        basis = Basis.ELASTICITY
        expected = baseline * (proposed.amount / reference) ** fit.elasticity
        assumption = (
            f"estimate: the last {RUN_RATE_DAYS} days' units at a mean {reference}, scaled by "
            f"(proposed / {reference}) ^ {fit.elasticity}, an elasticity {fit.reason}"
        )
    else:
        basis = Basis.UNCHANGED_DEMAND
        expected = baseline
        why = fit.reason if run_units else f"no sales in the last {RUN_RATE_DAYS} days"
        assumption = (
            f"estimate: assumes unchanged demand, the last {RUN_RATE_DAYS} days' units ({why})"
        )
    units = int(expected.quantize(Decimal(1), ROUND_HALF_UP))
    revenue = proposed.amount * units
    margin = None
    if cost is not None and cost.currency == proposed.currency:
        margin = (proposed.amount - cost.amount) * units
    return Projection(
        days=HORIZON_DAYS,
        basis=basis,
        assumption=assumption,
        fit=fit,
        run_rate_units=run_units,
        reference_price=reference,
        units=units,
        revenue=revenue,
        margin=margin,
    )
