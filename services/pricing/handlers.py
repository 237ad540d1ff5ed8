"""Consumers of other services' events: product cost and lifecycle from the catalog,
purchases and returns from the storefront's customer events, launch goals from launch.

Each runs in the consumer's transaction with the inbox record, so a redelivered event
changes nothing; the kernel also skips catalog events older than the version applied.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, select, update

from services.pricing.contracts import (
    CUSTOMER_EVENT_ACCEPTED,
    LAUNCHED,
    LIFECYCLE_CHANGED,
    PRODUCT_CREATED,
    PRODUCT_UPDATED,
    CustomerEventAccepted,
    Launched,
    LifecycleChanged,
    MoneyIn,
    ProductCreated,
    ProductUpdated,
    Purchase,
    Return,
)
from services.pricing.plans.service import plan_from_launch, record_return
from services.pricing.service import DISCONTINUED, retire_product_prices
from services.pricing.tables import product, product_cost, purchase
from shared.consumer import Handler
from shared.events import CloudEvent, read_product_event
from shared.inserts import dialect_insert
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def on_product_created(event: CloudEvent, uow: UnitOfWork) -> None:
    """Learn a new product: its SKU, lifecycle and first cost."""
    data = read_product_event(ProductCreated, event)
    if not await _newer(uow, data.product_id, data.version):
        return
    await _upsert(uow, data.product_id, data.version, sku=data.sku, lifecycle=data.lifecycle)
    if data.cost is not None:
        await _record_cost(uow, data.product_id, event, data.version, data.cost)


async def on_product_updated(event: CloudEvent, uow: UnitOfWork) -> None:
    """Follow a product's cost, keeping the history (margin at the cost of the time)."""
    data = read_product_event(ProductUpdated, event)
    if not await _newer(uow, data.product_id, data.version):
        return
    changed, cost = data.cost_change()
    await _upsert(uow, data.product_id, data.version, sku=data.sku)
    if changed:
        await _record_cost(uow, data.product_id, event, data.version, cost)


async def on_lifecycle_changed(event: CloudEvent, uow: UnitOfWork) -> None:
    """Follow the lifecycle; a discontinued product's prices expire, proposals close."""
    data = read_product_event(LifecycleChanged, event)
    if not await _newer(uow, data.product_id, data.version):
        return
    if data.to == DISCONTINUED:
        # Prices first: the same lock order (price, then product) as the scheduler.
        await retire_product_prices(uow=uow, product_id=data.product_id, now=uow.clock())
    await _upsert(uow, data.product_id, data.version, sku=data.sku, lifecycle=data.to)


async def on_customer_event(event: CloudEvent, uow: UnitOfWork) -> None:
    """Record a purchase or a return once (by the client's event id within its source);
    other kinds are not pricing's.

    A purchase without a valid quantity or unit price raises: after the retries it goes
    to the dead-letter topic, where it can be seen, rather than vanishing.
    """
    kind = CustomerEventAccepted.model_validate(event.data).kind
    if kind == "return":
        await record_return(uow=uow, data=read_product_event(Return, event), now=uow.clock())
        return
    if kind != "purchase":
        return
    data = read_product_event(Purchase, event)
    await uow.session.execute(
        dialect_insert(uow.dialect, purchase)
        .values(
            event_id=data.key,
            product_id=data.product_id,
            occurred_at=data.occurred_at,
            quantity=data.quantity,
            unit_price=data.unit_price.amount,
            currency=data.unit_price.currency,
            received_at=uow.clock(),
            account=data.account,
        )
        .on_conflict_do_nothing()
    )


async def on_launched(event: CloudEvent, uow: UnitOfWork) -> None:
    """A launched product's goals become its plan's first three monthly targets, unless it
    has a plan; the plan's event goes out in this transaction."""
    await plan_from_launch(uow=uow, launched=Launched.model_validate(event.data), now=uow.clock())


# The handlers by event type; they read time from the runtime's clock (`uow.clock`).
HANDLERS: dict[str, Handler] = {
    PRODUCT_CREATED: on_product_created,
    PRODUCT_UPDATED: on_product_updated,
    LIFECYCLE_CHANGED: on_lifecycle_changed,
    CUSTOMER_EVENT_ACCEPTED: on_customer_event,
    LAUNCHED: on_launched,
}


async def _newer(uow: UnitOfWork, product_id: str, version: int) -> bool:
    """Whether this catalog version is newer than what pricing holds."""
    held = await uow.session.scalar(
        select(product.c.catalog_version).where(product.c.id == product_id)
    )
    return held is None or version > held


async def _upsert(uow: UnitOfWork, product_id: str, version: int, **fields: Any) -> None:
    values = {k: v for k, v in fields.items() if v is not None}
    values |= {"catalog_version": version, "updated_at": uow.clock()}
    exists = await uow.session.scalar(select(product.c.id).where(product.c.id == product_id))
    if exists is None:
        await uow.session.execute(insert(product).values(id=product_id, event_sequence=0, **values))
    else:
        await uow.session.execute(update(product).where(product.c.id == product_id).values(values))


async def _record_cost(
    uow: UnitOfWork, product_id: str, event: CloudEvent, version: int, cost: MoneyIn | None
) -> None:
    """The current cost on the product, and a history point from the event's time."""
    amount, currency = (cost.amount, cost.currency) if cost else (None, None)
    await uow.session.execute(
        update(product)
        .where(product.c.id == product_id)
        .values(cost_amount=amount, cost_currency=currency)
    )
    await uow.session.execute(
        insert(product_cost).values(
            product_id=product_id,
            valid_from=event.time,
            amount=amount,
            currency=currency,
            catalog_version=version,
        )
    )
