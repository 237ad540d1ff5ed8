"""Consumers of the catalog's events: they keep the product directory that resolves skus.

Tolerant readers: only the fields used here are read. The kernel's inbox makes a redelivered
event change nothing, and its `sequence` check drops a product's stale events.
"""

from __future__ import annotations

import logging
from typing import Any

from services.feedback.ingest.service import remember_product
from shared.events import CloudEvent, EventPayload
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
CATALOG_EVENTS = "catalog.events"


class ProductNamed(EventPayload):
    """What every catalog product event carries: its id and (immutable) sku."""

    product_id: str
    sku: str


class ProductCreatedData(ProductNamed):
    name: str | None = None
    product_type: str | None = None


class Change(EventPayload):
    field: str
    new: Any = None


class ProductUpdatedData(ProductNamed):
    changes: list[Change] = []


async def on_product_created(event: CloudEvent, uow: UnitOfWork) -> None:
    """A new product: remember it and publish the events that waited for its sku."""
    data = ProductCreatedData.model_validate(event.data)
    resolved = await remember_product(
        uow=uow,
        product_id=data.product_id,
        sku=data.sku,
        changes={"name": data.name, "product_type": data.product_type},
    )
    if resolved:
        log.info("customer events resolved", extra={"sku": data.sku, "count": resolved})


async def on_product_changed(event: CloudEvent, uow: UnitOfWork) -> None:
    """A change of name or product type; also fills in a product whose creation we missed."""
    data = ProductUpdatedData.model_validate(event.data)
    changes = {
        change.field: change.new
        for change in data.changes
        if change.field in {"name", "product_type"} and isinstance(change.new, str)
    }
    await remember_product(uow=uow, product_id=data.product_id, sku=data.sku, changes=changes)


HANDLERS = {
    "catalog.product.created.v1": on_product_created,
    "catalog.product.updated.v1": on_product_changed,
    "catalog.product.lifecycle_changed.v1": on_product_changed,
}
