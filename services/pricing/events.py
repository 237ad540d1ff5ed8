"""The events pricing publishes on `pricing.events`: a price's, subject = product id; a
guardrail change's and a price list's account scoping, subject = the price list's code.

Every price event carries the price's full state after the change, so a consumer needs
no call back. `sequence` counts pricing's events per product (see tables.product); a
guardrail change's events carry none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from services.pricing.domain import GuardrailChangeStatus, PriceKind, PriceStatus
from shared.clock import utc_now
from shared.events import (
    CloudEvent,
    EncodedEvent,
    EventPayload,
    EventRegistry,
    decode,
    encode_payload_events,
    event_for,
)
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
    # The violations it had when proposed, kept whatever the list's guardrails became.
    violations_at_proposal: list[ViolationData] = []
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


# The `price` columns an event carries as they are.
_COPIED = (
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
# Every `price` column `price_payload` reads: a writer that makes thousands of events at
# once returns only these from its UPDATE.
PRICE_EVENT_COLUMNS = (
    "id",
    "product_id",
    "price_list",
    "currency",
    "kind",
    "amount",
    "status",
    "guardrail_violations",
    "violations_at_proposal",
    *_COPIED,
)


def price_payload(row: Mapping[str, Any]) -> PriceEvent:
    """The event for a `price` row (as a mapping; `PRICE_EVENT_COLUMNS` are enough) in its
    current status."""
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
        violations_at_proposal=[ViolationData(**v) for v in row["violations_at_proposal"]],
        **{name: row[name] for name in _COPIED},
    )


def price_snapshot(row: Mapping[str, Any]) -> PriceSnapshot:
    """The snapshot of a `price` row (as a mapping)."""
    return PriceSnapshot(**dict(price_payload(row)))


def encode_price_events(items: Iterable[tuple[PriceEvent, int]]) -> list[EncodedEvent]:
    """Price events in wire form, each `(payload, sequence)` from /pricing about the price's
    product, stamped now."""
    return encode_payload_events(
        source=SOURCE,
        time=utc_now(),
        items=((payload, payload.product_id, sequence) for payload, sequence in items),
    )


def price_event(payload: PriceEvent, *, sequence: int) -> CloudEvent:
    """One price event, as a consumer reads what `encode_price_events` writes."""
    return decode(encode_price_events([(payload, sequence)])[0].value)


# --- guardrail changes --------------------------------------------------------------------------


class GuardrailsData(EventPayload):
    """A list's limits as decimal strings; null: that check is off."""

    min_margin_pct: str | None = None
    max_change_pct: str | None = None
    floor: str | None = None
    ceiling: str | None = None


class GuardrailChangeEvent(EventPayload):
    """A guardrail change's state: who asked and why, the limits before and after, which of
    them it loosens, and who decided (the key and its owner)."""

    change_id: str
    price_list: str
    status: GuardrailChangeStatus
    reason: str
    previous: GuardrailsData
    guardrails: GuardrailsData
    loosens: list[str]
    requested_by: str
    requested_by_owner: str
    decided_by: str | None
    decided_by_owner: str | None
    rejection_reason: str | None


@registry.register("pricing.guardrail_change.requested.v1")
class GuardrailChangeRequested(GuardrailChangeEvent):
    """A loosening waits for a second person with pricing:approve."""


@registry.register("pricing.guardrail_change.rejected.v1")
class GuardrailChangeRejected(GuardrailChangeEvent):
    pass


@registry.register("pricing.price_list.guardrails_changed.v1")
class GuardrailsChanged(GuardrailChangeEvent):
    """The list's guardrails are now `guardrails`: a tightening at once, a loosening once
    approved (`decided_by`)."""


_CHANGE_BY_STATUS: dict[GuardrailChangeStatus, type[GuardrailChangeEvent]] = {
    GuardrailChangeStatus.PENDING: GuardrailChangeRequested,
    GuardrailChangeStatus.REJECTED: GuardrailChangeRejected,
    GuardrailChangeStatus.APPLIED: GuardrailsChanged,
}


def guardrail_change_event(row: Any) -> CloudEvent:
    """The event for a `guardrail_change` row in its current status."""
    status = GuardrailChangeStatus(row.status)
    payload = _CHANGE_BY_STATUS[status](
        change_id=row.id,
        price_list=row.price_list,
        status=status,
        previous=GuardrailsData(**row.previous),
        guardrails=GuardrailsData(**row.guardrails),
        **{
            name: getattr(row, name)
            for name in (
                "reason",
                "loosens",
                "requested_by",
                "requested_by_owner",
                "decided_by",
                "decided_by_owner",
                "rejection_reason",
            )
        },
    )
    return event_for(payload, source=SOURCE, subject=row.price_list)


# --- price lists scoped to an account -----------------------------------------------------------


@registry.register("pricing.price_list.account_changed.v1")
class PriceListAccountChanged(EventPayload):
    """The list is now for `account` alone (null: for everyone): published when a list is
    created for an account and whenever its account changes (issue 14 part 3)."""

    price_list: str
    currency: str
    channel: str
    account: str | None
    previous_account: str | None
    changed_by: str
    version: int


def price_list_account_event(row: Any, *, previous: str | None, actor: str) -> CloudEvent:
    """The event for a `price_list` row whose account became `row.account`."""
    payload = PriceListAccountChanged(
        price_list=row.code,
        currency=row.currency,
        channel=row.channel,
        account=row.account,
        previous_account=previous,
        changed_by=actor,
        version=row.version,
    )
    return event_for(payload, source=SOURCE, subject=row.code)
