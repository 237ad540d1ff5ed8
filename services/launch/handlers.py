"""Consumers of other services' events: the facts launch's automatic gates read.

Each handler updates its projection and, when a fact changed, re-evaluates the open and
monitored plans of the product in the same transaction (publishing gate.changed, blocked,
ready or at_risk); a discontinued product cancels its open plans. Facts that arrive before
any plan exists are kept for the plans to come. Each runs in the consumer's transaction
with the inbox record, so a redelivered event changes nothing, and the projections ignore
any state older than what they hold.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from services.launch import projections
from services.launch.contracts import (
    DECISION_RECORDED,
    FINDING_EVENTS,
    LIFECYCLE_CHANGED,
    PRICE_EVENTS,
    PRODUCT_CREATED,
    PRODUCT_SNAPSHOT,
    PRODUCT_UPDATED,
    DecisionRecorded,
    FindingState,
    LifecycleChanged,
    PriceState,
    ProductFact,
    ProductState,
    ProductUpdated,
)
from services.launch.service import reevaluate_product
from shared.consumer import Handler
from shared.events import CloudEvent, read_product_event
from shared.uow import UnitOfWork

M = TypeVar("M", bound=ProductFact)


def _handler(
    model: type[M], apply: Callable[[UnitOfWork, M], Awaitable[bool]], *, monitoring: timedelta
) -> Handler:
    async def handle(event: CloudEvent, uow: UnitOfWork) -> None:
        data = read_product_event(model, event)
        if await apply(uow, data):
            await reevaluate_product(
                uow=uow,
                product_id=data.product_id,
                source=event.source.strip("/"),
                monitoring=monitoring,
            )

    handle.__name__ = f"on_{model.__name__}"
    return handle


def handlers(*, monitoring: timedelta) -> dict[str, Handler]:
    """The handlers by event type; `monitoring` is how long after launch facts still count."""
    on_product = _handler(ProductState, projections.apply_product, monitoring=monitoring)
    on_price = _handler(PriceState, projections.apply_price, monitoring=monitoring)
    on_finding = _handler(FindingState, projections.apply_finding, monitoring=monitoring)
    return {
        PRODUCT_CREATED: on_product,
        PRODUCT_SNAPSHOT: on_product,
        PRODUCT_UPDATED: _handler(
            ProductUpdated, projections.apply_product_update, monitoring=monitoring
        ),
        LIFECYCLE_CHANGED: _handler(
            LifecycleChanged, projections.apply_lifecycle, monitoring=monitoring
        ),
        DECISION_RECORDED: _handler(
            DecisionRecorded, projections.apply_decision, monitoring=monitoring
        ),
        **dict.fromkeys(PRICE_EVENTS, on_price),
        **dict.fromkeys(FINDING_EVENTS, on_finding),
    }
