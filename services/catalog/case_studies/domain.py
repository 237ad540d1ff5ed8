"""Pure rules of competitor case studies (issue 14, part 1c).

A case study looks at one competitor's product of a product type: what it does well, what it
does badly, and where that was learned. It sits beside the brand research: benchmarks score a
brand on the type's criteria, a case study says in words what a product manager or a trainee
should take from a competitor.

Rules:
- a study says at least one thing: what the competitor does well or what it does badly (an
  empty study teaches nothing and would only pad the knowledge sheet);
- sources are http(s) links or short text notes ("trade fair talk, May 2026"), at most
  `MAX_SOURCES`, each with a URL or a text, repeated ones dropped;
- a study is `active` until archived; an archived study is history: it cannot be edited, and
  archiving it again changes nothing;
- every change bumps `version` (for `If-Match`) and names the fields it changed; a change
  that changes nothing bumps nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.catalog.decisions.domain import validate_evidence_url
from shared.errors import Conflict, FieldError, Invalid, invalid_input

MAX_SOURCES = 20
MAX_SOURCE_TEXT = 500
MAX_POINTS = 5000  # characters of "does well" or "does badly"

# The fields a client may change, in the order a change lists them.
EDITABLE = ("competitor", "competitor_product", "strengths", "weaknesses", "sources")


class StudyStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Source:
    """Where something in a study was learned: a link, a note, or a link with a note."""

    url: str | None = None
    text: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"url": self.url, "text": self.text}


@dataclass(frozen=True)
class Author:
    """Who wrote or changed a study: the API key's id and name."""

    subject: str
    name: str


def check_sources(sources: Sequence[Source]) -> tuple[tuple[Source, ...], list[FieldError]]:
    """The sources as kept (stripped, repeats dropped), and every reason to refuse them."""
    errors: list[FieldError] = []
    kept: list[Source] = []
    if len(sources) > MAX_SOURCES:
        errors.append(FieldError(("sources",), f"at most {MAX_SOURCES} sources"))
    for index, source in enumerate(sources):
        url = (source.url or "").strip() or None
        text = (source.text or "").strip() or None
        if url is None and text is None:
            errors.append(FieldError(("sources", index), "a source needs a url or a text"))
            continue
        if url is not None:
            try:
                url = validate_evidence_url(url)
            except Invalid as exc:
                errors.append(FieldError(("sources", index, "url"), exc.detail))
                continue
        if text is not None and len(text) > MAX_SOURCE_TEXT:
            errors.append(
                FieldError(("sources", index, "text"), f"at most {MAX_SOURCE_TEXT} characters")
            )
            continue
        cleaned = Source(url=url, text=text)
        if cleaned not in kept:
            kept.append(cleaned)
    return tuple(kept), errors


def check_points(strengths: str | None, weaknesses: str | None) -> list[FieldError]:
    """A study must say what the competitor does well or badly (or both)."""
    if (strengths or "").strip() or (weaknesses or "").strip():
        return []
    return [
        FieldError(
            ("strengths",), "say what the competitor does well or badly (strengths or weaknesses)"
        )
    ]


@dataclass(frozen=True)
class CaseStudy:
    """One competitor case study; changes return a new study and the fields they changed."""

    id: str
    product_type: str
    competitor: str
    competitor_product: str
    strengths: str | None
    weaknesses: str | None
    sources: tuple[Source, ...]
    status: StudyStatus
    version: int
    author: Author
    created_at: datetime
    updated_by: Author
    updated_at: datetime

    @classmethod
    def new(
        cls,
        *,
        id: str,
        product_type: str,
        fields: Mapping[str, Any],
        author: Author,
        at: datetime,
    ) -> CaseStudy:
        """A new active study at version 1; 422 listing every rule its fields break."""
        sources, errors = check_sources(fields.get("sources", ()))
        errors += check_points(fields.get("strengths"), fields.get("weaknesses"))
        if errors:
            raise _refused(errors)
        return cls(
            id=id,
            product_type=product_type,
            competitor=fields["competitor"],
            competitor_product=fields["competitor_product"],
            strengths=_blank_is_none(fields.get("strengths")),
            weaknesses=_blank_is_none(fields.get("weaknesses")),
            sources=sources,
            status=StudyStatus.ACTIVE,
            version=1,
            author=author,
            created_at=at,
            updated_by=author,
            updated_at=at,
        )

    def edited(
        self, changes: Mapping[str, Any], *, by: Author, at: datetime
    ) -> tuple[CaseStudy, list[str]]:
        """The study with `changes` (editable fields only) applied; 409 when archived."""
        if self.status is StudyStatus.ARCHIVED:
            raise Conflict(
                f"case study {self.id!r} is archived; record a new one instead",
                case_study_id=self.id,
            )
        wanted: dict[str, Any] = {}
        errors: list[FieldError] = []
        for name in EDITABLE:
            if name not in changes:
                continue
            value = changes[name]
            if name == "sources":
                value, source_errors = check_sources(value)
                errors += source_errors
            elif name in ("strengths", "weaknesses"):
                value = _blank_is_none(value)
            wanted[name] = value
        merged = replace(self, **wanted)
        errors += check_points(merged.strengths, merged.weaknesses)
        if errors:
            raise _refused(errors)
        changed = [name for name in wanted if getattr(self, name) != wanted[name]]
        if not changed:
            return self, []
        return replace(merged, version=self.version + 1, updated_by=by, updated_at=at), changed

    def archived(self, *, by: Author, at: datetime) -> tuple[CaseStudy, list[str]]:
        """The study archived; an archived study stays as it is."""
        if self.status is StudyStatus.ARCHIVED:
            return self, []
        moved = replace(
            self,
            status=StudyStatus.ARCHIVED,
            version=self.version + 1,
            updated_by=by,
            updated_at=at,
        )
        return moved, ["status"]

    # --- persistence ----------------------------------------------------------------------

    def row(self) -> dict[str, Any]:
        """The study as its `case_study` row."""
        return {
            "id": self.id,
            "product_type": self.product_type,
            "competitor": self.competitor,
            "competitor_product": self.competitor_product,
            "strengths": self.strengths,
            "weaknesses": self.weaknesses,
            "sources": [source.as_json() for source in self.sources],
            "status": self.status.value,
            "version": self.version,
            "author": self.author.subject,
            "author_name": self.author.name,
            "created_at": self.created_at,
            "updated_by": self.updated_by.subject,
            "updated_by_name": self.updated_by.name,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_row(cls, row: Any) -> CaseStudy:
        return cls(
            id=row.id,
            product_type=row.product_type,
            competitor=row.competitor,
            competitor_product=row.competitor_product,
            strengths=row.strengths,
            weaknesses=row.weaknesses,
            sources=tuple(Source(url=s.get("url"), text=s.get("text")) for s in row.sources),
            status=StudyStatus(row.status),
            version=row.version,
            author=Author(row.author, row.author_name),
            created_at=row.created_at,
            updated_by=Author(row.updated_by, row.updated_by_name),
            updated_at=row.updated_at,
        )


def _blank_is_none(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _refused(errors: list[FieldError]) -> Invalid:
    return invalid_input(errors, what="case study")
