"""What launch will consume, built by each producer's own code: the fields launch's gates need.

Launch's domain (`services/launch/facts.py`) decides its automatic gates from catalog,
pricing and feedback facts: a product's completeness score, missing attributes, lifecycle and
decision; a price's id, list, kind, status, amount, currency and valid window; a finding's id,
product, kind, severity, status, item count and quote. Each test builds an event as its
producer publishes it, sends it through the wire encoding, and checks that those fields are
in `data` with the right values, and that the envelope is keyed by the product.

The launch service's reader models are not written yet: when they land, each test reads
`event.data` with them too (`model_validate`), and their types join `COVERED` in
`test_coverage.py` once launch registers its handlers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from services.catalog.decisions.domain import Outcome
from services.catalog.decisions.events import ActorData, DecisionRecorded
from services.catalog.domain import Lifecycle, compute_completeness
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
from services.feedback.tables import finding
from services.pricing.domain import PriceStatus
from services.pricing.events import price_event, price_payload, price_snapshot
from services.pricing.tables import price
from shared.events import CloudEvent, EventPayload
from shared.stack.components import event_registries
from tests.contracts.test_catalog_product_events import PRODUCT_ID, product_row, published
from tests.contracts.wire import through_kafka

CATALOG = (
    "catalog.product.created.v1",
    "catalog.product.updated.v1",
    "catalog.product.lifecycle_changed.v1",
    "catalog.product.snapshot.v1",
    "catalog.decision.recorded.v1",
)
PRICING = (
    *(f"pricing.price.{status}.v1" for status in PriceStatus),
    "pricing.price.snapshot.v1",
)
FEEDBACK = (
    "feedback.finding.opened.v1",
    "feedback.finding.updated.v1",
    "feedback.finding.resolved.v1",
    "feedback.finding.snapshot.v1",
)
CONTRACTS = (*CATALOG, *PRICING, *FEEDBACK)
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
DECIDED_AT = NOW - timedelta(days=2)


def needed(event: CloudEvent, *names: str) -> dict[str, Any]:
    """The named fields of the event's `data`; a missing one fails with its name."""
    missing = [name for name in names if name not in event.data]
    assert missing == [], f"{event.type} lacks {missing}"
    return {name: event.data[name] for name in names}


def when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# --- catalog: catalog_complete, and a product launch may not make active ----------------------


def incomplete_row(**changes: Any) -> SimpleNamespace:
    return product_row(completeness_score=60, completeness_missing=["capacity_l"], **changes)


def test_product_created_gives_the_completeness_lifecycle_and_type() -> None:
    row = incomplete_row()
    event = published(product_created(row), row)
    assert (event.type, event.subject, event.sequence_number) == (CATALOG[0], PRODUCT_ID, 1)
    assert needed(event, "product_id", "lifecycle", "product_type", "completeness") == {
        "product_id": PRODUCT_ID,
        "lifecycle": "draft",
        "product_type": "kettle",
        "completeness": {"score": 60, "missing": ["capacity_l"]},
    }


def test_product_updated_gives_the_completeness_after_the_change() -> None:
    row = product_row(attributes={"color": "silver", "capacity_l": 1.7}, version=2)
    completeness = compute_completeness(
        name=row.name,
        brand=row.brand,
        description="A steel kettle.",
        attributes=row.attributes,
        required_attributes=("color", "capacity_l"),
    )
    # Launch reads the completeness, not the changes.
    event = published(product_updated(row, (), completeness), row)
    assert (event.type, event.subject, event.sequence_number) == (CATALOG[1], PRODUCT_ID, 2)
    assert needed(event, "product_id", "completeness") == {
        "product_id": PRODUCT_ID,
        "completeness": {"score": 100, "missing": []},
    }


