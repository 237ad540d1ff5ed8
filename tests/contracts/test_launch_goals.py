"""Launch's `launch.launched.v1`, built by launch's own payload model, read by pricing.

Pricing turns the goals for the first 90 days into the product's first three monthly plan
targets: it needs the product and launch ids, the launch time (which months), and the goals
(units, revenue as money, margin percentage as a decimal string), or their absence.
"""

from __future__ import annotations

from decimal import Decimal

from services.launch.events import SOURCE, goals_data, launch_event, registry
from services.launch.evidence import Goals, Money
from services.pricing.contracts import LAUNCH_TOPIC, LAUNCHED
from services.pricing.contracts import Launched as PricingReads
from services.pricing.plans.domain import launch_targets
from tests.contracts.test_launch_events import LAUNCH_ID, LAUNCHED_AT, PRODUCT_ID, launched
from tests.contracts.wire import through_kafka

CONTRACTS = (LAUNCHED,)


def test_pricing_reads_the_goals_it_plans_from() -> None:
    goals = Goals(units=500, revenue=Money(Decimal("25000.00"), "EUR"), margin_pct=Decimal("32.5"))
    event = through_kafka(launch_event(launched(goals), sequence=4))
    assert event.type == LAUNCHED
    assert registry.topic(LAUNCHED, service="launch") == LAUNCH_TOPIC
    assert event.source == SOURCE

    read = PricingReads.model_validate(event.data)
    assert (read.launch_id, read.product_id, read.launched_at) == (
        LAUNCH_ID,
        PRODUCT_ID,
        LAUNCHED_AT,
    )
    assert read.goals is not None
    assert (read.goals.units, read.goals.revenue.amount, read.goals.revenue.currency) == (
        500,
        Decimal("25000.00"),
        "EUR",
    )
    assert read.goals.margin_pct == Decimal("32.5")
    # What pricing makes of them: three even months from the launch month.
    targets = launch_targets(
        launched_at=read.launched_at,
        units=read.goals.units,
        revenue=read.goals.revenue.amount,
        margin_pct=read.goals.margin_pct,
        currency=read.goals.revenue.currency,
    )
    assert [t.units for t in targets] == [167, 167, 166]


def test_a_launch_without_goals_reads_as_none() -> None:
    read = PricingReads.model_validate(through_kafka(launch_event(launched(None), sequence=1)).data)
    assert (read.product_id, read.goals) == (PRODUCT_ID, None)


def test_goals_data_is_what_pricing_reads() -> None:
    goals = Goals(units=3, revenue=Money(Decimal("100"), "JPY"), margin_pct=Decimal("-5"))
    data = goals_data(goals).model_dump(mode="json")
    assert data["margin_pct"] == "-5"
    read = PricingReads.model_validate(
        {
            "launch_id": LAUNCH_ID,
            "product_id": PRODUCT_ID,
            "launched_at": LAUNCHED_AT,
            "goals": data,
        }
    )
    assert read.goals is not None
    assert (read.goals.revenue.amount, read.goals.margin_pct) == (Decimal("100"), Decimal("-5"))
