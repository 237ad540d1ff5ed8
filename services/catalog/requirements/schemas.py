"""Request and response models of requirements and recommendations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.catalog.requirements.domain import (
    MAX_QUOTE,
    MAX_TEXT,
    Kind,
    Origin,
    Status,
    sample_quotes,
    score,
)
from services.catalog.schemas import Actor, ProductCreate, ProductPublic

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]


class RequirementSort(StrEnum):
    """The order of the requirement list; both end with the id, so pages are stable."""

    COUNT = "count"
    LAST_SEEN = "last_seen"


class RequirementCreate(BaseModel):
    """A requirement a person heard; the same text for the same target adds to its count."""

    model_config = ConfigDict(extra="forbid")

    text: Text
    product_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    product_type: Annotated[str, StringConstraints(max_length=64)] | None = None
    quote: Annotated[str, StringConstraints(max_length=MAX_QUOTE)] | None = None


class RequirementPublic(BaseModel):
    id: str
    text: str
    key: str
    kind: Kind
    product_id: str | None
    product_type: str | None
    count: int
    search_miss_count: int
    first_seen: datetime
    last_seen: datetime
    quotes: list[str]
    feedback_refs: list[str]
    met: bool = Field(description="an active product meets it, so it adds no unmet demand")
    recommendation_id: str
    origin: Origin
    created_by: Actor | None
    version: int
    created_at: datetime
    updated_at: datetime


class Decision(BaseModel):
    """Who dismissed or adopted a recommendation, when, and why (dismissals)."""

    by: Actor
    at: datetime
    reason: str | None


class RecommendationPublic(BaseModel):
    id: str
    title: str
    key: str
    status: Status
    score: float = Field(
        description="recency-weighted unmet count: each occurrence counts 2^(-age / 30 days)"
    )
    unmet_count: int
    count: int
    search_miss_count: int
    requirement_count: int
    first_seen: datetime
    last_seen: datetime
    met_by_product_id: str | None = Field(description="the active product that meets it")
    product_id: str | None = Field(description="the product it was adopted as")
    decision: Decision | None
    sample_quotes: list[str]
    evidence: list[RequirementPublic] = Field(
        description="the requirements behind it, most reported first (the list shows 5)"
    )
    version: int


class RecommendationDismiss(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class RecommendationAdopt(ProductCreate):
    """The draft product to create from the idea: the same fields as `POST /v1/products`."""


class AdoptionPublic(BaseModel):
    recommendation: RecommendationPublic
    product: ProductPublic


def requirement_public(row: Any) -> RequirementPublic:
    """A `requirement` row (joined with its idea's match) as the API shows it."""
    return RequirementPublic(
        id=row.id,
        text=row.text,
        key=row.key,
        kind=Kind(row.kind),
        product_id=row.product_id,
        product_type=row.product_type,
        count=row.count,
        search_miss_count=row.search_miss_count,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        quotes=list(row.quotes),
        feedback_refs=list(row.feedback_refs),
        # Met by its own active product, or because its idea is met.
        met=bool(row.met_by_product) or row.idea_matched_product_id is not None,
        recommendation_id=row.recommendation_id,
        origin=Origin(row.origin),
        created_by=Actor(subject=row.created_by, name=row.created_by_name or "")
        if row.created_by
        else None,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def recommendation_public(row: Any, evidence: list[Any], *, now: datetime) -> RecommendationPublic:
    """A `recommendation` row and its strongest requirements, scored at `now`."""
    decision = None
    if row.decided_by is not None:
        decision = Decision(
            by=Actor(subject=row.decided_by, name=row.decided_by_name or ""),
            at=row.decided_at,
            reason=row.dismiss_reason,
        )
    shown = [requirement_public(item) for item in evidence]
    return RecommendationPublic(
        id=row.id,
        title=row.title,
        key=row.key,
        status=Status(row.status),
        score=round(score(row.weight_log2, now), 3),
        unmet_count=row.unmet_count,
        count=row.count,
        search_miss_count=row.search_miss_count,
        requirement_count=row.requirement_count,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        met_by_product_id=row.matched_product_id,
        product_id=row.product_id,
        decision=decision,
        sample_quotes=sample_quotes(item.quotes for item in shown),
        evidence=shown,
        version=row.version,
    )