def test_lifecycle_changed_gives_the_new_lifecycle() -> None:
    row = product_row(lifecycle="discontinued", version=3)
    event = published(lifecycle_changed(row, previous=Lifecycle.INCOMING), row)
    assert (event.type, event.subject, event.sequence_number) == (CATALOG[2], PRODUCT_ID, 3)
    assert needed(event, "product_id", "to") == {"product_id": PRODUCT_ID, "to": "discontinued"}


@pytest.mark.parametrize("outcome", [None, "reject"])
def test_the_snapshot_gives_everything_with_the_current_decision(outcome: str | None) -> None:
    row = incomplete_row(lifecycle="incoming", version=5)
    decision = (
        None
        if outcome is None
        else DecisionData(decision_id="d-2", number=2, outcome=outcome, decided_at=DECIDED_AT)
    )
    event = published(product_snapshot(row, decision), row)
    assert (event.type, event.subject, event.sequence_number) == (CATALOG[3], PRODUCT_ID, 5)
    fields = needed(event, "product_id", "lifecycle", "product_type", "completeness", "decision")
    assert fields == {
        "product_id": PRODUCT_ID,
        "lifecycle": "incoming",
        "product_type": "kettle",
        "completeness": {"score": 60, "missing": ["capacity_l"]},
        "decision": None if decision is None else decision.model_dump(mode="json"),
    }
    if decision is not None:
        assert fields["decision"]["outcome"] == "reject"


def test_decision_recorded_gives_the_outcome_and_its_number() -> None:
    payload = DecisionRecorded(
        decision_id="d-2",
        product_id=PRODUCT_ID,
        number=2,
        outcome=Outcome.REJECT,
        rationale="Unsafe lid.",
        decided_by=ActorData(subject="key-pm", name="Pat"),
        decided_at=DECIDED_AT,
        cases_for=0,
        cases_against=1,
    )
    # As `record_decision` publishes it: no sequence, since a decision leaves the product's
    # version as it is; `number` tells the latest decision.
    event = through_kafka(catalog_event(payload, subject=PRODUCT_ID, sequence=None))
    assert (event.type, event.subject, event.sequence_number) == (CATALOG[4], PRODUCT_ID, None)
    assert needed(event, "product_id", "outcome", "number") == {
        "product_id": PRODUCT_ID,
        "outcome": "reject",
        "number": 2,
    }


# --- pricing: price_approved ------------------------------------------------------------------


def price_row(**changes: Any) -> dict[str, Any]:
    """A `price` row (as a mapping) as pricing's use cases hold it after saving."""
    values = dict.fromkeys(column.name for column in price.c) | {
        "id": "price-1",
        "product_id": PRODUCT_ID,
        "price_list": "web-eur",
        "currency": "EUR",
        "kind": "base",
        "amount": Decimal("24.9900"),
        "valid_from": NOW,
        "valid_to": NOW + timedelta(days=90),
        "status": "approved",
        "guardrail_violations": [],
        "violations_at_proposal": [],
        "proposed_by": "key-pricer",
        "proposed_by_name": "Priya",
        "proposed_by_owner": "priya",
        "proposed_at": NOW - timedelta(days=1),
        "version": 2,
    }
    values.update(changes)
    assert set(values) == {column.name for column in price.c}
    return values


def price_fields(event: CloudEvent) -> dict[str, Any]:
    fields = needed(
        event,
        "price_id",
        "product_id",
        "price_list",
        "kind",
        "status",
        "amount",
        "currency",
        "valid_from",
        "valid_to",
    )
    return fields | {"valid_from": when(fields["valid_from"]), "valid_to": when(fields["valid_to"])}


@pytest.mark.parametrize("status", list(PriceStatus))
def test_every_price_event_gives_the_price_and_its_window(status: PriceStatus) -> None:
    row = price_row(status=status.value)
    event = through_kafka(price_event(price_payload(row), sequence=7))
    assert event.type == f"pricing.price.{status.value}.v1"
    assert (event.subject, event.sequence_number) == (PRODUCT_ID, 7)
    assert price_fields(event) == {
        "price_id": "price-1",
        "product_id": PRODUCT_ID,
        "price_list": "web-eur",
        "kind": "base",
        "status": status.value,
        "amount": "24.99",
        "currency": "EUR",
        "valid_from": NOW,
        "valid_to": NOW + timedelta(days=90),
    }


