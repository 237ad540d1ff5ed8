"""Case study events on `catalog.events`, with the product type's code as subject.

Like the research events they carry no `sequence` (a study does not change its product type);
each payload carries the study's own `version` instead, so a consumer keeping studies can
tell the latest. Both carry the whole study: a consumer needs no call back to the catalog.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.catalog.case_studies.domain import CaseStudy, StudyStatus
from services.catalog.events import catalog_event, registry
from shared.events import CloudEvent, EventPayload


class StudyActor(EventPayload):
    subject: str
    name: str


class StudySource(EventPayload):
    url: str | None
    text: str | None


class CaseStudyData(EventPayload):
    case_study_id: str
    product_type: str
    competitor: str
    competitor_product: str
    strengths: str | None
    weaknesses: str | None
    sources: list[StudySource]
    status: StudyStatus
    version: int
    author: StudyActor
    created_at: datetime


@registry.register("catalog.case_study.created.v1")
class CaseStudyCreated(CaseStudyData):
    """A competitor case study was recorded on a product type."""


@registry.register("catalog.case_study.updated.v1")
class CaseStudyUpdated(CaseStudyData):
    """A study was edited or archived; `changed` names its fields that changed."""

    changed: list[str]
    updated_by: StudyActor
    updated_at: datetime


def _data(study: CaseStudy) -> dict[str, Any]:
    return {
        "case_study_id": study.id,
        "product_type": study.product_type,
        "competitor": study.competitor,
        "competitor_product": study.competitor_product,
        "strengths": study.strengths,
        "weaknesses": study.weaknesses,
        "sources": [StudySource(url=s.url, text=s.text) for s in study.sources],
        "status": study.status,
        "version": study.version,
        "author": StudyActor(subject=study.author.subject, name=study.author.name),
        "created_at": study.created_at,
    }


def study_created(study: CaseStudy) -> CloudEvent:
    return catalog_event(
        CaseStudyCreated(**_data(study)), subject=study.product_type, sequence=None
    )


def study_updated(study: CaseStudy, changed: list[str]) -> CloudEvent:
    payload = CaseStudyUpdated(
        **_data(study),
        changed=changed,
        updated_by=StudyActor(subject=study.updated_by.subject, name=study.updated_by.name),
        updated_at=study.updated_at,
    )
    return catalog_event(payload, subject=study.product_type, sequence=None)
