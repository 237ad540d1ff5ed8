"""Request and response models of case studies (inputs forbid unknown fields).

Lengths are checked on parsing; the study's rules (a URL or a text per source, something
said about the competitor) by `case_studies.domain`, so every broken rule is reported with
its location.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.catalog.case_studies.domain import (
    MAX_POINTS,
    MAX_SOURCE_TEXT,
    MAX_SOURCES,
    CaseStudy,
    Source,
    StudyStatus,
)
from services.catalog.decisions.domain import MAX_URL_LENGTH
from services.catalog.schemas import Actor

Competitor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
CompetitorProduct = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
Points = Annotated[str, StringConstraints(max_length=MAX_POINTS)]


class SourceIn(BaseModel):
    """A link (`url`, http or https), a note (`text`), or both."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(max_length=MAX_URL_LENGTH)] | None = None
    text: Annotated[str, StringConstraints(max_length=MAX_SOURCE_TEXT)] | None = None

    def to_domain(self) -> Source:
        return Source(url=self.url, text=self.text)


Sources = Annotated[list[SourceIn], Field(max_length=MAX_SOURCES)]


class CaseStudyCreate(BaseModel):
    """A competitor's product of this type, what it does well and badly, and the sources."""

    model_config = ConfigDict(extra="forbid")

    competitor: Competitor
    competitor_product: CompetitorProduct
    strengths: Points | None = Field(default=None, description="what the competitor does well")
    weaknesses: Points | None = Field(default=None, description="what it does badly")
    sources: Sources = Field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        return {
            "competitor": self.competitor,
            "competitor_product": self.competitor_product,
            "strengths": self.strengths,
            "weaknesses": self.weaknesses,
            "sources": [source.to_domain() for source in self.sources],
        }


class CaseStudyUpdate(BaseModel):
    """A partial update: the fields sent replace the study's (`strengths` or `weaknesses`
    null clears it; one of them must remain)."""

    model_config = ConfigDict(extra="forbid")

    competitor: Competitor | None = None
    competitor_product: CompetitorProduct | None = None
    strengths: Points | None = None
    weaknesses: Points | None = None
    sources: Sources | None = None

    @model_validator(mode="after")
    def _required_not_null(self) -> CaseStudyUpdate:
        for name in ("competitor", "competitor_product", "sources"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as the domain takes them."""
        sent: dict[str, Any] = {name: getattr(self, name) for name in self.model_fields_set}
        if self.sources is not None:
            sent["sources"] = [source.to_domain() for source in self.sources]
        return sent


class SourcePublic(BaseModel):
    url: str | None
    text: str | None


class CaseStudyPublic(BaseModel):
    """A competitor case study; `version` is for `If-Match` on a change."""

    id: str
    product_type: str
    competitor: str
    competitor_product: str
    strengths: str | None
    weaknesses: str | None
    sources: list[SourcePublic]
    status: StudyStatus
    version: int
    author: Actor
    created_at: datetime
    updated_by: Actor
    updated_at: datetime


def case_study_public(study: CaseStudy) -> CaseStudyPublic:
    return CaseStudyPublic(
        id=study.id,
        product_type=study.product_type,
        competitor=study.competitor,
        competitor_product=study.competitor_product,
        strengths=study.strengths,
        weaknesses=study.weaknesses,
        sources=[SourcePublic(url=s.url, text=s.text) for s in study.sources],
        status=study.status,
        version=study.version,
        author=Actor(subject=study.author.subject, name=study.author.name),
        created_at=study.created_at,
        updated_by=Actor(subject=study.updated_by.subject, name=study.updated_by.name),
        updated_at=study.updated_at,
    )
