"""Request and response models of the answering API (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.feedback.answers.domain import ANSWER_LIMIT, Answer, SourceKind

AnswerText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=ANSWER_LIMIT)
]


class AnswerGiven(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: AnswerText = Field(description=f"the answer, 1-{ANSWER_LIMIT} characters")


class _AnswerFields(BaseModel):
    id: str
    question: str
    answer: str
    answered_by: str = Field(description="the owner of the key that answered")
    answered_at: datetime
    source_kind: SourceKind
    source_id: str


class AnswerPublic(_AnswerFields):
    """A question and its answer."""

    product_id: str | None = Field(description="null for an escalation about no product")


class AnswerRecord(AnswerPublic):
    """An answer in a source's history: which one it replaced, and when it was replaced."""

    replaces: str | None
    superseded_at: datetime | None = Field(description="null while it is the current answer")


class KnownAnswerPublic(_AnswerFields):
    """One of a product's known questions and answers (the contract the gateway's knowledge
    sheet reads: exactly these fields)."""

    product_id: str


def answer_public(row: Any) -> AnswerPublic:
    """The public view of an `Answer` or an `answer` row."""
    return AnswerPublic.model_validate(row, from_attributes=True)


def known_answer_public(row: Any) -> KnownAnswerPublic:
    return KnownAnswerPublic.model_validate(row, from_attributes=True)


def answer_record(answer: Answer) -> AnswerRecord:
    return AnswerRecord.model_validate(answer, from_attributes=True)
