"""Events about product variants, on `catalog.events`.

Their subject (and Kafka key) is the PRODUCT id, so one product's story, its variants
included, stays in order on one partition.

They carry no CloudEvents `sequence` (`catalog_event(..., sequence=None)`). `sequence` is
the subject's version, and a consumer ignores an event whose `sequence` is lower than the
last it applied for (source, subject): the subject is the product, so the sequence would have
to be the product's version. Variant changes do not bump the product's version (that would
make every client's If-Match on the product stale for a change its fields never saw), and a
variant's own version counts from 1, which would read as stale after product version 5.
Each payload carries the variant's `version` instead, for consumers that keep variants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, JsonValue

from services.catalog.domain import Lifecycle
from services.catalog.events import CompletenessData, FieldChanged, registry
from shared.events import EventPayload


@registry.register("catalog.variant.created.v1")
class VariantCreated(EventPayload):
    """A full snapshot of the new variant; `attributes` are its overrides."""

    variant_id: str
    product_id: str
    sku: str
    axes: dict[str, str]
    attributes: dict[str, JsonValue]
    lifecycle: Lifecycle
    completeness: CompletenessData
    version: int
    created_at: datetime


@registry.register("catalog.variant.updated.v1")
class VariantUpdated(EventPayload):
    """The variant fields that changed (`axes.<name>`, `attributes.<name>`), and completeness."""

    variant_id: str
    product_id: str
    sku: str
    version: int
    changes: list[FieldChanged]
    completeness: CompletenessData


@registry.register("catalog.variant.lifecycle_changed.v1")
class VariantLifecycleChanged(EventPayload):
    """A variant's move; `reason` says whether it was asked for or followed its product."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    variant_id: str
    product_id: str
    sku: str
    from_: Lifecycle = Field(alias="from")
    to: Lifecycle
    version: int
    reason: Literal["requested", "product_discontinued"]
