"""Consumers of the catalog's events: they keep the product directory that resolves skus.

Tolerant readers: only the fields used here are read. The kernel's inbox makes a redelivered
event change nothing, and its `sequence` check drops a product's stale events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from services.feedback.ingest.service import remember_product
from shared.events import CloudEvent, EventPayload, read_product_event
from shared.inbox import Handler
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


async def on_product_created(
    event: CloudEvent, uow: UnitOfWork, on_queued: Callable[[], None] | None = None
) -> None:
    """A new product: remember it and publish the events that waited for its sku."""
    data = read_product_event(ProductCreatedData, event)
    changes = {"name": data.name, "product_type": data.product_type}
    await _remember(uow, data, changes, on_queued)


async def on_product_changed(
    event: CloudEvent, uow: UnitOfWork, on_queued: Callable[[], None] | None = None
) -> None:
    """A change of name or product type; also fills in a product whose creation we missed
    (and so may resolve the events held for it)."""
    data = read_product_event(ProductUpdatedData, event)
    changes = {
        change.field: change.new
        for change in data.changes
        if change.field in {"name", "product_type"} and isinstance(change.new, str)
    }
    await _remember(uow, data, changes, on_queued)


async def _remember(
    uow: UnitOfWork,
    data: ProductNamed,
    changes: dict[str, Any],
    on_queued: Callable[[], None] | None,
) -> None:
    resolved = await remember_product(
        uow=uow, product_id=data.product_id, sku=data.sku, changes=changes
    )
    if not resolved:
        return
    log.info("customer events resolved", extra={"sku": data.sku, "count": resolved})
    if on_queued is not None:
        # After the commit: the triage worker cannot see the resolved events before it.
        uow.after_commit(on_queued)


def directory_handlers(on_queued: Callable[[], None]) -> dict[str, Handler]:
    """The catalog event handlers; `on_queued` is called once a transaction that resolved
    held events (queued for triage from then on) has committed, so the triage worker takes
    them at once rather than at its next poll."""
    return {
        "catalog.product.created.v1": partial(on_product_created, on_queued=on_queued),
        "catalog.product.updated.v1": partial(on_product_changed, on_queued=on_queued),
        "catalog.product.lifecycle_changed.v1": partial(on_product_changed, on_queued=on_queued),
    }
