"""Feedback's events, built by feedback's own code, read by pricing and the catalog.

- `feedback.customer_event.accepted.v1` (topic `storefront.customer-events`): pricing
  records purchases from it.
- `feedback.requirement.identified.v1` (topic `feedback.events`): the catalog merges it into
  its requirements; its subject is the documented Kafka key, never null.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.catalog.requirements.domain import Kind, requirement_key
from services.catalog.requirements.events import REQUIREMENT_IDENTIFIED
from services.catalog.requirements.events import RequirementIdentified as CatalogReads
from services.feedback.events import (
    CUSTOMER_EVENT_ACCEPTED,
    CUSTOMER_EVENTS_TOPIC,
    RequirementIdentified,
    cluster_id,
    customer_events_accepted,
    requirement_event,
)
from services.feedback.ingest.search_misses import normalize_query
from services.feedback.tables import customer_event
from services.pricing import contracts as pricing
from shared.events import CloudEvent, EncodedEvent, decode
from tests.contracts.wire import through_kafka

CONTRACTS = (CUSTOMER_EVENT_ACCEPTED, REQUIREMENT_IDENTIFIED)
PRODUCT_ID = "0190f0e8-0000-7000-8000-0000000000aa"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def customer_event_row(kind: str, **columns: Any) -> dict[str, Any]:
    """A `customer_event` row as feedback holds it once its product is known."""
    columns_of_the_table = {column.name for column in customer_event.c}
    values = dict.fromkeys(columns_of_the_table) | {
        "seq": 1,
        "event_id": f"shop-{kind}-1",
        "kind": kind,
        "occurred_at": NOW - timedelta(hours=1),
        "product_id": PRODUCT_ID,
        "sku": "KT-1000",
        "customer_ref": "cust-7",
        "ingested_at": NOW,
        "ingested_by": "storefront-1",
        "triage": "done",
    }
    values.update(columns)
    assert set(values) == columns_of_the_table
    return values


def accepted(row: dict[str, Any]) -> tuple[EncodedEvent, CloudEvent]:
    """The wire form feedback publishes for an accepted customer event, and its event."""
    (wire,) = customer_events_accepted([row], now=NOW)
    return wire, decode(wire.value)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [(Decimal("19.9000"), "EUR", Decimal("19.90")), (Decimal("1500.0000"), "JPY", Decimal(1500))],
)
def test_a_purchase_reaches_pricing_with_quantity_and_unit_price(
    amount: Decimal, currency: str, expected: Decimal
) -> None:
    row = customer_event_row(
        "purchase", quantity=2, unit_price_amount=amount, unit_price_currency=currency
    )
    wire, event = accepted(row)
    # Feedback publishes these on its customer-events topic (ingest/service.py).
    assert pricing.CUSTOMER_EVENTS_TOPIC == CUSTOMER_EVENTS_TOPIC
    assert wire.subject == event.subject == PRODUCT_ID
    assert event.type == pricing.CUSTOMER_EVENT_ACCEPTED

    assert pricing.CustomerEventAccepted.model_validate(event.data).kind == "purchase"
    purchase = pricing.Purchase.model_validate(event.data)
    assert purchase.event_id == "shop-purchase-1"
    assert purchase.occurred_at == NOW - timedelta(hours=1)
    assert purchase.product_id == PRODUCT_ID
    assert purchase.quantity == 2
    assert purchase.unit_price == pricing.MoneyIn(amount=expected, currency=currency)


@pytest.mark.parametrize("kind", ["purchase", "return"])
def test_a_sale_reaches_pricing_with_its_account(kind: str) -> None:
    columns: dict[str, Any] = {"account": "acme:eu-1"}
    if kind == "purchase":
        columns |= {"quantity": 1, "unit_price_amount": Decimal(5), "unit_price_currency": "EUR"}
    else:
        columns |= {"reason": "too small"}
    _, event = accepted(customer_event_row(kind, **columns))
    read = pricing.CustomerEventAccepted.model_validate(event.data)
    assert (read.kind, read.account) == (kind, "acme:eu-1")
    if kind == "purchase":
        assert pricing.Purchase.model_validate(event.data).account == "acme:eu-1"


def test_a_sale_without_an_account_reaches_pricing_without_one() -> None:
    row = customer_event_row(
        "purchase", quantity=1, unit_price_amount=Decimal(5), unit_price_currency="EUR"
    )
    _, event = accepted(row)
    assert "account" not in event.data
    assert pricing.Purchase.model_validate(event.data).account is None


def test_other_kinds_reach_pricing_as_what_they_are() -> None:
    _, event = accepted(customer_event_row("review", text="Lovely", rating=5))
    assert pricing.CustomerEventAccepted.model_validate(event.data).kind == "review"


def test_a_search_miss_without_a_product_reaches_the_catalog_keyed_by_its_query() -> None:
    query = normalize_query("  Glass KETTLE! ")
    payload = RequirementIdentified(
        requirement_id=cluster_id(query),
        kind="search_miss",
        text=query,
        quote="  Glass KETTLE! ",
        occurrences=3,
        occurred_at=NOW,
    )
    event = through_kafka(requirement_event(payload))
    assert event.type == REQUIREMENT_IDENTIFIED
    assert event.subject == "query:glass kettle"

    read = CatalogReads.model_validate(event.data)
    assert read.kind is Kind.SEARCH_MISS
    assert (read.text, read.quote, read.occurrences) == ("glass kettle", "  Glass KETTLE! ", 3)
    assert read.requirement_id == cluster_id("glass kettle")
    assert (read.product_id, read.product_type) == (None, None)
    assert read.occurred_at == NOW
    # The catalog refuses a text without words: this one keys a requirement.
    assert requirement_key(read.text)


def test_a_requirement_on_a_product_reaches_the_catalog_keyed_by_the_product() -> None:
    payload = RequirementIdentified(
        requirement_id="finding-1",
        product_id=PRODUCT_ID,
        product_type="kettle",
        kind="requirement",
        text="keep warm mode",
        quote="I wish it kept the water warm",
        occurrences=2,
        occurred_at=NOW,
    )
    event = through_kafka(requirement_event(payload))
    assert event.subject == PRODUCT_ID

    read = CatalogReads.model_validate(event.data)
    assert read.kind is Kind.REQUIREMENT
    assert (read.product_id, read.product_type) == (PRODUCT_ID, "kettle")
    assert (read.requirement_id, read.text, read.occurrences) == ("finding-1", "keep warm mode", 2)
    assert read.quote == "I wish it kept the water warm"


def test_a_requirement_on_a_product_type_only_is_keyed_by_the_type() -> None:
    payload = RequirementIdentified(
        requirement_id="finding-2",
        product_type="kettle",
        kind="requirement",
        text="a kettle with a glass body",
        occurrences=1,
        occurred_at=NOW,
    )
    event = through_kafka(requirement_event(payload))
    assert event.subject == "type:kettle"
    assert CatalogReads.model_validate(event.data).product_type == "kettle"
