"""Request and response models of the feedback API (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.feedback.findings.domain import Trend
from services.feedback.findings.stories import UserStory
from services.feedback.ingest.intake import Rejected
from services.feedback.tables import DONE, FAILED, QUEUED, SKIPPED, WAIT

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


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


class FeedbackItemPublic(BaseModel):
    """A triaged customer event."""

    id: str
    event_id: str
    product_id: str
    kind: str
    category: str
    severity: str
    sentiment: float
    safety_hazard: bool
    topic: str
    quote: str
    finding_id: str
    occurred_at: datetime
    triaged_at: datetime


class TrendPublic(BaseModel):
    last_24h: int
    daily_average_prior_7d: float
    direction: Literal["quiet", "new", "rising", "steady", "falling"]


class FindingPublic(BaseModel):
    """Similar feedback about one product, grouped."""

    id: str
    product_id: str
    kind: str
    severity: str
    status: Literal["open", "acknowledged", "resolved"]
    item_count: int
    safety_hazard: bool
    topic: str
    representative_quote: str
    first_seen: datetime
    last_seen: datetime
    trend: TrendPublic
    regression: bool
    status_note: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class FindingStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["acknowledged", "resolved"]
    note: Note | None = None


class UserStoryPublic(BaseModel):
    finding_id: str
    title: str
    persona: str
    want: str
    benefit: str
    story: str
    acceptance_criteria: list[str]


class EscalationPublic(BaseModel):
    id: str
    route: Literal["pm", "sales"]
    rule: str
    reason: str
    product_id: str | None
    finding_id: str | None
    event_id: str | None
    due_at: datetime
    status: Literal["open", "done"]
    overdue: bool
    note: str | None
    created_at: datetime
    done_at: datetime | None


class EscalationStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["done"]
    note: Note | None = None


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
    QUEUED: "pending",
    WAIT: "waiting_for_catalog",
    DONE: "done",
    SKIPPED: "not_needed",
    FAILED: "failed",
}


class CustomerEventPublic(BaseModel):
    """An accepted customer event and where it stands."""

    event_id: str
    kind: str
    occurred_at: datetime
    product_id: str | None
    sku: str | None
    customer_ref: str
    triage: Literal["pending", "waiting_for_catalog", "done", "not_needed", "failed"]
    ingested_at: datetime


def feedback_item_public(row: Any) -> FeedbackItemPublic:
    return FeedbackItemPublic.model_validate(row, from_attributes=True)


def finding_public(row: Any, trend: Trend) -> FindingPublic:
    return FindingPublic(
        id=row.id,
        product_id=row.product_id,
        kind=row.kind,
        severity=row.severity,
        status=row.status,
        item_count=row.item_count,
        safety_hazard=row.safety_hazard,
        topic=row.topic,
        representative_quote=row.representative_quote,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        trend=TrendPublic(
            last_24h=trend.last_24h,
            daily_average_prior_7d=trend.daily_average_prior_7d,
            direction=trend.direction,  # type: ignore[arg-type]
        ),
        regression=row.regression,
        status_note=row.status_note,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def user_story_public(finding_id: str, story: UserStory) -> UserStoryPublic:
    return UserStoryPublic(
        finding_id=finding_id,
        title=story.title,
        persona=story.persona,
        want=story.want,
        benefit=story.benefit,
        story=story.story,
        acceptance_criteria=story.acceptance_criteria,
    )


def escalation_public(row: Any, now: datetime) -> EscalationPublic:
    return EscalationPublic(
        id=row.id,
        route=row.route,
        rule=row.rule,
        reason=row.reason,
        product_id=row.product_id,
        finding_id=row.finding_id,
        event_id=row.event_id,
        due_at=row.due_at,
        status=row.status,
        overdue=row.status == "open" and row.due_at < now,
        note=row.note,
        created_at=row.created_at,
        done_at=row.done_at,
    )


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
        kind=row.kind,
        occurred_at=row.occurred_at,
        product_id=row.product_id,
        sku=row.sku,
        customer_ref=row.customer_ref,
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
