"""Request and response models of the findings API (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.feedback.findings.domain import Direction, Source, Status, Trend, sources_of
from services.feedback.findings.escalations import Escalation, EscalationStatus, Route
from services.feedback.findings.service import FindingStats
from services.feedback.findings.stories import UserStory
from services.feedback.triage import Severity

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


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
    confidence: float | None = Field(
        description="the model's confidence, 0-1 (null for items triaged before it had one)"
    )
    needs_review: bool = Field(description="the model was unsure and no person labelled it yet")
    labelled_by: str | None = Field(description="who corrected its triage, if anyone")
    labelled_at: datetime | None
    source: Source = Field(
        description="who wrote it: a customer, the product team (internal) or a vendor"
    )


class TrendPublic(BaseModel):
    last_24h: int
    daily_average_prior_7d: float
    direction: Direction


class FindingPublic(BaseModel):
    """Similar feedback about one product, grouped."""

    id: str
    product_id: str
    kind: str
    severity: str
    status: Status
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
    sources: list[Source] = Field(
        description="who wrote its items, each once: a finding may group customers' texts and "
        "the product team's suggestions"
    )


class DayCount(BaseModel):
    day: date
    by_severity: dict[str, int] = Field(description="findings opened that day, by severity")


class FindingStatsPublic(BaseModel):
    """Findings at a glance, of every product or of `product_id`."""

    product_id: str | None
    open_findings: int = Field(description="findings not resolved yet (open or acknowledged)")
    critical_open: int = Field(description="unresolved findings of severity critical")
    by_category: dict[str, int] = Field(description="unresolved findings by kind")
    by_severity: dict[str, int] = Field(description="unresolved findings by severity")
    by_status: dict[str, int]
    by_source: dict[str, int] = Field(
        description="unresolved findings by who wrote their items (one with items of two "
        "sources counts in both)"
    )
    overdue_escalations: int = Field(description="open escalations past their due time")
    feedback_items: int = Field(description="triaged items")
    sentiment: float | None = Field(description="mean sentiment of the triaged items, -1..1")
    days: int
    opened_per_day: list[DayCount] = Field(
        description="findings opened on each of the last `days` days (UTC, today included), "
        "oldest first, every day and severity present"
    )


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
    route: Route
    rule: str
    reason: str
    product_id: str | None
    finding_id: str | None
    event_id: str | None
    due_at: datetime
    status: EscalationStatus
    overdue: bool
    note: str | None
    created_at: datetime
    done_at: datetime | None = Field(description="when it was answered or done")
    forwarded_at: datetime | None
    forwarded_by: str | None
    forward_note: str | None
    answer: str | None = Field(description="the current answer, once answered")
    answered_by: str | None
    answered_at: datetime | None


class EscalationStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["done"]
    note: Note | None = None


class EscalationForward(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Literal["sales"] = Field(description="who takes it over: sales")
    note: Note | None = None


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
            direction=trend.direction,
        ),
        regression=row.regression,
        status_note=row.status_note,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sources=[Source(source) for source in sources_of(row.sources)],
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
    """The public view of an `escalation` row; `overdue` as of `now`."""
    escalation = Escalation.from_row(row)
    return EscalationPublic(
        id=escalation.id,
        route=escalation.route,
        rule=escalation.rule,
        reason=escalation.reason,
        product_id=escalation.product_id,
        finding_id=escalation.finding_id,
        event_id=escalation.event_id,
        due_at=escalation.due_at,
        status=escalation.status,
        overdue=escalation.is_overdue(now),
        note=escalation.note,
        created_at=escalation.created_at,
        done_at=escalation.done_at,
        forwarded_at=escalation.forwarded_at,
        forwarded_by=escalation.forwarded_by,
        forward_note=escalation.forward_note,
        # Only lists read the answer; a row a change returns has none to show (forward and
        # done are refused once an escalation is answered).
        answer=getattr(row, "answer", None),
        answered_by=getattr(row, "answered_by", None),
        answered_at=getattr(row, "answered_at", None),
    )


def finding_stats_public(product_id: str | None, stats: FindingStats) -> FindingStatsPublic:
    by_severity = stats.unresolved_by_severity
    return FindingStatsPublic(
        product_id=product_id,
        open_findings=sum(stats.unresolved_by_category.values()),
        critical_open=by_severity.get(Severity.CRITICAL.value, 0),
        by_category=stats.unresolved_by_category,
        by_severity=by_severity,
        by_status=stats.by_status,
        by_source=stats.unresolved_by_source,
        overdue_escalations=stats.overdue_escalations,
        feedback_items=stats.feedback_items,
        sentiment=stats.sentiment,
        days=len(stats.opened_per_day),
        opened_per_day=[
            DayCount(day=day, by_severity=by_severity) for day, by_severity in stats.opened_per_day
        ],
    )
