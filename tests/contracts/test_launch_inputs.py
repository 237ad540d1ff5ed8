"""What launch reads of the catalog's, pricing's and feedback's events, built by each
producer's own code, sent through the wire encoding and read with launch's reader models
(`services/launch/contracts.py`), checking the fields launch's gates use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from services.catalog.decisions.domain import Outcome
from services.catalog.decisions.events import ActorData, DecisionRecorded
from services.catalog.domain import Lifecycle, compute_completeness, diff_fields
from services.catalog.events import (
    DecisionData,
    catalog_event,
    lifecycle_changed,
    product_created,
    product_snapshot,
    product_updated,
)
from services.feedback.events import (
    FindingOpened,
    FindingResolved,
    FindingSnapshot,
    FindingUpdated,
    feedback_event,
)
from services.feedback.findings.domain import finding_snapshot
from services.launch import contracts as launch
from services.pricing.events import price_event, price_payload, price_snapshot
from shared.events import CloudEvent
from tests.contracts.test_catalog_product_events import PRODUCT_ID, product_row, published
from tests.contracts.wire import through_kafka

CONTRACTS = (
    launch.PRODUCT_CREATED,
    launch.PRODUCT_UPDATED,
    launch.LIFECYCLE_CHANGED,
    launch.PRODUCT_SNAPSHOT,
    launch.DECISION_RECORDED,
    *launch.PRICE_EVENTS,
    *launch.FINDING_EVENTS,
)
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


# --- catalog ------------------------------------------------------------------------------------


def test_a_new_product_gives_launch_its_lifecycle_type_and_completeness() -> None:
    row = product_row()
    event = published(product_created(row), row)
    assert event.type == launch.PRODUCT_CREATED
    read = launch.ProductState.model_validate(event.data)
    assert (read.product_id, read.product_type, read.lifecycle, read.version) == (
        PRODUCT_ID,
        "kettle",
        "draft",
        1,
    )
    assert (read.completeness.score, read.completeness.missing) == (75, ["description"])
    assert read.decision is None


def test_a_snapshot_carries_the_current_decision() -> None:
    row = product_row(version=4, lifecycle=Lifecycle.INCOMING.value)
    decision = DecisionData(decision_id="d-1", number=2, outcome="reject", decided_at=NOW)
    event = published(product_snapshot(row, decision), row)
    assert (event.type, event.sequence_number) == (launch.PRODUCT_SNAPSHOT, 4)
    read = launch.ProductState.model_validate(event.data)
    assert (read.lifecycle, read.version) == ("incoming", 4)
    assert read.decision == launch.Decision(number=2, outcome="reject")


def test_an_update_gives_completeness_and_a_new_product_type() -> None:
    row = product_row(product_type="teapot", version=2)
    completeness = compute_completeness(
        name=row.name,
        brand=row.brand,
        description=None,
        attributes=row.attributes,
        required_attributes=("wattage",),
    )
    changes = diff_fields({"product_type": "kettle"}, {"product_type": "teapot"})
    event = published(product_updated(row, changes, completeness), row)
    read = launch.ProductUpdated.model_validate(event.data)
    assert (read.version, read.new_product_type()) == (2, "teapot")
    assert read.completeness.score == completeness.score < 100
    assert read.completeness.missing == list(completeness.missing)


def test_a_lifecycle_change_tells_launch_of_a_discontinued_product() -> None:
    row = product_row(lifecycle=Lifecycle.DISCONTINUED.value, version=3)
    event = published(lifecycle_changed(row, previous=Lifecycle.ACTIVE), row)
    read = launch.LifecycleChanged.model_validate(event.data)
    assert (read.product_id, read.to, read.version) == (PRODUCT_ID, "discontinued", 3)


def test_a_decision_is_numbered_per_product() -> None:
    payload = DecisionRecorded(
        decision_id="d-2",
        product_id=PRODUCT_ID,
        number=2,
        outcome=Outcome.REJECT,
        rationale="no market",
        decided_by=ActorData(subject="key-boss", name="boss"),
        decided_at=NOW,
        cases_for=1,
        cases_against=3,
    )
    event = through_kafka(catalog_event(payload, subject=PRODUCT_ID, sequence=None))
    assert (event.type, event.sequence) == (launch.DECISION_RECORDED, None)
    read = launch.DecisionRecorded.model_validate(event.data)
    assert (read.product_id, read.number, read.outcome) == (PRODUCT_ID, 2, "reject")


# --- pricing ------------------------------------------------------------------------------------


def price_row(status: str, **changes: Any) -> dict[str, Any]:
    """A `price` row, as a mapping, in `status`."""
    effective = status in ("approved", "published", "expired")
    return {
        "id": "0190f0e8-0000-7000-8000-0000000000bb",
        "product_id": PRODUCT_ID,
        "price_list": "eu-web",
        "currency": "EUR",
        "kind": "base",
        "amount": Decimal("19.9900"),
        "status": status,
        "guardrail_violations": [],
        "violations_at_proposal": [],
        "valid_from": NOW,
        "valid_to": None,
        "effective_from": NOW + timedelta(hours=1) if effective else None,
        "effective_to": None,
        "reason": None,
        "proposed_by": "key-pricer",
        "decided_by": "key-boss" if effective else None,
        "override_reason": None,
        "rejection_reason": None,
        "replaces_price_id": None,
        "close_reason": None,
        "version": 2,
    } | changes


@pytest.mark.parametrize(
    "status", ["proposed", "approved", "rejected", "withdrawn", "published", "expired"]
)
def test_every_price_event_carries_the_price_state_launch_reads(status: str) -> None:
    event = through_kafka(price_event(price_payload(price_row(status)), sequence=7))
    assert (event.type, event.subject, event.sequence_number) == (
        f"pricing.price.{status}.v1",
        PRODUCT_ID,
        7,
    )
    assert event.type in launch.PRICE_EVENTS
    read = launch.PriceState.model_validate(event.data)
    assert (read.price_list, read.kind, read.status, read.version) == ("eu-web", "base", status, 2)
    # Launch counts a price from when it takes effect once approved.
    expected = NOW + timedelta(hours=1) if read.effective_from else NOW
    assert read.window == (expected, None)


def test_a_price_snapshot_reads_like_the_price_events() -> None:
    row = price_row(
        "approved", valid_to=NOW + timedelta(days=9), effective_to=NOW + timedelta(days=9)
    )
    event = through_kafka(price_event(price_snapshot(row), sequence=8))
    assert event.type == "pricing.price.snapshot.v1"
    read = launch.PriceState.model_validate(event.data)
    assert (read.status, read.window) == (
        "approved",
        (NOW + timedelta(hours=1), NOW + timedelta(days=9)),
    )


# --- feedback -----------------------------------------------------------------------------------


def finding_row(**changes: Any) -> SimpleNamespace:
    values = {
        "id": "0190f0e8-0000-7000-8000-0000000000cc",
        "product_id": PRODUCT_ID,
        "kind": "defect",
        "severity": "critical",
        "status": "acknowledged",
        "item_count": 4,
        "safety_hazard": True,
        "regression": False,
        "topic": "lid",
        "representative_quote": "the lid came off and burned my hand",
        "first_seen": NOW,
        "last_seen": NOW,
        "version": 3,
        "sources": "customer,internal",
    } | changes
    return SimpleNamespace(**values)


def _finding_events() -> list[CloudEvent]:
    snapshot = finding_snapshot(finding_row())
    return [
        feedback_event(payload, subject=PRODUCT_ID)
        for payload in (
            FindingOpened(**snapshot),
            FindingUpdated(**snapshot, changed=["status"]),
            FindingResolved(**{**snapshot, "status": "resolved"}, note="fixed"),
            FindingSnapshot(**snapshot),
        )
    ]


def test_every_finding_event_carries_what_the_defect_gate_reads() -> None:
    events = [through_kafka(event) for event in _finding_events()]
    assert [event.type for event in events] == list(launch.FINDING_EVENTS)
    for event in events:
        assert (event.subject, event.sequence) == (PRODUCT_ID, None)
        read = launch.FindingState.model_validate(event.data)
        assert (read.finding_id, read.product_id, read.kind, read.severity) == (
            "0190f0e8-0000-7000-8000-0000000000cc",
            PRODUCT_ID,
            "defect",
            "critical",
        )
        assert (read.item_count, read.version) == (4, 3)
        assert read.representative_quote.startswith("the lid")
    assert launch.FindingState.model_validate(events[2].data).status == "resolved"


def test_a_finding_event_from_before_sources_still_reads() -> None:
    """`sources` is optional: events published before issue 14 (all customers') carry none."""
    data = dict(finding_snapshot(finding_row()))
    del data["sources"]
    assert FindingSnapshot.model_validate(data).sources is None
    assert (
        launch.FindingState.model_validate(
            {**data, "first_seen": NOW.isoformat(), "last_seen": NOW.isoformat()}
        ).version
        == 3
    )
