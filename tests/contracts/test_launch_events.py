"""Launch's `launch.launched.v1`, built by launch's own payload model, read by the catalog.

The catalog moves the launched product to active and names the launch in the product's
history (`services/catalog/launches/`): it needs the product id (also the Kafka key, so the
product's launch events stay in order) and the launch id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.catalog.launches.contracts import LAUNCH_TOPIC, LAUNCHED
from services.catalog.launches.contracts import Launched as CatalogReads
from services.launch.events import SOURCE, Launched, goals_data, launch_event, registry
from services.launch.evidence import Goals, Money
from services.launch.gates import Readiness
from services.launch.status import PlanStatus
from tests.contracts.wire import through_kafka

CONTRACTS = (LAUNCHED,)
PRODUCT_ID = "0190f0e8-0000-7000-8000-0000000000aa"
LAUNCH_ID = "0190f0e8-0000-7000-8000-0000000000bb"
LAUNCHED_AT = datetime(2030, 4, 1, 0, 0, tzinfo=UTC)


def launched(goals: Goals | None) -> Launched:
    return Launched(
        launch_id=LAUNCH_ID,
        product_id=PRODUCT_ID,
        price_list="web-eur",
        owner="olivia",
        target_date=date(2030, 4, 1),
        status=PlanStatus.LAUNCHED,
        readiness=Readiness.READY,
        launched_at=LAUNCHED_AT,
        monitored_until=LAUNCHED_AT + timedelta(days=30),
        goals=goals_data(goals) if goals else None,
    )


def test_launched_names_the_product_and_the_launch_for_the_catalog() -> None:
    goals = Goals(units=500, revenue=Money(Decimal("25000"), "EUR"), margin_pct=Decimal("32.5"))
    event = through_kafka(launch_event(launched(goals), sequence=4))
    assert event.type == LAUNCHED
    assert registry.topic(LAUNCHED, service="launch") == LAUNCH_TOPIC
    assert event.source == SOURCE
    # The kernel keeps the highest sequence per (consumer, source, subject): launch's own
    # counter for the product, apart from the catalog's versions.
    assert (event.subject, event.sequence_number) == (PRODUCT_ID, 4)

    read = CatalogReads.model_validate(event.data)
    assert (read.launch_id, read.product_id) == (LAUNCH_ID, PRODUCT_ID)


def test_a_launch_without_goals_reads_the_same() -> None:
    event = through_kafka(launch_event(launched(None), sequence=1))
    read = CatalogReads.model_validate(event.data)
    assert (read.launch_id, read.product_id) == (LAUNCH_ID, PRODUCT_ID)
