"""The events the catalog publishes on `catalog.events`, one payload model per type."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field, JsonValue

from services.catalog.domain import Lifecycle
from services.catalog.schemas import CompletenessPublic, Money
from shared.events import CloudEvent, EventPayload, EventRegistry, event_for

SOURCE = "/catalog"
registry = EventRegistry()


@registry.register("catalog.product_type.created.v1")
class ProductTypeCreated(EventPayload):
    code: str
    name: str
    required_attributes: list[str]
    version: int
    created_at: datetime


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
    cost: Money | None
    lifecycle: Lifecycle
    completeness: CompletenessPublic
    version: int
    created_at: datetime


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
    completeness: CompletenessPublic


@registry.register("catalog.product.lifecycle_changed.v1")
class LifecycleChanged(EventPayload):
    # `from` is a Python keyword: the field is `from_` in code, `from` on the wire.
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    product_id: str
    sku: str
    from_: Lifecycle = Field(alias="from")
    to: Lifecycle
    version: int


def catalog_event(payload: EventPayload, *, subject: str, sequence: int | None) -> CloudEvent:
    """An envelope from /catalog; `sequence` is the subject's version after the change.

    None for an event that does not change the subject's version (e.g. a variant's or a
    decision's event, whose subject is the product): it is then never taken as stale.
    """
    return event_for(payload, source=SOURCE, subject=subject, sequence=sequence)
