"""The events the catalog publishes on `catalog.events`, one payload model per type.

The payloads are contracts of their own, built from the product's state (its row and the
domain's results), never from the HTTP response models: an API change must not change what
consumers read (issue 8). `tests/catalog/test_event_keys.py` pins every type's keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from pydantic import ConfigDict, Field, JsonValue

from services.catalog.domain import Completeness, FieldChange, Lifecycle
from shared.events import CloudEvent, EventPayload, EventRegistry, event_for
from shared.money import format_amount

SOURCE = "/catalog"
registry = EventRegistry()


@registry.register("catalog.product_type.created.v1")
class ProductTypeCreated(EventPayload):
    code: str
    name: str
    required_attributes: list[str]
    version: int
    created_at: datetime


class CostData(EventPayload):
    """A cost: the amount a decimal string with at least two decimals (`"19.90"`)."""

    amount: str
    currency: str


class CompletenessData(EventPayload):
    score: int
    missing: list[str]


@registry.register("catalog.product.created.v1")
class ProductCreated(EventPayload):
    """A full snapshot of the new product."""

    product_id: str
    sku: str
    name: str
    product_type: str
    brand: str
    vendor: str | None
    attributes: dict[str, JsonValue]
    description: str | None
    cost: CostData | None
    lifecycle: Lifecycle
    completeness: CompletenessData
    version: int
    created_at: datetime


class DecisionData(EventPayload):
    """A product's current decision, as `catalog.decision.recorded.v1` recorded it."""

    decision_id: str
    number: int
    # adopt | reject | defer: the decisions sub-domain's outcomes (the core cannot name them).
    outcome: str
    decided_at: datetime


@registry.register("catalog.product.snapshot.v1")
class ProductSnapshot(ProductCreated):
    """The product as it is now, with its current decision: for a consumer that rebuilds its
    view of the catalog (`productops republish catalog`)."""

    decision: DecisionData | None
    updated_at: datetime


class FieldChanged(EventPayload):
    field: str
    old: JsonValue
    new: JsonValue


@registry.register("catalog.product.updated.v1")
class ProductUpdated(EventPayload):
    """The fields that changed, and the completeness after the change."""

    product_id: str
    sku: str
    version: int
    changes: list[FieldChanged]
    completeness: CompletenessData


@registry.register("catalog.product.lifecycle_changed.v1")
class LifecycleChanged(EventPayload):
    # `from` is a Python keyword: the field is `from_` in code, `from` on the wire.
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    product_id: str
    sku: str
    from_: Lifecycle = Field(alias="from")
    to: Lifecycle
    version: int


def cost_data(amount: Decimal | None, currency: str | None) -> CostData | None:
    """A stored cost as the events write it."""
    if amount is None or currency is None:
        return None
    # Without the currency: at least two decimals whatever the currency, as always published.
    return CostData(amount=format_amount(amount), currency=currency)


def cost_value(amount: Decimal | None, currency: str | None) -> dict[str, Any] | None:
    """A cost as a JSON value: the `cost` field's `old` and `new` in a change."""
    cost = cost_data(amount, currency)
    return cost.model_dump() if cost else None


def completeness_data(completeness: Completeness) -> CompletenessData:
    return CompletenessData(score=completeness.score, missing=list(completeness.missing))


def field_changes(changes: Sequence[FieldChange]) -> list[FieldChanged]:
    """The domain's changes as event data; the domain holds their JSON values as `object`."""
    return [
        FieldChanged(field=c.field, old=cast(JsonValue, c.old), new=cast(JsonValue, c.new))
        for c in changes
    ]


def product_created(row: Any) -> ProductCreated:
    """The snapshot of a new `product` row."""
    return ProductCreated(
        product_id=row.id,
        sku=row.sku,
        name=row.name,
        product_type=row.product_type,
        brand=row.brand,
        vendor=row.vendor,
        attributes=row.attributes,
        description=row.description,
        cost=cost_data(row.cost_amount, row.cost_currency),
        lifecycle=Lifecycle(row.lifecycle),
        completeness=CompletenessData(
            score=row.completeness_score, missing=list(row.completeness_missing)
        ),
        version=row.version,
        created_at=row.created_at,
    )


def product_snapshot(row: Any, decision: DecisionData | None) -> ProductSnapshot:
    """The snapshot of a `product` row, with its current decision if it has one."""
    return ProductSnapshot(
        **dict(product_created(row)), decision=decision, updated_at=row.updated_at
    )


def product_updated(
    row: Any, changes: Sequence[FieldChange], completeness: Completeness
) -> ProductUpdated:
    """The changes that made `row` (the saved `product` row), and its completeness now."""
    return ProductUpdated(
        product_id=row.id,
        sku=row.sku,
        version=row.version,
        changes=field_changes(changes),
        completeness=completeness_data(completeness),
    )


def lifecycle_changed(row: Any, *, previous: Lifecycle) -> LifecycleChanged:
    """The move from `previous` to the lifecycle of `row` (the saved `product` row)."""
    return LifecycleChanged(
        product_id=row.id,
        sku=row.sku,
        from_=previous,
        to=Lifecycle(row.lifecycle),
        version=row.version,
    )


def catalog_event(payload: EventPayload, *, subject: str, sequence: int | None) -> CloudEvent:
    """An envelope from /catalog; `sequence` is the subject's version after the change.

    None for an event that does not change the subject's version (e.g. a variant's or a
    decision's event, whose subject is the product): it is then never taken as stale.
    """
    return event_for(payload, source=SOURCE, subject=subject, sequence=sequence)
