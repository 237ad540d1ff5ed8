"""Response models of the ingestion API, and the documented body of a batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.feedback.ingest.intake import Rejected
from services.feedback.triage.domain import TriageState


class FieldError(BaseModel):
    loc: list[str]
    msg: str


class RejectedEvent(BaseModel):
    index: int
    errors: list[FieldError]


class IngestResponse(BaseModel):
    """How the batch went: accepted (new), duplicates (replayed event ids), rejected."""

    accepted: int
    duplicates: int
    rejected: list[RejectedEvent]


def rejected_public(rejected: list[Rejected]) -> list[RejectedEvent]:
    return [
        RejectedEvent(index=r.index, errors=[FieldError(**e) for e in r.errors]) for r in rejected
    ]


class SearchMissPublic(BaseModel):
    """Searches that found nothing, grouped by their normalised query."""

    id: str
    query: str
    sample_query: str
    product_id: str | None
    occurrences: int
    first_seen: datetime
    last_seen: datetime


_TRIAGE_STATE = {
    TriageState.QUEUED: "pending",
    TriageState.WAIT: "waiting_for_catalog",
    TriageState.DONE: "done",
    TriageState.SKIPPED: "not_needed",
    TriageState.FAILED: "failed",
}


class MinuteCount(BaseModel):
    start: datetime
    events: int


class IngestionStatsPublic(BaseModel):
    """Customer events stored per minute over the last minutes, oldest minute first."""

    minutes: int
    per_minute: list[MinuteCount] = Field(description="60-second windows ending now")
    total: int
    per_second: float = Field(description="the mean rate over the whole window")
    held: int = Field(description="stored events held until the catalog names their product")
    expired: int = Field(description="events held too long: never published")


class CustomerEventPublic(BaseModel):
    """An accepted customer event and where it stands."""

    event_id: str
    source: str = Field(description="the owner of the key that sent it")
    kind: str
    occurred_at: datetime
    product_id: str | None
    sku: str | None
    customer_ref: str
    account: str | None = Field(
        default=None, description="the B2B customer or customer group of a purchase or return"
    )
    status: Literal["held", "accepted", "expired"] = Field(
        description="held: not published until the catalog names its product; accepted: "
        "published (or names no product); expired: held too long, never published"
    )
    triage: Literal["pending", "waiting_for_catalog", "done", "not_needed", "failed"]
    ingested_at: datetime


def search_miss_public(row: Any) -> SearchMissPublic:
    return SearchMissPublic(
        id=row.id,
        query=row.normalized_query,
        sample_query=row.sample_query,
        product_id=row.product_id,
        occurrences=row.occurrences,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
    )


def customer_event_public(row: Any) -> CustomerEventPublic:
    return CustomerEventPublic(
        event_id=row.event_id,
        source=row.source,
        kind=row.kind,
        occurred_at=row.occurred_at,
        product_id=row.product_id,
        sku=row.sku,
        customer_ref=row.customer_ref,
        account=row.account,
        status=row.status,
        triage=_TRIAGE_STATE[row.triage],  # type: ignore[arg-type]
        ingested_at=row.ingested_at,
    )


def ingest_request_schema(event_schema: dict[str, Any]) -> dict[str, Any]:
    """The documented body of POST /v1/customer-events (it is validated event by event)."""
    defs = event_schema.get("$defs", {})

    def inline(node: Any) -> Any:
        # The OpenAPI document has no `$defs` of ours: inline the references.
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["events"],
                    "properties": {
                        "events": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 1000,
                            "items": inline(event_schema),
                        }
                    },
                }
            }
        },
    }