def test_the_price_snapshot_gives_an_open_ended_promotion_in_yen() -> None:
    row = price_row(kind="promotion", currency="JPY", amount=Decimal("1500.0000"), valid_to=None)
    event = through_kafka(price_event(price_snapshot(row), sequence=8))
    assert (event.type, event.subject, event.sequence_number) == (PRICING[-1], PRODUCT_ID, 8)
    fields = price_fields(event)
    assert (fields["kind"], fields["amount"], fields["currency"]) == ("promotion", "1500", "JPY")
    assert (fields["valid_from"], fields["valid_to"]) == (NOW, None)


# --- feedback: no_critical_defects and spec_improvements ---------------------------------------


def finding_row(**changes: Any) -> SimpleNamespace:
    """A `finding` row as feedback's use cases hold it after saving."""
    values = {
        "id": "finding-1",
        "product_id": PRODUCT_ID,
        "kind": "defect",
        "severity": "critical",
        "status": "open",
        "item_count": 3,
        "safety_hazard": True,
        "topic": "lid",
        "representative_quote": "The lid came off and burned my hand.",
        "representative_event_id": "shop-review-1",
        "representative_score": 0.91,
        "embedding_sum": b"",
        "regression": False,
        "first_seen": NOW - timedelta(days=3),
        "last_seen": NOW,
        "status_note": None,
        "version": 4,
        "created_at": NOW - timedelta(days=3),
        "updated_at": NOW,
        "sources": "customer,internal",
    } | changes
    assert set(values) == {column.name for column in finding.c}
    return SimpleNamespace(**values)


def finding_payloads(row: SimpleNamespace) -> dict[str, EventPayload]:
    """Each finding event as feedback builds it (triage, status changes, republish)."""
    snapshot = finding_snapshot(row)
    return {
        FEEDBACK[0]: FindingOpened(**snapshot),
        FEEDBACK[1]: FindingUpdated(**snapshot, changed=["item_count", "severity"]),
        FEEDBACK[2]: FindingResolved(**snapshot, note="new lid since batch 12"),
        FEEDBACK[3]: FindingSnapshot(**snapshot),
    }


@pytest.mark.parametrize("event_type", FEEDBACK)
def test_every_finding_event_gives_the_finding_as_it_is(event_type: str) -> None:
    status = "resolved" if event_type == FEEDBACK[2] else "acknowledged"
    row = finding_row(status=status)
    event = through_kafka(feedback_event(finding_payloads(row)[event_type], subject=PRODUCT_ID))
    # No sequence: a product has many findings; launch orders one finding's events by the
    # `version` in data.
    assert (event.type, event.subject, event.sequence_number) == (event_type, PRODUCT_ID, None)
    fields = needed(
        event,
        "finding_id",
        "product_id",
        "kind",
        "severity",
        "status",
        "item_count",
        "representative_quote",
        "version",
    )
    assert fields == {
        "finding_id": "finding-1",
        "product_id": PRODUCT_ID,
        "kind": "defect",
        "severity": "critical",
        "status": status,
        "item_count": 3,
        "representative_quote": "The lid came off and burned my hand.",
        "version": 4,
    }
    # Added in issue 14 as an optional field: launch's tolerant reader ignores it.
    assert event.data["sources"] == ["customer", "internal"]


def test_every_type_here_is_one_its_producer_registers() -> None:
    registries = event_registries()
    for service, types in (("catalog", CATALOG), ("pricing", PRICING), ("feedback", FEEDBACK)):
        assert set(types) <= set(registries[service].types), service
