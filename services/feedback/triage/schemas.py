"""Request and response models of the triage API (inputs forbid unknown fields)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.feedback.ingest.intake import MAX_EVENTS, EventId
from services.feedback.triage.labels import Category, Severity


class RequeueRequest(BaseModel):
    """Which given-up events to re-queue: those of `event_ids`, or all without it."""

    model_config = ConfigDict(extra="forbid")

    # An empty list is refused rather than read as "none" or "all": the caller meant one.
    event_ids: list[EventId] | None = Field(default=None, min_length=1, max_length=MAX_EVENTS)


class RequeueResponse(BaseModel):
    requeued: int


class LabelRequest(BaseModel):
    """A person's triage of one item: what it is, how urgent, and whether it reports a
    safety hazard (a hazard is a critical defect)."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    severity: Severity
    hazard: bool
