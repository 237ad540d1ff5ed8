"""Catalog's product events, built by the catalog's own code, read by feedback and pricing.

Each test builds the payload with the catalog's builder from a row of the real `product`
table, sends it through the wire encoding, and reads it with each consumer's payload model,
checking the fields that consumer uses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from services.catalog.domain import Lifecycle, compute_completeness, diff_fields
from services.catalog.events import (
    catalog_event,
    cost_value,
    lifecycle_changed,
    product_created,
    product_updated,
)
from services.catalog.tables import product
from services.feedback.handlers import ProductCreatedData, ProductUpdatedData
from services.pricing import contracts as pricing
from services.pricing.service import DISCONTINUED
from shared.events import CloudEvent, EventPayload
from tests.contracts.wire import through_kafka

CONTRACTS = (pricing.PRODUCT_CREATED, pricing.PRODUCT_UPDATED, pricing.LIFECYCLE_CHANGED)
PRODUCT_ID = "0190f0e8-0000-7000-8000-0000000000aa"
CREATED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def product_row(**changes: Any) -> SimpleNamespace:
    """A `product` row as the catalog's use cases hold it after saving."""
    values = {
        "id": PRODUCT_ID,
        "sku": "KT-1000",
        "name": "Steel kettle",
        "product_type": "kettle",
        "brand": "Boilwell",
        "vendor": None,
        "description": None,
        "attributes": {"color": "silver"},
        "cost_amount": Decimal("19.9000"),
        "cost_currency": "EUR",
        "lifecycle": "draft",
        "completeness_score": 75,
        "completeness_missing": ["description"],
        "version": 1,
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
        "created_by": "key-pm",
    } | changes
    assert set(values) == {column.name for column in product.c}
    return SimpleNamespace(**values)


def published(payload: EventPayload, row: SimpleNamespace) -> CloudEvent:
    """The event as the catalog's use cases publish it, after its trip through Kafka."""
    return through_kafka(catalog_event(payload, subject=row.id, sequence=row.version))


def test_product_created_gives_pricing_its_cost_and_feedback_its_name() -> None:
    event = published(product_created(product_row()), product_row())
    assert event.type == pricing.PRODUCT_CREATED
    # The kernel's stale-event check compares the version in `sequence`.
    assert event.subject == PRODUCT_ID
    assert event.sequence_number == 1

    priced = pricing.ProductCreated.model_validate(event.data)
    assert (priced.product_id, priced.sku, priced.lifecycle, priced.version) == (
        PRODUCT_ID,
        "KT-1000",
        "draft",
        1,
    )
    assert priced.cost == pricing.MoneyIn(amount=Decimal("19.90"), currency="EUR")

    known = ProductCreatedData.model_validate(event.data)
    assert (known.product_id, known.sku, known.name, known.product_type) == (
        PRODUCT_ID,
        "KT-1000",
        "Steel kettle",
        "kettle",
    )


def test_a_product_without_a_cost_reaches_pricing_without_one() -> None:
    row = product_row(cost_amount=None, cost_currency=None)
    event = published(product_created(row), row)
    assert pricing.ProductCreated.model_validate(event.data).cost is None


def test_product_updated_carries_the_new_cost_name_and_type() -> None:
    before = {
        "name": "Steel kettle",
        "product_type": "kettle",
        "cost": cost_value(Decimal("19.9"), "EUR"),
    }
    after = {
        "name": "Tea kettle",
        "product_type": "teapot",
        "cost": cost_value(Decimal("1500"), "JPY"),
    }
    row = product_row(name="Tea kettle", product_type="teapot", version=2)
    completeness = compute_completeness(
        name=row.name,
        brand=row.brand,
        description=None,
        attributes=row.attributes,
        required_attributes=(),
    )
    event = published(product_updated(row, diff_fields(before, after), completeness), row)
    assert event.type == pricing.PRODUCT_UPDATED
    assert event.sequence_number == 2

    priced = pricing.ProductUpdated.model_validate(event.data)
    assert (priced.product_id, priced.sku, priced.version) == (PRODUCT_ID, "KT-1000", 2)
    assert priced.cost_change() == (True, pricing.MoneyIn(amount=Decimal(1500), currency="JPY"))

    known = ProductUpdatedData.model_validate(event.data)
    assert (known.product_id, known.sku) == (PRODUCT_ID, "KT-1000")
    assert {change.field: change.new for change in known.changes} == {
        "cost": {"amount": "1500.00", "currency": "JPY"},
        "name": "Tea kettle",
        "product_type": "teapot",
    }


def test_a_cleared_cost_reaches_pricing_as_a_change_to_none() -> None:
    before = {"cost": cost_value(Decimal("19.9"), "EUR")}
    after = {"cost": cost_value(None, None)}
    row = product_row(cost_amount=None, cost_currency=None, version=2)
    completeness = compute_completeness(
        name=row.name, brand=row.brand, description=None, attributes={}, required_attributes=()
    )
    event = published(product_updated(row, diff_fields(before, after), completeness), row)
    assert pricing.ProductUpdated.model_validate(event.data).cost_change() == (True, None)


def test_lifecycle_changed_tells_pricing_of_a_discontinued_product() -> None:
    row = product_row(lifecycle=Lifecycle.DISCONTINUED.value, version=3)
    event = published(lifecycle_changed(row, previous=Lifecycle.ACTIVE), row)
    assert event.type == pricing.LIFECYCLE_CHANGED
    assert event.sequence_number == 3

    moved = pricing.LifecycleChanged.model_validate(event.data)
    assert (moved.product_id, moved.sku, moved.version) == (PRODUCT_ID, "KT-1000", 3)
    assert moved.to == DISCONTINUED

    # Feedback reads it as a product change without field changes: it keeps the sku.
    known = ProductUpdatedData.model_validate(event.data)
    assert (known.product_id, known.sku, known.changes) == (PRODUCT_ID, "KT-1000", [])
