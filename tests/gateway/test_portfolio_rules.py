"""The portfolio review's rules without I/O, with worked examples: margin drains, quality
flags, discontinue candidates and their reasons, sums by product type or account."""

from __future__ import annotations

from decimal import Decimal

from gateway.views.portfolio_rules import (
    Group,
    ProductFacts,
    Reason,
    by_key,
    discontinue_candidates,
    margin_drains,
    quality_flags,
    reasons,
)

D = Decimal


def facts(product_id: str, **overrides: object) -> ProductFacts:
    values: dict[str, object] = {
        "product_id": product_id,
        "currency": "EUR",
        "units_sold": 100,
        "units_returned": 0,
        "revenue": D("2000.00"),
        "margin": D("600.00"),
        "critical_defects": 0,
    }
    return ProductFacts(**(values | overrides))  # type: ignore[arg-type]


def test_a_healthy_product_has_nothing_against_it() -> None:
    healthy = facts("ok", target_units=100, target_margin=D("600.00"))
    assert reasons(healthy) == []
    assert (healthy.return_rate_pct, healthy.critical_defect_rate_pct) == (D("0.00"), D("0.00"))
    assert healthy.margin_shortfall == D("0.00")


def test_each_reason_with_its_facts_in_words() -> None:
    found = reasons(
        facts(
            "bad",
            units_sold=40,
            units_returned=8,
            revenue=D("400.00"),
            margin=D("-12.50"),
            target_units=100,
            target_margin=D("300.00"),
            critical_defects=2,
        )
    )
    assert [(f.reason, f.detail) for f in found] == [
        (Reason.NEGATIVE_MARGIN, "margin -12.50 EUR: sold below cost"),
        (Reason.MARGIN_FAR_BELOW_PLAN, "margin -12.50 of a planned 300.00 EUR"),
        # 40 sold less 8 returned: 32 of 100 planned.
        (Reason.SALES_FAR_BELOW_PLAN, "32 units of a planned 100"),
        (Reason.HIGH_RETURN_RATE, "8 of 40 units returned (20%)"),
        (Reason.CRITICAL_DEFECTS, "2 critical defect reports"),
    ]


def test_thresholds_are_at_half_the_plan_and_fifteen_percent_returns() -> None:
    # Exactly half the plan is not "far below"; 15 returns in 100 is high, 14 is not.
    at_half = facts("half", units_sold=50, margin=D("300"), target_units=100, target_margin=D(600))
    assert reasons(at_half) == []
    assert [f.reason for f in reasons(facts("r15", units_returned=15))] == [Reason.HIGH_RETURN_RATE]
    assert reasons(facts("r14", units_returned=14)) == []
    # Nothing sold: no rate at all, rather than a division by zero.
    assert facts("none", units_sold=0).return_rate_pct is None
    assert facts("quiet", critical_defects=None).critical_defect_rate_pct is None


def test_candidates_are_below_cost_or_have_two_reasons_worst_first() -> None:
    below_cost = facts("a-loss", margin=D("-1.00"))
    two = facts("b-two", units_returned=20, critical_defects=1, margin=D("100"))
    one = facts("c-one", critical_defects=5)
    gone = facts("d-gone", margin=D("-500"), lifecycle="discontinued")
    three = facts("e-three", units_returned=30, critical_defects=1, margin=D("-5"))

    found = discontinue_candidates([below_cost, two, one, gone, three])

    assert [c.facts.product_id for c in found] == ["e-three", "b-two", "a-loss"]
    assert [f.reason for f in found[0].findings] == [
        Reason.NEGATIVE_MARGIN,
        Reason.HIGH_RETURN_RATE,
        Reason.CRITICAL_DEFECTS,
    ]


def test_margin_drains_rank_the_largest_shortfall_first() -> None:
    under_plan = facts("plan", margin=D("100"), target_margin=D("600"))  # 500 short
    loss = facts("loss", margin=D("-50"))  # 50 short of zero
    fine = facts("fine", margin=D("700"), target_margin=D("600"))
    unknown = facts("unknown", margin=None)
    drains = margin_drains([loss, fine, under_plan, unknown])
    assert [(p.product_id, p.margin_shortfall) for p in drains] == [
        ("plan", D("500")),
        ("loss", D("50")),
    ]
    assert margin_drains([loss, under_plan], top=1) == [under_plan]


def test_quality_flags_put_critical_defects_then_return_rates_first() -> None:
    returns = facts("returns", units_returned=40)
    defects = facts("defects", critical_defects=1)
    both = facts("both", units_returned=20, critical_defects=1)
    fine = facts("fine", units_returned=1)
    assert [p.product_id for p in quality_flags([returns, fine, defects, both])] == [
        "both",
        "defects",
        "returns",
    ]


def test_sums_by_key_and_currency_largest_revenue_first() -> None:
    groups = by_key(
        [
            ("kettle", "EUR", 10, D("200"), D("100")),
            ("kettle", "EUR", 2, D("50"), D("-10")),
            ("toaster", "EUR", 5, D("300"), None),
            ("kettle", "USD", 1, D("9"), D("1")),
        ]
    )
    assert groups == [
        Group("toaster", "EUR", 5, D("300"), None),
        Group("kettle", "EUR", 12, D("250"), D("90")),
        Group("kettle", "USD", 1, D("9"), D("1")),
    ]
