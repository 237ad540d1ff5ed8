"""Prices and costs over time, pure: the effective price, the Omnibus prior price, what a
price replaced, the cost at a moment, and daily revenue and margin from purchases.

A price is in effect over `[effective_from, effective_to)`: from its valid_from (or its
approval, when that came later) to its valid_to (or its early expiry); `None` is open.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from services.pricing.domain import Money, PriceKind, margin_pct

# EU Omnibus directive (Directive 98/6/EC art. 6a as amended by 2019/2161): a price
# reduction must show the lowest price applied in the 30 days before it.
OMNIBUS_LOOKBACK = timedelta(days=30)
# Timestamps are stored to the microsecond: the instant before a start.
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class PriceWindow:
    price_id: str
    kind: PriceKind
    amount: Decimal
    effective_from: datetime
    effective_to: datetime | None

    def covers(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)


def resolve(windows: Iterable[PriceWindow], at: datetime) -> PriceWindow | None:
    """The price in effect at `at`: a promotion beats the base price; within one kind the
    latest start wins (ties: the later proposal, ids being time-ordered)."""
    live = [w for w in windows if w.covers(at)]
    pool = [w for w in live if w.kind is PriceKind.PROMOTION] or live
    return max(pool, key=lambda w: (w.effective_from, w.price_id), default=None)


def replaced(windows: Iterable[PriceWindow], price: PriceWindow) -> PriceWindow | None:
    """What the price replaced when it took effect: for a base price the base price before
    it, for a promotion whatever customers saw the instant before."""
    others = [
        w
        for w in windows
        if w.price_id != price.price_id
        and (price.kind is PriceKind.PROMOTION or w.kind is PriceKind.BASE)
    ]
    return resolve(others, price.effective_from - _INSTANT)


def prior_price(windows: Iterable[PriceWindow], promotion: PriceWindow) -> Decimal | None:
    """The lowest price in effect in the 30 days before the promotion started (earlier
    promotions included, as the directive asks); None if there was no price at all."""
    start = promotion.effective_from
    lookback = start - OMNIBUS_LOOKBACK
    others = [w for w in windows if w.price_id != promotion.price_id]
    # The effective price only changes where some window starts or ends.
    points = {lookback}
    for w in others:
        points.update(t for t in (w.effective_from, w.effective_to) if t and lookback < t < start)
    amounts = [found.amount for t in points if (found := resolve(others, t)) is not None]
    return min(amounts, default=None)


# --- cost and purchases -------------------------------------------------------------------------


@dataclass(frozen=True)
class CostPoint:
    """The product's cost from `valid_from` on; no amount means the cost is unknown."""

    valid_from: datetime
    cost: Money | None


def cost_at(points: Sequence[CostPoint], at: datetime) -> Money | None:
    """The cost valid at `at`; `points` sorted by valid_from."""
    index = bisect.bisect_right([p.valid_from for p in points], at)
    return points[index - 1].cost if index else None


@dataclass(frozen=True)
class Purchase:
    occurred_at: datetime
    quantity: int
    unit_price: Money


@dataclass(frozen=True)
class Figures:
    """Units, revenue and margin of one day (or of a whole range) in one currency.

    Margin covers only the units whose cost was known, in the same currency, at the
    time of the sale; `units_without_cost` says how many were left out.
    """

    day: date | None
    currency: str
    units: int
    revenue: Decimal
    cost: Decimal
    revenue_with_cost: Decimal
    units_without_cost: int

    @property
    def margin(self) -> Decimal | None:
        return None if self.units_without_cost == self.units else self.revenue_with_cost - self.cost

    @property
    def margin_pct(self) -> Decimal | None:
        if self.margin is None:
            return None
        return margin_pct(self.revenue_with_cost, self.cost)

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            day=self.day if self.day == other.day else None,
            currency=self.currency,
            units=self.units + other.units,
            revenue=self.revenue + other.revenue,
            cost=self.cost + other.cost,
            revenue_with_cost=self.revenue_with_cost + other.revenue_with_cost,
            units_without_cost=self.units_without_cost + other.units_without_cost,
        )


def _figures(purchase: Purchase, cost: Money | None) -> Figures:
    revenue = purchase.unit_price.amount * purchase.quantity
    known = cost is not None and cost.currency == purchase.unit_price.currency
    return Figures(
        day=purchase.occurred_at.date(),
        currency=purchase.unit_price.currency,
        units=purchase.quantity,
        revenue=revenue,
        cost=cost.amount * purchase.quantity if known and cost else Decimal(0),
        revenue_with_cost=revenue if known else Decimal(0),
        units_without_cost=0 if known else purchase.quantity,
    )


def daily_figures(purchases: Iterable[Purchase], costs: Sequence[CostPoint]) -> list[Figures]:
    """Per UTC day and currency, at the price paid and the cost valid at each sale."""
    days: dict[tuple[date, str], Figures] = {}
    for purchase in purchases:
        figures = _figures(purchase, cost_at(costs, purchase.occurred_at))
        key = (purchase.occurred_at.date(), figures.currency)
        days[key] = days[key] + figures if key in days else figures
    return [days[key] for key in sorted(days)]


def totals(days: Iterable[Figures]) -> list[Figures]:
    """The days summed per currency."""
    by_currency: dict[str, Figures] = {}
    for figures in days:
        whole = Figures(
            day=None,
            currency=figures.currency,
            units=figures.units,
            revenue=figures.revenue,
            cost=figures.cost,
            revenue_with_cost=figures.revenue_with_cost,
            units_without_cost=figures.units_without_cost,
        )
        current = by_currency.get(figures.currency)
        by_currency[figures.currency] = current + whole if current else whole
    return [by_currency[c] for c in sorted(by_currency)]
