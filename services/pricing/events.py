"""The events pricing publishes on `pricing.events`, subject = product id.

Every price event carries the price's full state after the change, so a consumer needs
no call back. `sequence` counts pricing's events per product (see tables.product).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.pricing.domain import PriceKind, PriceStatus
from shared.events import CloudEvent, EventPayload, EventRegistry, event_for
from shared.money import format_amount

SOURCE = "/pricing"
registry = EventRegistry()


class ViolationData(EventPayload):
    code: str
    detail: str
    limit: str | None = None
    actual: str | None = None


class PriceEvent(EventPayload):
    """A price's state; amounts are decimal strings in the list's currency."""

    price_id: str
    product_id: str
    price_list: str
    currency: str
    kind: PriceKind
    amount: str
    status: PriceStatus
    valid_from: datetime
    valid_to: datetime | None
    effective_from: datetime | None
    effective_to: datetime | None
    reason: str | None
    guardrail_violations: list[ViolationData]
    proposed_by: str
    decided_by: str | None
    override_reason: str | None
    rejection_reason: str | None
    replaces_price_id: str | None
    close_reason: str | None
    version: int


@registry.register("pricing.price.proposed.v1")
class PriceProposed(PriceEvent):
    pass


@registry.register("pricing.price.approved.v1")
class PriceApproved(PriceEvent):
    pass


@registry.register("pricing.price.rejected.v1")
class PriceRejected(PriceEvent):
    pass


@registry.register("pricing.price.withdrawn.v1")
class PriceWithdrawn(PriceEvent):
    pass


@registry.register("pricing.price.published.v1")
class PricePublished(PriceEvent):
    pass


@registry.register("pricing.price.expired.v1")
class PriceExpired(PriceEvent):
    pass


@registry.register("pricing.price.snapshot.v1")
class PriceSnapshot(PriceEvent):
    """A price that can still change, as it is now: for a consumer that rebuilds its view
    of pricing (`productops republish pricing`)."""


BY_STATUS: dict[PriceStatus, type[PriceEvent]] = {
    PriceStatus.PROPOSED: PriceProposed,
    PriceStatus.APPROVED: PriceApproved,
    PriceStatus.REJECTED: PriceRejected,
    PriceStatus.WITHDRAWN: PriceWithdrawn,
    PriceStatus.PUBLISHED: PricePublished,
    PriceStatus.EXPIRED: PriceExpired,
}


def price_payload(row: Mapping[str, Any]) -> PriceEvent:
    """The event for a `price` row (as a mapping) in its current status."""
    status = PriceStatus(row["status"])
    return BY_STATUS[status](
        price_id=row["id"],
        product_id=row["product_id"],
        price_list=row["price_list"],
        currency=row["currency"],
        kind=PriceKind(row["kind"]),
        amount=format_amount(row["amount"], row["currency"]),
        status=status,
        guardrail_violations=[ViolationData(**v) for v in row["guardrail_violations"]],
        **{
            name: row[name]
            for name in (
                "valid_from",
                "valid_to",
                "effective_from",
                "effective_to",
                "reason",
                "proposed_by",
                "decided_by",
                "override_reason",
                "rejection_reason",
                "replaces_price_id",
                "close_reason",
                "version",
            )
        },
    )


def price_snapshot(row: Mapping[str, Any]) -> PriceSnapshot:
    """The snapshot of a `price` row (as a mapping)."""
    return PriceSnapshot(**dict(price_payload(row)))


def price_event(payload: PriceEvent, *, sequence: int) -> CloudEvent:
    """An envelope from /pricing about the price's product."""
    return event_for(payload, source=SOURCE, subject=payload.product_id, sequence=sequence)
