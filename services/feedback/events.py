"""The events the feedback service publishes, one payload model per type.

`feedback.events` carries findings, escalations and requirements (subject: the product id);
`storefront.customer-events` carries every accepted customer event once its product is known.

Finding events carry no CloudEvents `sequence`: their subject is the product, and a product
has many findings, so a per-finding version there would make one finding's events look stale
next to another's. The finding's own `version` is in `data` instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from shared.events import (
    CloudEvent,
    EncodedEvent,
    EventPayload,
    EventRegistry,
    encode_new_events,
    event_for,
    rfc3339,
)
from shared.money import Money, format_amount

SOURCE = "/feedback"
CUSTOMER_EVENTS_TOPIC = "storefront.customer-events"
CUSTOMER_EVENT_ACCEPTED = "feedback.customer_event.accepted.v1"
registry = EventRegistry()


@registry.register(CUSTOMER_EVENT_ACCEPTED, topic=CUSTOMER_EVENTS_TOPIC)
class CustomerEventAccepted(EventPayload):
    """A storefront event, as accepted (on `storefront.customer-events`)."""

    event_id: str
    # The owner of the storefront key that sent it: `event_id` is unique per source.
    source: str | None = None
    kind: str
    occurred_at: datetime
    product_id: str
    sku: str | None
    customer_ref: str
    quantity: int | None = None
    unit_price: Money | None = None
    text: str | None = None
    rating: int | None = None
    reason: str | None = None
    query: str | None = None
    subject: str | None = None
    priority: str | None = None
    # The B2B customer or customer group of a purchase or a return, when the storefront
    # names one (absent otherwise, and from events published before it existed).
    account: str | None = None


# Registered itself too: the finding as it is, republished for consumers catching up
# (`productops republish feedback`); the finding events below carry the same fields.
@registry.register("feedback.finding.snapshot.v1")
class FindingSnapshot(EventPayload):
    """What a finding is now: enough for a launch gate to decide without calling us."""

    finding_id: str
    product_id: str
    kind: str
    severity: str
    status: str
    item_count: int
    safety_hazard: bool
    regression: bool
    topic: str
    representative_quote: str
    first_seen: datetime
    last_seen: datetime
    version: int


@registry.register("feedback.finding.opened.v1")
class FindingOpened(FindingSnapshot):
    pass


@registry.register("feedback.finding.updated.v1")
class FindingUpdated(FindingSnapshot):
    """Severity, item count or status changed (coalesced: one per finding per triage batch)."""

    changed: list[str]


@registry.register("feedback.finding.resolved.v1")
class FindingResolved(FindingSnapshot):
    note: str | None = None


@registry.register("feedback.escalation.created.v1")
class EscalationCreated(EventPayload):
    escalation_id: str
    route: Literal["pm", "sales"]
    rule: str
    reason: str
    product_id: str | None
    finding_id: str | None
    event_id: str | None
    due_at: datetime
    created_at: datetime


@registry.register("feedback.requirement.identified.v1")
class RequirementIdentified(EventPayload):
    """Consumed by the catalog: exactly these fields."""

    requirement_id: str
    product_id: str | None = None
    product_type: str | None = None
    kind: Literal["search_miss", "requirement"]
    text: str
    quote: str | None = None
    # New occurrences this event stands for (not a running total).
    occurrences: int
    occurred_at: datetime


def feedback_event(payload: EventPayload, *, subject: str | None) -> CloudEvent:
    """An envelope from /feedback for `feedback.events`."""
    return event_for(payload, source=SOURCE, subject=subject)


def requirement_subject(payload: RequirementIdentified) -> str:
    """The subject (Kafka key) the catalog documents: the product id when there is one, else
    `type:<product_type>`, else `query:<normalised query>` (a search miss's `text`).

    Never None: a null key would spread one requirement's events over the partitions.
    """
    if payload.product_id:
        return payload.product_id
    if payload.product_type:
        return f"type:{payload.product_type}"
    return f"query:{payload.text}"


def requirement_event(payload: RequirementIdentified) -> CloudEvent:
    """A `feedback.requirement.identified.v1` envelope with its documented subject."""
    return feedback_event(payload, subject=requirement_subject(payload))


_FIELDS = ("quantity", "text", "rating", "reason", "query", "subject", "priority", "account")


def customer_events_accepted(rows: Sequence[Any], *, now: datetime) -> list[EncodedEvent]:
    """The events publishing accepted customer events (`customer_event` rows, or mappings
    with their columns, whose product is named), encoded for `uow.publish_many`.

    `data` is built as a plain dict rather than through `CustomerEventAccepted`: at
    ingestion rates a pydantic payload per event would be much of the request's cost.
    It holds what that model writes; the tests read it back through the model.
    """
    return encode_new_events(
        source=SOURCE,
        type=CUSTOMER_EVENT_ACCEPTED,
        time=now,
        items=((row["product_id"], _accepted(row)) for row in rows),
    )


def _accepted(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event_id": row["event_id"],
        "source": row["source"],
        "kind": row["kind"],
        "occurred_at": rfc3339(row["occurred_at"]),
        "product_id": row["product_id"],
        "sku": row["sku"],
        "customer_ref": row["customer_ref"],
    }
    for name in _FIELDS:
        if (value := row[name]) is not None:
            data[name] = value
    if (amount := row["unit_price_amount"]) is not None:
        currency = row["unit_price_currency"]
        data["unit_price"] = {"amount": format_amount(amount, currency), "currency": currency}
    return data


def cluster_id(normalized_query: str) -> str:
    """A search-miss cluster's id: the same query text always names the same requirement."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"productops:search-miss:{normalized_query}"))
