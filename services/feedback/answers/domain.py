"""Answers to customers' questions as plain Python: what may be answered, the answer with its
row and event, and how a re-answer supersedes the one before. No I/O.

An answer is kept per product as one of its known questions and answers (`GET
/v1/products/{id}/answers`). Answering again replaces the shown answer: the earlier one stays
as history (`superseded_at` set, `replaces` on the new one names it) rather than a 409, since
a product manager correcting an answer is the normal case, not a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.feedback.events import QuestionAnswered
from services.feedback.triage import Category
from shared.errors import Conflict

# The `answer.answer` column holds Text; an answer is a paragraph or two, not a manual.
ANSWER_LIMIT = 5000
# The `answer.question` column: a finding's representative quote or an item's quote, at most
# `QUOTE_LIMIT` (500), or an escalation's reason (500).
QUESTION_LIMIT = 500


class SourceKind(StrEnum):
    """What was answered."""

    ESCALATION = "escalation"
    FINDING = "finding"


class NotAQuestion(Conflict):
    def __init__(self, finding_id: str, kind: str) -> None:
        super().__init__(
            f"finding {finding_id} is a {kind} finding: only a question finding is answered "
            "(an escalation about it can be)",
            kind=kind,
        )


def check_answerable(*, finding_id: str, kind: str) -> None:
    """A finding is answered only when triage read its texts as questions (409 otherwise):
    a defect is resolved, not answered."""
    if kind != Category.QUESTION.value:
        raise NotAQuestion(finding_id, kind)


@dataclass(frozen=True)
class Answer:
    """An answer as stored; its row and its event come from this one object."""

    id: str
    product_id: str | None
    source_kind: SourceKind
    source_id: str
    question: str
    answer: str
    answered_by: str
    answered_at: datetime
    replaces: str | None = None
    superseded_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> Answer:
        return cls(
            id=row.id,
            product_id=row.product_id,
            source_kind=SourceKind(row.source_kind),
            source_id=row.source_id,
            question=row.question,
            answer=row.answer,
            answered_by=row.answered_by,
            answered_at=row.answered_at,
            replaces=row.replaces,
            superseded_at=row.superseded_at,
        )

    def row(self) -> dict[str, Any]:
        """The `answer` row's values."""
        return {
            "id": self.id,
            "product_id": self.product_id,
            "source_kind": self.source_kind.value,
            "source_id": self.source_id,
            "question": self.question,
            "answer": self.answer,
            "answered_by": self.answered_by,
            "answered_at": self.answered_at,
            "replaces": self.replaces,
            "superseded_at": self.superseded_at,
        }

    def event(self) -> QuestionAnswered:
        return QuestionAnswered(
            answer_id=self.id,
            product_id=self.product_id,
            source_kind=self.source_kind.value,
            source_id=self.source_id,
            question=self.question,
            answer=self.answer,
            answered_by=self.answered_by,
            answered_at=self.answered_at,
            replaces=self.replaces,
        )


def give_answer(
    *,
    answer_id: str,
    product_id: str | None,
    source_kind: SourceKind,
    source_id: str,
    question: str,
    text: str,
    by: str,
    now: datetime,
    current: Answer | None,
) -> tuple[Answer, Answer | None]:
    """The new answer, and the current one it supersedes (if any) marked so; the new one
    keeps the question as first asked when it replaces one."""
    superseded = replace(current, superseded_at=now) if current is not None else None
    answer = Answer(
        id=answer_id,
        product_id=product_id,
        source_kind=source_kind,
        source_id=source_id,
        question=(current.question if current is not None else question)[:QUESTION_LIMIT],
        answer=text,
        answered_by=by,
        answered_at=now,
        replaces=current.id if current is not None else None,
    )
    return answer, superseded
