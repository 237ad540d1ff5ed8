"""The projection of a proposed price: run rate, the elasticity fit and its "not enough
data" rule, as worked examples. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.pricing.domain import Money
from services.pricing.projection import (
    Basis,
    DayPoint,
    Sale,
    daily_points,
    fit_elasticity,
    project,
)

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
D = Decimal


def sale(days_ago: float, quantity: int, price: str) -> Sale:
    return Sale(NOW - timedelta(days=days_ago), quantity, D(price))


# On the line units = 6400 * price^-2: 10 -> 64, 20 -> 16, 40 -> 4 a day. Two days at 20
# fall in the last 30 days (the run rate: 32 units at 20.00), three are older.
ON_THE_LINE = [
    sale(90, 64, "10.00"),
    sale(80, 64, "10.00"),
    sale(60, 4, "40.00"),
    sale(20, 16, "20.00"),
    sale(10, 16, "20.00"),
]


def test_a_day_is_its_units_and_the_mean_price_paid() -> None:
    moment = datetime(2030, 5, 1, 9, tzinfo=UTC)
    points = daily_points(
        [
            Sale(moment, 1, D("10.00")),
            Sale(moment + timedelta(hours=3), 3, D("20.00")),
            Sale(moment - timedelta(days=1), 2, D("19.99")),
        ]
    )
    assert points == [
        DayPoint(moment.date() - timedelta(days=1), 2, D("19.99")),
        # (10 + 3 * 20) / 4
        DayPoint(moment.date(), 4, D("17.50")),
    ]


def test_points_on_a_constant_elasticity_curve_give_its_exponent() -> None:
    fit = fit_elasticity(daily_points(ON_THE_LINE))
    assert fit.elasticity == D("-2.000")
    assert (fit.points, fit.distinct_prices) == (5, 3)


def test_a_proposal_at_half_the_price_sells_four_times_the_units() -> None:
    result = project(
        proposed=Money(D("10.00"), "EUR"), cost=Money(D("6.00"), "EUR"), sales=ON_THE_LINE, now=NOW
    )
    assert result.basis is Basis.ELASTICITY
    assert (result.run_rate_units, result.reference_price) == (32, D("20.00"))
    # 32 * (10 / 20) ^ -2 = 128; 128 * 10.00; 128 * (10.00 - 6.00).
    assert (result.units, result.revenue, result.margin) == (128, D("1280.00"), D("512.00"))
    assert result.fit.points == 5
    assert "-2.000" in result.assumption
    assert result.assumption.startswith("estimate")


def test_a_rise_sells_fewer_rounded_to_whole_units() -> None:
    result = project(proposed=Money(D("25.00"), "EUR"), cost=None, sales=ON_THE_LINE, now=NOW)
    # 32 * (25 / 20) ^ -2 = 20.48 -> 20 units.
    assert (result.units, result.revenue, result.margin) == (20, D("500.00"), None)


@pytest.mark.parametrize(
    ("sales", "reason"),
    [
        # Two prices only.
        ([sale(40, 64, "10.00"), sale(30.5, 64, "10.00"), sale(20, 16, "20.00")] * 2, "2 distinct"),
        # Three prices but only four days with sales.
        (ON_THE_LINE[1:], "over 4 day(s)"),
    ],
)
def test_too_little_history_assumes_unchanged_demand(sales: list[Sale], reason: str) -> None:
    result = project(proposed=Money(D("10.00"), "EUR"), cost=None, sales=sales, now=NOW)
    assert result.basis is Basis.UNCHANGED_DEMAND
    assert result.fit.elasticity is None
    assert reason in result.fit.reason
    assert result.units == result.run_rate_units
    assert "assumes unchanged demand" in result.assumption


def test_demand_rising_with_the_price_is_not_believed() -> None:
    # More sold at higher prices (a promoted launch, say): slope +2.
    rising = [
        sale(90, 4, "10.00"),
        sale(80, 4, "10.00"),
        sale(60, 64, "40.00"),
        sale(20, 16, "20.00"),
        sale(10, 16, "20.00"),
    ]
    result = project(proposed=Money(D("10.00"), "EUR"), cost=None, sales=rising, now=NOW)
    assert result.basis is Basis.UNCHANGED_DEMAND
    assert result.fit.reason == "the fit (2.000) does not show demand falling as the price rises"
    assert (result.units, result.revenue) == (32, D("320.00"))


def test_no_recent_sales_project_nothing() -> None:
    old_only = ON_THE_LINE[:3]
    result = project(
        proposed=Money(D("10.00"), "EUR"), cost=Money(D("6"), "EUR"), sales=old_only, now=NOW
    )
    assert (result.units, result.revenue, result.margin) == (0, D(0), D(0))
    assert result.reference_price is None
    assert "no sales in the last 30 days" in result.assumption


def test_only_the_fit_window_counts_and_a_cost_in_another_currency_gives_no_margin() -> None:
    too_old, not_yet = sale(181, 500, "5.00"), sale(-1, 500, "5.00")
    result = project(
        proposed=Money(D("10.00"), "EUR"),
        cost=Money(D("6.00"), "USD"),
        sales=[*ON_THE_LINE, too_old, not_yet],
        now=NOW,
    )
    assert (result.units, result.fit.points, result.fit.elasticity) == (128, 5, D("-2.000"))
    assert result.margin is None
