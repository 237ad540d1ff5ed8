"""Request and response models of cases and decisions (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.catalog.decisions.domain import (
    MAX_EVIDENCE,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
    Evidence,
    Outcome,
    Stance,
    normalize_evidence,
    validate_evidence_url,
)
from services.catalog.schemas import Actor
from shared.errors import Invalid

Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Rationale = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class EvidenceLink(BaseModel):
    """A link backing a case: an http(s) URL and an optional title."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(max_length=MAX_URL_LENGTH)]
    title: Annotated[str, StringConstraints(max_length=MAX_TITLE_LENGTH)] | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            return validate_evidence_url(value)
        except Invalid as exc:
            raise ValueError(exc.detail) from None


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stance: Stance
    summary: Summary
    evidence: list[EvidenceLink] = Field(default_factory=list, max_length=MAX_EVIDENCE)

    @field_validator("evidence")
    @classmethod
    def _evidence(cls, value: list[EvidenceLink]) -> list[EvidenceLink]:
        try:
            links = normalize_evidence([Evidence(url=e.url, title=e.title) for e in value])
        except Invalid as exc:
            raise ValueError(exc.detail) from None
        return [EvidenceLink(url=link.url, title=link.title) for link in links]


class CasePublic(BaseModel):
    id: str
    product_id: str
    stance: Stance
    summary: str
    evidence: list[EvidenceLink]
    author: Actor
    created_at: datetime


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    rationale: Rationale


class DecisionPublic(BaseModel):
    """One decision; `number` counts the product's decisions from 1 (the highest is current)."""

    id: str
    product_id: str
    number: int
    outcome: Outcome
    rationale: str
    decided_by: Actor
    decided_at: datetime
    cases_for: int
    cases_against: int


def case_public(row: Any) -> CasePublic:
    """A `product_case` row as the API shows it."""
    return CasePublic(
        id=row.id,
        product_id=row.product_id,
        stance=Stance(row.stance),
        summary=row.summary,
        evidence=[EvidenceLink.model_construct(**link) for link in row.evidence],
        author=Actor(subject=row.author, name=row.author_name),
        created_at=row.created_at,
    )


def decision_public(row: Any) -> DecisionPublic:
    """A `product_decision` row as the API shows it."""
    return DecisionPublic(
        id=row.id,
        product_id=row.product_id,
        number=row.number,
        outcome=Outcome(row.outcome),
        rationale=row.rationale,
        decided_by=Actor(subject=row.decided_by, name=row.decided_by_name),
        decided_at=row.decided_at,
        cases_for=row.cases_for,
        cases_against=row.cases_against,
    )
