"""Pricing rules without database, broker or HTTP: money, windows, guardrails, four eyes,
the effective price, the Omnibus prior price and daily metrics."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.pricing.domain import (
    ALLOWED_TRANSITIONS,
    FourEyes,
    GuardrailChangeFacts,
    GuardrailChangeStatus,
    Guardrails,
    InvalidPriceTransition,
    Money,
    NotProposer,
    PriceFacts,
    PriceKind,
    PriceStatus,
    ViolationCode,
    approve,
    approve_guardrail_change,
    change_pct,
    check_guardrails,
    check_limits,
    check_window,
    loosened,
    margin_pct,
    reject,
    reject_guardrail_change,
    transition,
    withdraw,
)
from services.pricing.timeline import (
    CostPoint,
    PriceWindow,
    Purchase,
    cost_at,
    daily_figures,
    prior_price,
    replaced,
    resolve,
    totals,
)
from shared.errors import Conflict, Forbidden, Invalid
from shared.money import CURRENCIES, check_scale, format_amount, minor_units, parse_amount

D = Decimal
T0 = datetime(2030, 3, 1, 12, tzinfo=UTC)
BASE, PROMO = PriceKind.BASE, PriceKind.PROMOTION


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


# --- money --------------------------------------------------------------------------------------


def test_currency_table_has_the_common_currencies_with_their_minor_units() -> None:
    assert len(CURRENCIES) >= 20
    assert {
        code: minor_units(code) for code in ("EUR", "USD", "GBP", "CHF", "SEK")
    } == dict.fromkeys(("EUR", "USD", "GBP", "CHF", "SEK"), 2)
    assert minor_units("JPY") == 0
    assert minor_units("KRW") == 0
    assert minor_units("BHD") == 3
    assert all(len(code) == 3 and code.isupper() for code in CURRENCIES)


@pytest.mark.parametrize("code", ["XXX", "eur", "EURO", "", None])
def test_unknown_currency_is_refused(code: object) -> None:
    with pytest.raises(ValueError, match="unknown currency"):
        minor_units(code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value"),
    [("19.99", D("19.99")), ("0", D(0)), ("007.5", D("7.5")), ("123456789012.1234", None)],
)
def test_parse_amount_reads_decimal_strings_exactly(text: str, value: Decimal | None) -> None:
    assert parse_amount(text) == (value if value is not None else D(text))


@pytest.mark.parametrize(
    "bad",
    [
        19.99,
        19,
        True,
        None,
        "1e3",
        "1E-2",
        "NaN",
        "nan",
        "Infinity",
        "-1.00",
        "+1",
        " 1",
        "1 ",
        "19.99\n",
        "1,5",
        ".5",
        "5.",
        "",
        "1234567890123",
        "0x10",
        "١٢",  # Arabic-Indic digits: \d would match them without care
        D("NaN"),
        D("-1"),
    ],
)
def test_parse_amount_refuses_everything_else(bad: object) -> None:
    with pytest.raises(ValueError, match="amount"):
        parse_amount(bad)


def test_parse_amount_limits_significant_decimals() -> None:
    assert parse_amount("1.23450") == D("1.2345")
    with pytest.raises(ValueError, match="more than 4 decimals"):
        parse_amount("1.23456")


@pytest.mark.parametrize(
    ("amount", "currency", "ok"),
    [
        ("19.99", "EUR", True),
        ("19.999", "EUR", False),
        ("19.990", "EUR", True),  # trailing zeros are not significant
        ("1990", "JPY", True),
        ("1990.5", "JPY", False),
        ("1990.0", "JPY", True),
        ("1.234", "BHD", True),
        ("1.2345", "BHD", False),
    ],
)
def test_check_scale_follows_the_currency(amount: str, currency: str, ok: bool) -> None:
    if ok:
        assert check_scale(D(amount), currency) == D(amount)
    else:
        with pytest.raises(ValueError, match=f"{currency} amounts have"):
            check_scale(D(amount), currency)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("19.9", "EUR", "19.90"),
        ("20", "EUR", "20.00"),
        ("19.9000", "EUR", "19.90"),
        ("1990", "JPY", "1990"),
        ("1990.0000", "JPY", "1990"),
        ("1.5", "BHD", "1.500"),
        ("12.4", None, "12.40"),
        ("12.3456", "EUR", "12.3456"),  # more decimals only when significant (costs)
        ("1E+3", "EUR", "1000.00"),
    ],
)
def test_format_amount_is_canonical(amount: str, currency: str | None, text: str) -> None:
    assert format_amount(D(amount), currency) == text


# --- status transitions -------------------------------------------------------------------------

ALL_PAIRS = list(itertools.product(PriceStatus, repeat=2))
ALLOWED = {
    (PriceStatus.PROPOSED, PriceStatus.APPROVED),
    (PriceStatus.PROPOSED, PriceStatus.REJECTED),
    (PriceStatus.PROPOSED, PriceStatus.WITHDRAWN),
    (PriceStatus.APPROVED, PriceStatus.PUBLISHED),
    (PriceStatus.APPROVED, PriceStatus.WITHDRAWN),
    (PriceStatus.APPROVED, PriceStatus.EXPIRED),
    (PriceStatus.PUBLISHED, PriceStatus.EXPIRED),
}


@pytest.mark.parametrize(("current", "to"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_transition_matrix(current: PriceStatus, to: PriceStatus) -> None:
    table = {(src, dst) for src, targets in ALLOWED_TRANSITIONS.items() for dst in targets}
    assert table == ALLOWED
    if (current, to) in ALLOWED:
        assert transition(current, to) is to
        return
    with pytest.raises(InvalidPriceTransition) as caught:
        transition(current, to)
    assert caught.value.status == 409
    assert caught.value.extra["current"] == current.value
    assert set(caught.value.extra["allowed"]) == {s.value for s in ALLOWED_TRANSITIONS[current]}


# --- validity windows ---------------------------------------------------------------------------


def test_window_rules() -> None:
    check_window(kind=BASE, valid_from=at(), valid_to=None, now=at())
    check_window(kind=PROMO, valid_from=at(1), valid_to=at(8), now=at())
    # A window that started in the past is fine as long as it has not ended.
    check_window(kind=BASE, valid_from=at(-5), valid_to=at(1), now=at())


@pytest.mark.parametrize(
    ("kind", "valid_from", "valid_to", "msg"),
    [
        (PROMO, at(), None, "a promotion needs valid_to"),
        (BASE, at(2), at(1), "valid_to must be after valid_from"),
        (BASE, at(1), at(1), "valid_to must be after valid_from"),
        (BASE, at(-3), at(-1), "valid_to is in the past"),
        (BASE, at(-3), at(), "valid_to is in the past"),
    ],
)
def test_window_errors_name_the_field(
    kind: PriceKind, valid_from: datetime, valid_to: datetime | None, msg: str
) -> None:
    with pytest.raises(Invalid) as caught:
        check_window(kind=kind, valid_from=valid_from, valid_to=valid_to, now=at())
    assert caught.value.status == 422
    assert caught.value.extra["field"] == "valid_to"
    assert caught.value.extra["errors"] == [{"loc": ["body", "valid_to"], "msg": msg}]


# --- guardrails ---------------------------------------------------------------------------------

RAILS = Guardrails(min_margin_pct=D(20), max_change_pct=D(10), floor=D("5.00"), ceiling=D("100.00"))
COST = Money(D("10.00"), "EUR")


def codes(
    amount: str,
    *,
    rails: Guardrails = RAILS,
    cost: Money | None = COST,
    current: str | None = "14.00",
) -> list[str]:
    found = check_guardrails(
        amount=D(amount),
        currency="EUR",
        guardrails=rails,
        cost=cost,
        current=D(current) if current is not None else None,
    )
    return [v.code.value for v in found]


def test_a_price_within_every_guardrail_has_no_violations() -> None:
    assert codes("14.50") == []


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("12.50", []),  # margin exactly 20%: the minimum is allowed
        ("12.49", ["margin_below_minimum"]),
        ("10.00", ["margin_below_minimum"]),  # at cost: not below it
        ("9.99", ["below_cost", "margin_below_minimum"]),
    ],
)
def test_margin_boundaries_are_exact(amount: str, expected: list[str]) -> None:
    assert codes(amount, rails=Guardrails(min_margin_pct=D(20))) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("15.40", []),  # exactly +10% versus 14.00
        ("15.41", ["change_too_large"]),
        ("12.60", []),  # exactly -10%
        ("12.59", ["change_too_large"]),
    ],
)
def test_change_boundaries_are_exact(amount: str, expected: list[str]) -> None:
    assert codes(amount, rails=Guardrails(max_change_pct=D(10)), current="14.00") == expected


def test_floor_and_ceiling() -> None:
    rails = Guardrails(floor=D("5.00"), ceiling=D("100.00"))
    assert codes("5.00", rails=rails, cost=None) == []
    assert codes("4.99", rails=rails, cost=None) == ["below_floor"]
    assert codes("100.00", rails=rails, cost=None) == []
    assert codes("100.01", rails=rails, cost=None) == ["above_ceiling"]


def test_every_violation_at_once_in_a_fixed_order() -> None:
    rails = Guardrails(min_margin_pct=D(20), max_change_pct=D(10), floor=D(9), ceiling=D(8))
    assert codes("8.50", rails=rails, current="20.00") == [
        "below_cost",
        "margin_below_minimum",
        "change_too_large",
        "below_floor",
        "above_ceiling",
    ]


def test_violation_carries_limit_actual_and_a_readable_detail() -> None:
    (margin,) = check_guardrails(
        amount=D("11.00"),
        currency="EUR",
        guardrails=Guardrails(min_margin_pct=D(20)),
        cost=COST,
        current=None,
    )
    assert margin.code is ViolationCode.MARGIN_BELOW_MINIMUM
    assert margin.limit == D(20)
    assert margin.actual == D("9.09")
    assert "9.09%" in margin.detail
    assert "minimum of 20%" in margin.detail


def test_without_cost_margin_checks_are_skipped() -> None:
    assert codes("1.00", cost=None, rails=Guardrails(min_margin_pct=D(50))) == []


def test_a_cost_in_another_currency_cannot_be_compared() -> None:
    usd = Money(D("100.00"), "USD")
    assert codes("1.00", cost=usd, rails=Guardrails(min_margin_pct=D(50))) == []


def test_first_price_has_no_change_to_measure() -> None:
    assert codes("99.00", current=None, rails=Guardrails(max_change_pct=D(1))) == []


def test_change_from_a_zero_price_is_always_too_large() -> None:
    rails = Guardrails(max_change_pct=D(1000))
    assert codes("0.01", current="0", rails=rails, cost=None) == ["change_too_large"]
    assert codes("0", current="0", rails=rails, cost=None) == []


def test_a_zero_price_never_meets_a_minimum_margin() -> None:
    free = Money(D(0), "EUR")
    assert codes("0", cost=free, rails=Guardrails(min_margin_pct=D(0))) == ["margin_below_minimum"]
    assert codes("0", cost=free, rails=Guardrails()) == []


def test_margin_and_change_percentages() -> None:
    assert margin_pct(D("12.50"), D("10.00")) == D("20.00")
    assert margin_pct(D("3"), D("1")) == D("66.67")  # half-up for display only
    assert margin_pct(D("0"), D("1")) is None
    assert change_pct(D("11"), D("10")) == D("10.00")
    assert change_pct(D("9"), D("10")) == D("-10.00")
    assert change_pct(D("9"), D("0")) is None


def test_floor_above_ceiling_is_refused() -> None:
    check_limits(Guardrails(floor=D(5), ceiling=D(5)))
    with pytest.raises(Invalid) as caught:
        check_limits(Guardrails(floor=D(6), ceiling=D(5)))
    assert caught.value.extra["errors"][0]["loc"] == ["body", "guardrails", "ceiling"]


# --- decisions: four eyes -----------------------------------------------------------------------


def proposal(**changes: object) -> PriceFacts:
    values: dict[str, object] = {
        "status": PriceStatus.PROPOSED,
        "proposed_by": "key-pm",
        "proposed_by_owner": "pat",
        "valid_from": at(1),
        "valid_to": None,
    }
    values.update(changes)
    return PriceFacts(**values)  # type: ignore[arg-type]


def test_approval_by_a_second_person_takes_effect_at_valid_from() -> None:
    starts = approve(proposal(), approver="dana", violations=(), override_reason=None, now=at())
    assert starts == at(1)


def test_late_approval_takes_effect_at_the_approval() -> None:
    late = proposal(valid_from=at(-2))
    assert approve(late, approver="dana", violations=(), override_reason=None, now=at()) == at()


def test_four_eyes_compares_owners_not_keys() -> None:
    # Pat proposed with one key; another of Pat's keys is still Pat.
    second_key = proposal(proposed_by="key-pm-laptop")
    with pytest.raises(FourEyes) as caught:
        approve(second_key, approver="pat", violations=(), override_reason=None, now=at())
    assert caught.value.extra["proposed_by"] == "key-pm-laptop"
    with pytest.raises(FourEyes):
        reject(second_key, approver="pat")
    assert approve(proposal(), approver="dana", violations=(), override_reason=None, now=at())


def test_the_proposer_can_never_approve_or_reject_their_own_price() -> None:
    for decide in (
        lambda: approve(proposal(), approver="pat", violations=(), override_reason="x", now=at()),
        lambda: reject(proposal(), approver="pat"),
    ):
        with pytest.raises(FourEyes) as caught:
            decide()
        assert isinstance(caught.value, Forbidden)
        assert caught.value.status == 403
        assert caught.value.slug == "four-eyes"
        assert "second person" in caught.value.detail
        assert caught.value.extra["proposed_by"] == "key-pm"


VIOLATION = check_guardrails(
    amount=D("9"), currency="EUR", guardrails=Guardrails(), cost=COST, current=None
)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_violations_need_an_override_reason(reason: str | None) -> None:
    with pytest.raises(Invalid) as caught:
        approve(proposal(), approver="dana", violations=VIOLATION, override_reason=reason, now=at())
    err = caught.value
    assert err.status == 422
    assert err.extra["field"] == "override_reason"
    assert err.extra["violations"] == ["below_cost"]
    assert "below_cost" in err.detail


def test_violations_at_proposal_need_an_override_reason_even_when_gone_now() -> None:
    # The list was loosened after the proposal: nothing breaks now, the record still does.
    with pytest.raises(Invalid) as caught:
        approve(
            proposal(),
            approver="dana",
            violations=(),
            override_reason=None,
            now=at(),
            violations_at_proposal=["below_floor"],
        )
    assert caught.value.extra["violations"] == ["below_floor"]
    assert "now or when proposed" in caught.value.detail


@pytest.mark.parametrize(
    ("old", "new", "loosens"),
    [
        (Guardrails(), Guardrails(floor=D(1), min_margin_pct=D(5)), ()),
        (Guardrails(floor=D(5)), Guardrails(floor=D(6)), ()),
        (Guardrails(floor=D(5)), Guardrails(floor=D(4)), ("floor",)),
        (Guardrails(floor=D(5)), Guardrails(), ("floor",)),
        (Guardrails(ceiling=D(50)), Guardrails(ceiling=D(40)), ()),
        (Guardrails(ceiling=D(50)), Guardrails(ceiling=D(60)), ("ceiling",)),
        (Guardrails(min_margin_pct=D(20)), Guardrails(min_margin_pct=D(19)), ("min_margin_pct",)),
        (Guardrails(max_change_pct=D(10)), Guardrails(max_change_pct=D(5)), ()),
        (Guardrails(max_change_pct=D(10)), Guardrails(max_change_pct=D(11)), ("max_change_pct",)),
        (
            Guardrails(min_margin_pct=D(20), ceiling=D(50)),
            Guardrails(min_margin_pct=D(30)),
            ("ceiling",),
        ),
    ],
)
def test_loosening_is_a_lower_floor_or_margin_a_higher_cap_or_a_limit_removed(
    old: Guardrails, new: Guardrails, loosens: tuple[str, ...]
) -> None:
    assert loosened(old, new) == loosens


def test_a_guardrail_change_is_approved_by_another_owner_on_an_unchanged_list() -> None:
    change = GuardrailChangeFacts(
        status=GuardrailChangeStatus.PENDING,
        requested_by="key-pat-1",
        requested_by_owner="pat",
        base_version=3,
    )
    with pytest.raises(FourEyes) as caught:
        approve_guardrail_change(change, approver="pat", list_version=3)
    assert caught.value.extra["requested_by"] == "key-pat-1"
    with pytest.raises(Conflict):
        approve_guardrail_change(change, approver="dana", list_version=4)
    approve_guardrail_change(change, approver="dana", list_version=3)
    decided = GuardrailChangeFacts(GuardrailChangeStatus.APPLIED, "key-pat-1", "pat", 3)
    with pytest.raises(Conflict):
        approve_guardrail_change(decided, approver="dana", list_version=3)
    with pytest.raises(Conflict):
        reject_guardrail_change(decided)


def test_an_override_reason_lets_a_violating_price_through() -> None:
    starts = approve(
        proposal(),
        approver="dana",
        violations=VIOLATION,
        override_reason="clearance before the new model",
        now=at(),
    )
    assert starts == at(1)


@pytest.mark.parametrize(
    "status", [s for s in PriceStatus if s is not PriceStatus.PROPOSED], ids=str
)
def test_only_a_proposal_can_be_decided(status: PriceStatus) -> None:
    for decide in (
        lambda: approve(
            proposal(status=status),
            approver="dana",
            violations=(),
            override_reason=None,
            now=at(),
        ),
        lambda: reject(proposal(status=status), approver="dana"),
    ):
        with pytest.raises(Conflict, match=f"this one is {status.value}"):
            decide()


def test_the_state_is_checked_before_the_person() -> None:
    # Deciding a closed price is a conflict for everyone, its proposer included.
    with pytest.raises(Conflict):
        reject(proposal(status=PriceStatus.REJECTED), approver="pat")


def test_a_window_that_ended_cannot_be_approved() -> None:
    ended = proposal(valid_from=at(-3), valid_to=at(-1))
    with pytest.raises(Conflict, match="window ended"):
        approve(ended, approver="dana", violations=(), override_reason=None, now=at())


def test_withdraw_rules() -> None:
    withdraw(proposal(), actor="pat", now=at())
    scheduled = proposal(status=PriceStatus.APPROVED, effective_from=at(1))
    withdraw(scheduled, actor="pat", now=at())
    with pytest.raises(NotProposer) as caught:
        withdraw(proposal(), actor="dana", now=at())
    assert caught.value.status == 403
    live = proposal(status=PriceStatus.APPROVED, effective_from=at(-1))
    with pytest.raises(Conflict, match="already in effect"):
        withdraw(live, actor="pat", now=at())
    with pytest.raises(Conflict, match="already in effect"):
        withdraw(proposal(status=PriceStatus.PUBLISHED), actor="pat", now=at())
    for status in (PriceStatus.REJECTED, PriceStatus.WITHDRAWN, PriceStatus.EXPIRED):
        with pytest.raises(Conflict, match=f"this one is {status.value}"):
            withdraw(proposal(status=status), actor="pat", now=at())


# --- effective price ----------------------------------------------------------------------------

_ids = itertools.count(1)


def window(
    amount: str, start: float, end: float | None = None, kind: PriceKind = BASE, pid: str = ""
) -> PriceWindow:
    return PriceWindow(
        price_id=pid or f"p{next(_ids):03d}",
        kind=kind,
        amount=D(amount),
        effective_from=at(start),
        effective_to=at(end) if end is not None else None,
    )


def amount_at(windows: list[PriceWindow], day: float) -> str | None:
    found = resolve(windows, at(day))
    return str(found.amount) if found else None


def test_no_price_before_the_first_window() -> None:
    assert amount_at([window("10", 0)], -1) is None
    assert amount_at([], 0) is None


def test_windows_include_their_start_and_exclude_their_end() -> None:
    prices = [window("10", 0, 5)]
    assert amount_at(prices, 0) == "10"
    assert resolve(prices, at(5) - timedelta(microseconds=1)) is not None
    assert amount_at(prices, 5) is None


def test_latest_start_wins_among_base_prices() -> None:
    prices = [window("10", 0), window("12", 10), window("11", 5)]
    assert [amount_at(prices, d) for d in (1, 6, 11)] == ["10", "11", "12"]


def test_an_ended_newer_price_gives_way_to_the_older_one() -> None:
    prices = [window("10", 0), window("12", 10, 20)]
    assert [amount_at(prices, d) for d in (15, 20, 25)] == ["12", "10", "10"]


def test_a_promotion_beats_the_base_price_while_it_runs() -> None:
    prices = [window("10", 0), window("8", 5, 10, PROMO), window("11", 7)]
    assert [amount_at(prices, d) for d in (4, 5, 8, 10)] == ["10", "8", "8", "11"]


def test_overlapping_promotions_latest_start_wins() -> None:
    prices = [window("10", 0), window("8", 5, 15, PROMO), window("9", 8, 10, PROMO)]
    assert [amount_at(prices, d) for d in (6, 9, 12, 16)] == ["8", "9", "8", "10"]


def test_equal_starts_go_to_the_later_proposal() -> None:
    prices = [window("10", 0, pid="a"), window("11", 0, pid="b")]
    assert amount_at(prices, 1) == "11"


def test_replaced_is_the_price_customers_saw_just_before() -> None:
    old = window("10", 0, pid="old")
    promo = window("8", 5, 10, PROMO, pid="promo")
    new_base = window("12", 7, pid="new")
    prices = [old, promo, new_base]
    assert replaced(prices, promo) == old
    # A base price replaces the base before it, even while a promotion covers both.
    assert replaced(prices, new_base) == old
    assert replaced(prices, old) is None


# --- EU Omnibus prior price ---------------------------------------------------------------------


def test_prior_price_is_the_base_before_the_promotion() -> None:
    base = window("20", -100)
    promo = window("15", 0, 7, PROMO)
    assert prior_price([base, promo], promo) == D("20")


def test_prior_price_is_the_lowest_of_the_30_days() -> None:
    promo = window("12", 0, 7, PROMO)
    prices = [window("25", -100, -20), window("18", -20, -5), window("22", -5), promo]
    assert prior_price(prices, promo) == D("18")


def test_prices_older_than_30_days_do_not_count() -> None:
    promo = window("12", 0, 7, PROMO)
    # 9.00 ended 31 days before; 20.00 has been the price for the whole 30 days.
    prices = [window("9", -60, -31), window("20", -31), promo]
    assert prior_price(prices, promo) == D("20")


def test_a_price_ending_exactly_at_the_lookback_does_not_count() -> None:
    promo = window("12", 0, 7, PROMO)
    prices = [window("9", -60, -30), window("20", -30), promo]
    assert prior_price(prices, promo) == D("20")


def test_a_price_ending_just_inside_the_lookback_counts() -> None:
    promo = window("12", 0, 7, PROMO)
    prices = [window("9", -60, -29.9), window("20", -29.9), promo]
    assert prior_price(prices, promo) == D("9")


def test_an_earlier_promotion_in_the_30_days_counts() -> None:
    # Chaining promotions cannot inflate the reference: the earlier reduction is the prior.
    promo = window("15", 0, 7, PROMO)
    prices = [window("20", -100), window("14", -10, -3, PROMO), promo]
    assert prior_price(prices, promo) == D("14")


def test_an_overlapping_promotion_running_into_the_new_one_counts() -> None:
    base = window("20", -100)
    running = window("17", -5, 5, PROMO)
    promo = window("16", 0, 7, PROMO)
    prices = [base, running, promo]
    assert resolve(prices, at(1)) == promo
    assert prior_price(prices, promo) == D("17")


def test_a_base_price_hidden_under_a_promotion_does_not_count() -> None:
    # The 10.00 base price ran only under a 19.00 promotion: customers never paid it.
    prices = [
        window("25", -100),
        window("10", -10, -5),
        window("19", -12, -4, PROMO),
    ]
    promo = window("18", 0, 7, PROMO)
    assert prior_price([*prices, promo], promo) == D("19")


def test_no_price_in_the_30_days_means_no_prior_price() -> None:
    promo = window("12", 0, 7, PROMO)
    assert prior_price([promo], promo) is None
    assert prior_price([window("9", -90, -40), promo], promo) is None


# --- cost over time and metrics -----------------------------------------------------------------

EUR = "EUR"


def cost(amount: str | None, day: float, currency: str = EUR) -> CostPoint:
    return CostPoint(at(day), Money(D(amount), currency) if amount is not None else None)


def test_cost_at_follows_the_history() -> None:
    points = [cost("10", 0), cost("12", 5), cost(None, 8), cost("11", 9)]
    assert cost_at(points, at(-1)) is None
    assert [cost_at(points, at(d)) for d in (0, 4.9, 5, 8.5, 9)] == [
        Money(D(10), EUR),
        Money(D(10), EUR),
        Money(D(12), EUR),
        None,
        Money(D(11), EUR),
    ]


def sale(day: float, qty: int, price: str, currency: str = EUR) -> Purchase:
    return Purchase(at(day), qty, Money(D(price), currency))


def test_daily_figures_use_the_cost_valid_at_each_sale() -> None:
    points = [cost("10", -1), cost("12", 0, EUR)]
    # T0 is noon: -0.25 days is the same calendar day before the cost change.
    sales = [sale(-0.25, 2, "20.00"), sale(0.1, 1, "20.00"), sale(1, 3, "19.99")]
    days = daily_figures(sales, points)
    assert [(f.day, f.units, f.revenue, f.cost, f.margin) for f in days] == [
        (date(2030, 3, 1), 3, D("60.00"), D("32"), D("28.00")),
        (date(2030, 3, 2), 3, D("59.97"), D("36"), D("23.97")),
    ]
    assert days[0].margin_pct == D("46.67")
    (total,) = totals(days)
    assert (total.units, total.revenue, total.cost, total.margin) == (
        6,
        D("119.97"),
        D("68"),
        D("51.97"),
    )


def test_units_without_a_known_cost_are_kept_out_of_the_margin() -> None:
    points = [cost("10", 0.1)]
    days = daily_figures([sale(0, 1, "30"), sale(0.2, 2, "30"), sale(0.3, 1, "30", "USD")], points)
    eur, usd = days
    assert (eur.units, eur.revenue, eur.units_without_cost) == (3, D(90), 1)
    assert (eur.cost, eur.margin, eur.margin_pct) == (D(20), D(40), D("66.67"))
    assert (usd.currency, usd.units_without_cost, usd.margin, usd.margin_pct) == (
        "USD",
        1,
        None,
        None,
    )


def test_no_purchases_no_figures() -> None:
    assert daily_figures([], [cost("1", 0)]) == []
    assert totals([]) == []
