"""The events the feedback service publishes, one payload model per type.

`feedback.events` carries findings, escalations and requirements (subject: the product id);
`storefront.customer-events` carries every accepted customer event once its product is known.

Finding events carry no CloudEvents `sequence`: their subject is the product, and a product
has many findings, so a per-finding version there would make one finding's events look stale
next to another's. The finding's own `version` is in `data` instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from shared.events import CONTENT_TYPE, CloudEvent, EventPayload, EventRegistry, new_event
from shared.money import format_amount
from shared.observability import causation_id_var, correlation_id_var

SOURCE = "/feedback"
CUSTOMER_EVENTS_TOPIC = "storefront.customer-events"
CUSTOMER_EVENT_ACCEPTED = "feedback.customer_event.accepted.v1"
registry = EventRegistry()


class Money(EventPayload):
    amount: str
    currency: str


@registry.register(CUSTOMER_EVENT_ACCEPTED, topic=CUSTOMER_EVENTS_TOPIC)
class CustomerEventAccepted(EventPayload):
    """A storefront event, as accepted (on `storefront.customer-events`)."""

    event_id: str
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
    event_type: str = type(payload).event_type  # type: ignore[attr-defined]
    return new_event(source=SOURCE, type=event_type, subject=subject, data=payload)


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


def rfc3339(moment: datetime) -> str:
    """UTC with a `Z`, as pydantic writes the kernel's envelopes."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


_HEADERS = {"content-type": CONTENT_TYPE}
_FIELDS = ("quantity", "text", "rating", "reason", "query", "subject", "priority")


def customer_event_outbox_rows(rows: Sequence[Any], *, now: datetime) -> list[dict[str, Any]]:
    """The outbox rows publishing accepted customer events (`customer_event` rows, or
    mappings with their columns, whose product is named).

    Built as plain dicts and orjson rather than through `new_event` and `uow.publish`: at
    ingestion rates the pydantic envelope per event would be most of the request's cost.
    The shape is the one `encode(new_event(...))` writes; the tests decode it as such.
    """
    time = rfc3339(now)
    correlation = correlation_id_var.get()
    causation = causation_id_var.get()
    ids = uuid7_batch(len(rows), now)
    result = []
    for row, event_id in zip(rows, ids, strict=True):
        data: dict[str, Any] = {
            "event_id": row["event_id"],
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
        envelope = {
            "specversion": "1.0",
            "id": event_id,
            "source": SOURCE,
            "type": CUSTOMER_EVENT_ACCEPTED,
            "subject": row["product_id"],
            "time": time,
            "datacontenttype": "application/json",
            "data": data,
            "correlationid": correlation or event_id,
        }
        if causation is not None:
            envelope["causationid"] = causation
        result.append(
            {
                "id": event_id,
                "topic": CUSTOMER_EVENTS_TOPIC,
                "key": row["product_id"],
                "type": CUSTOMER_EVENT_ACCEPTED,
                "payload": orjson.dumps(envelope).decode(),
                "headers": _HEADERS,
                "created_at": now,
                "attempts": 0,
            }
        )
    return result


def uuid7_batch(count: int, now: datetime) -> list[str]:
    """`count` UUIDv7 strings stamped `now` (RFC 9562: 48-bit Unix milliseconds, version 7,
    variant, 74 random bits), from one read of the OS's random source: about a third of
    the cost of one `uuid6.uuid7()` call each. Order within the batch is not needed (the
    outbox orders by `seq`)."""
    stamp = (int(now.timestamp() * 1000) & _MS_MASK) << 80 | 0x7 << 76 | 0b10 << 62
    noise = os.urandom(10 * count)
    ids = []
    for start in range(0, 10 * count, 10):
        bits = int.from_bytes(noise[start : start + 10], "big")
        text = f"{stamp | (bits >> 62 & 0xFFF) << 64 | bits & _LOW_62:032x}"
        ids.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
    return ids


_MS_MASK = (1 << 48) - 1
_LOW_62 = (1 << 62) - 1


def cluster_id(normalized_query: str) -> str:
    """A search-miss cluster's id: the same query text always names the same requirement."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"productops:search-miss:{normalized_query}"))
