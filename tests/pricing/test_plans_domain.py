"""Financial plans' rules without I/O, with worked examples: launch goals split into monthly
targets, monthly actuals from sales and returns, variance, the run-rate forecast, periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.pricing.plans.domain import (
    Actual,
    Line,
    MonthState,
    Target,
    change_targets,
    check_targets,
    forecast,
    launch_targets,
    monthly_actuals,
    run_rate,
    split_amount,
    split_units,
    total_forecast,
    total_targets,
    total_variance,
    variance,
)
from shared.errors import Invalid
from shared.periods import days_in_month, parse_period

D = Decimal
APR, MAY, JUN = date(2030, 4, 1), date(2030, 5, 1), date(2030, 6, 1)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("total", "parts", "shares"),
    [(500, 3, [167, 167, 166]), (3, 3, [1, 1, 1]), (2, 3, [1, 1, 0]), (0, 3, [0, 0, 0])],
)
def test_units_split_evenly_larger_shares_first(total: int, parts: int, shares: list[int]) -> None:
    assert split_units(total, parts) == shares
    assert sum(shares) == total


def test_amounts_split_to_the_minor_unit_and_add_up() -> None:
    assert split_amount(D("25000.00"), 3, "EUR") == [D("8333.34"), D("8333.33"), D("8333.33")]
    assert split_amount(D("100"), 3, "JPY") == [D(34), D(33), D(33)]
    assert sum(split_amount(D("0.05"), 3, "EUR")) == D("0.05")


def test_launch_goals_become_the_first_three_monthly_targets() -> None:
    # 500 units, 25,000.00 EUR at 32.5% margin: the margin goal is 8,125.00 EUR.
    targets = launch_targets(
        launched_at=datetime(2030, 4, 20, 9, tzinfo=UTC),
        units=500,
        revenue=D("25000.00"),
        margin_pct=D("32.5"),
        currency="EUR",
    )
    assert targets == [
        Target(APR, 167, D("8333.34"), D("2708.34")),
        Target(MAY, 167, D("8333.33"), D("2708.33")),
        Target(JUN, 166, D("8333.33"), D("2708.33")),
    ]


def test_launch_months_run_over_the_year_end() -> None:
    targets = launch_targets(
        launched_at=datetime(2030, 12, 31, tzinfo=UTC),
        units=3,
        revenue=D("30"),
        margin_pct=D("-10"),
        currency="EUR",
    )
    assert [t.month for t in targets] == [date(2030, 12, 1), date(2031, 1, 1), date(2031, 2, 1)]
    assert [t.margin for t in targets] == [D("-1.00")] * 3


def test_targets_are_checked_and_changes_replace_their_months() -> None:
    current = [Target(APR, 10, D("100"), D("30")), Target(MAY, 10, D("100"), D("30"))]
    changed = change_targets(
        current, [Target(MAY, 20, D("200"), D("60")), Target(JUN, 5, D(50), D(9))], "EUR"
    )
    assert changed == [current[0], Target(MAY, 20, D("200"), D("60")), Target(JUN, 5, D(50), D(9))]
    with pytest.raises(Invalid) as twice:
        check_targets([current[0], current[0]], "EUR")
    assert twice.value.extra["errors"][0]["loc"] == ["body", "targets", "1", "month"]
    with pytest.raises(Invalid) as scale:
        check_targets([Target(APR, 1, D("1.5"), D(0))], "JPY")
    assert scale.value.extra["errors"][0]["loc"] == ["body", "targets", "0", "revenue"]
    with pytest.raises(Invalid):
        check_targets([], "EUR")


def test_monthly_actuals_take_returns_off_and_value_margin_at_the_cost_of_the_time() -> None:
    lines = [
        # 10 sold at 20.00, cost 12.00: revenue 200.00, margin 80.00.
        Line(at(date(2030, 4, 3)), 10, D("200.00"), "EUR", D("12.00")),
        # 2 returned, valued at the last sale price 20.00: -40.00 revenue, -16.00 margin.
        Line(at(date(2030, 4, 9)), -2, D("-40.00"), "EUR", D("12.00")),
        # 1 returned with no earlier sale known: units only.
        Line(at(date(2030, 4, 10)), -1, None, None, None),
        # 3 sold, cost unknown: revenue counts, margin leaves them out.
        Line(at(date(2030, 5, 2)), 3, D("60.00"), "EUR", None),
        # Another currency and a month outside the plan: not this plan's.
        Line(at(date(2030, 4, 4)), 5, D("100.00"), "USD", D("1")),
        Line(at(date(2030, 7, 1)), 5, D("100.00"), "EUR", D("1")),
    ]
    april, may, june = monthly_actuals(lines, [APR, MAY, JUN], "EUR")
    assert april == Actual(APR, 10, 3, D("160.00"), D("64.00"), 0, 1)
    assert april.units == 7
    assert may == Actual(MAY, 3, 0, D("60.00"), None, 3, 0)
    # Nothing sold in June: a margin of zero, known (it was unknown, null, before).
    assert june == Actual(JUN)
    assert (june.margin, june.units_without_cost) == (D(0), 0)


def test_margin_is_unknown_only_when_every_line_lacks_a_cost() -> None:
    no_cost = Line(at(date(2030, 5, 2)), 3, D("60.00"), "EUR", None)
    unvalued_return = Line(at(date(2030, 5, 3)), -1, None, None, None)
    costed = Line(at(date(2030, 5, 4)), 1, D("20.00"), "EUR", D("15.00"))
    (unknown,) = monthly_actuals([no_cost, unvalued_return], [MAY], "EUR")
    assert (unknown.margin, unknown.units, unknown.units_without_cost) == (None, 2, 3)
    (known,) = monthly_actuals([no_cost, costed], [MAY], "EUR")
    assert (known.margin, known.units_without_cost) == (D("5.00"), 3)
    # A month with no line adds nothing to another's.
    assert Actual(APR) + unknown == Actual(APR, 3, 1, D("60.00"), None, 3, 1)
    assert unknown + Actual(APR) == unknown


def test_variance_against_the_target() -> None:
    target = Target(APR, 100, D("2000.00"), D("600.00"))
    result = variance(target, Actual(APR, 130, 10, D("2400.00"), D("540.00")))
    assert (result.units, result.units_pct) == (20, D("20.00"))
    assert (result.revenue, result.revenue_pct) == (D("400.00"), D("20.00"))
    assert (result.margin, result.margin_pct) == (D("-60.00"), D("-10.00"))
    unknown = variance(Target(APR, 0, D(0), D(0)), Actual(APR, 5, 0, D("50"), None))
    assert (unknown.units_pct, unknown.revenue_pct, unknown.margin) == (None, None, None)


def test_a_negative_margin_target_is_measured_by_its_size() -> None:
    result = variance(Target(APR, 1, D(0), D("-100")), Actual(APR, 1, 0, D(0), D("-50")))
    assert (result.margin, result.margin_pct) == (D("50"), D("50.00"))


def test_run_rate_is_month_to_date_over_elapsed_days_times_days_in_month() -> None:
    assert run_rate(D(30), elapsed_days=10, days=30) == D(90)
    assert run_rate(D("155.00"), elapsed_days=5, days=31) == D("961.00")
    with pytest.raises(ValueError, match="elapsed_days"):
        run_rate(D(1), elapsed_days=0, days=30)


def test_forecast_keeps_closed_months_and_paces_the_rest() -> None:
    today = date(2030, 5, 10)  # 10 of May's 31 days elapsed
    actuals = [
        Actual(APR, 100, 0, D("2000.00"), D("500.00")),
        Actual(MAY, 40, 10, D("600.00"), D("150.00")),
        Actual(JUN),
    ]
    april, may, june = forecast(actuals, current=actuals[1], today=today, currency="EUR")
    assert (april.state, april.units, april.revenue, april.margin) == (
        MonthState.CLOSED,
        100,
        D("2000.00"),
        D("500.00"),
    )
    # 30 net units in 10 days of 31: 93; 600.00 -> 1860.00; 150.00 -> 465.00.
    assert (may.state, may.units, may.revenue, may.margin) == (
        MonthState.CURRENT,
        93,
        D("1860.00"),
        D("465.00"),
    )
    # June has 30 days at May's daily pace (3 units, 60.00, 15.00 a day).
    assert (june.state, june.units, june.revenue, june.margin) == (
        MonthState.FUTURE,
        90,
        D("1800.00"),
        D("450.00"),
    )
    totals = total_forecast([april, may, june])
    assert (totals.units, totals.revenue, totals.margin) == (283, D("5660.00"), D("1415.00"))


def test_forecast_rounds_half_up_to_units_and_cents() -> None:
    today = date(2030, 4, 3)
    current = Actual(APR, 1, 0, D("10.00"), None)
    (april,) = forecast([current], current=current, today=today, currency="EUR")
    # 1 unit in 3 days of 30: 10 units; 10.00 -> 100.00; margin unknown stays unknown.
    assert (april.units, april.revenue, april.margin) == (10, D("100.00"), None)
    current = Actual(APR, 1, 0, D("1.00"), D("0.01"))
    (april,) = forecast([current], current=current, today=date(2030, 4, 7), currency="EUR")
    # 30/7 = 4.29 units -> 4; 1.00*30/7 = 4.2857 -> 4.29; 0.01*30/7 = 0.0429 -> 0.04.
    assert (april.units, april.revenue, april.margin) == (4, D("4.29"), D("0.04"))


def test_period_totals_and_their_variance() -> None:
    targets = [Target(APR, 100, D("2000"), D("600")), Target(MAY, 100, D("2000"), D("600"))]
    total = total_targets(targets)
    assert (total.units, total.revenue, total.margin) == (200, D("4000"), D("1200"))
    forecast_total = total_forecast([])
    assert forecast_total.units == 0
    result = total_variance(total, total_targets([Target(APR, 150, D("3000"), D("900"))]))
    assert (result.units, result.revenue_pct, result.margin_pct) == (-50, D("-25.00"), D("-25.00"))


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("2030-04", [APR]),
        ("2030-Q2", [APR, MAY, JUN]),
        ("2030-Q4", [date(2030, 10, 1), date(2030, 11, 1), date(2030, 12, 1)]),
    ],
)
def test_periods_are_months_or_quarters(text: str, months: list[date]) -> None:
    period = parse_period(text)
    assert period.months == months
    assert period.start == at(months[0], 0)
    assert period.end.date() == date(
        months[-1].year + months[-1].month // 12, months[-1].month % 12 + 1, 1
    )


@pytest.mark.parametrize(
    "bad", ["2030-13", "2030-Q5", "2030-4", "30-04", "2030-04-01", "", "2030-q2"]
)
def test_other_periods_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_period(bad)


@pytest.mark.parametrize("text", ["1969-12", "3000-01", "9999-12", "9999-Q4", "0000-Q1"])
def test_periods_keep_to_the_years_of_a_plannable_date(text: str) -> None:
    with pytest.raises(ValueError, match="a year from 1970 to 2999"):
        parse_period(text)
    assert parse_period("2999-Q4").end == datetime(3000, 1, 1, tzinfo=UTC)


def test_days_in_month() -> None:
    assert [days_in_month(date(2030, m, 1)) for m in (1, 2, 4, 12)] == [31, 28, 30, 31]
    assert days_in_month(date(2032, 2, 1)) == 29
