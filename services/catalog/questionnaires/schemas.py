"""Request and response models of vendor questionnaires (inputs forbid unknown fields).

Shapes are checked here; the rules that need the whole template or the question behind an
answer (`questionnaires.domain`) are checked after parsing, so each wrong answer is reported
under its own key (`body.answers.<key>`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from services.catalog.questionnaires.domain import (
    MAX_QUESTIONS,
    Completion,
    Question,
    QuestionType,
    ResponseStatus,
)
from services.catalog.schemas import Actor, ProductPublic, TypeCode, Vendor

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Choice = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
AnswerKey = Annotated[str, StringConstraints(max_length=64)]
Answers = Annotated[dict[AnswerKey, JsonValue], Field(max_length=MAX_QUESTIONS * 2)]


class QuestionIn(BaseModel):
    """A question: `unit` only for numbers; `choices` (2+, distinct) only for choice types."""

    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    type: QuestionType
    unit: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] | None
    ) = None
    choices: Annotated[list[Choice], Field(max_length=100)] | None = None
    required: bool = False
    attribute: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None

    def to_domain(self) -> Question:
        return Question(
            key=self.key,
            text=self.text,
            type=self.type,
            required=self.required,
            unit=self.unit,
            choices=tuple(self.choices or ()),
            attribute=self.attribute,
        )


class QuestionnaireCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    product_type: TypeCode | None = None
    questions: Annotated[list[QuestionIn], Field(max_length=MAX_QUESTIONS)]


class QuestionPublic(BaseModel):
    key: str
    text: str
    type: QuestionType
    unit: str | None
    choices: list[str] | None
    required: bool
    attribute: str | None


class QuestionnairePublic(BaseModel):
    id: str
    title: str
    product_type: str | None
    questions: list[QuestionPublic]
    created_at: datetime
    created_by: Actor


class ResponseCreate(BaseModel):
    """A vendor's answers about a product; `status` draft saves a partial response."""

    model_config = ConfigDict(extra="forbid")

    vendor: Annotated[Vendor, StringConstraints(min_length=1)] | None = Field(
        default=None,
        description="the caller's key owner (the default); only an admin names another vendor",
    )
    product_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    answers: Answers = Field(default_factory=dict)
    status: ResponseStatus = ResponseStatus.SUBMITTED


class ResponseUpdate(BaseModel):
    """Answers to set (`null` removes one) and, optionally, `"status": "submitted"`."""

    model_config = ConfigDict(extra="forbid")

    answers: Answers = Field(default_factory=dict)
    status: ResponseStatus | None = None


class CompletionPublic(BaseModel):
    """Answered required questions of all required ones, and answered questions of all."""

    required_answered: int
    required_total: int
    required_percent: int = Field(ge=0, le=100)
    answered: int
    total: int
    overall_percent: int = Field(ge=0, le=100)
    complete: bool


class ResponsePublic(BaseModel):
    id: str
    questionnaire_id: str
    vendor: str
    product_id: str
    status: ResponseStatus
    answers: dict[str, JsonValue]
    completion: CompletionPublic
    version: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    created_by: Actor


class ProductAnswer(BaseModel):
    """One answer next to the product attribute it maps to (if any)."""

    key: str
    question: str
    type: QuestionType
    unit: str | None
    answer: JsonValue
    attribute: str | None
    current_value: JsonValue
    differs: bool | None = Field(description="null when the question maps to no attribute")


class ProductResponseAnswers(BaseModel):
    response_id: str
    questionnaire_id: str
    questionnaire_title: str
    vendor: str
    status: ResponseStatus
    updated_at: datetime
    answers: list[ProductAnswer]


class ProductAnswersPage(BaseModel):
    """A product's questionnaire answers, one response per item, beside its attributes."""

    product_id: str
    sku: str
    product_version: int
    attributes: dict[str, JsonValue]
    items: list[ProductResponseAnswers]
    next_cursor: str | None


class PromoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attribute: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None


class PromotionPublic(BaseModel):
    """The product after an answer was copied into one of its attributes."""

    response_id: str
    key: str
    attribute: str
    value: JsonValue
    changed: bool
    product: ProductPublic


def completion_public(value: Completion) -> CompletionPublic:
    return CompletionPublic(
        required_answered=value.required_answered,
        required_total=value.required_total,
        required_percent=value.required_percent,
        answered=value.answered,
        total=value.total,
        overall_percent=value.overall_percent,
        complete=value.complete,
    )


def question_public(question: Question) -> QuestionPublic:
    return QuestionPublic(
        key=question.key,
        text=question.text,
        type=question.type,
        unit=question.unit,
        choices=list(question.choices) if question.choices else None,
        required=question.required,
        attribute=question.attribute,
    )


def question_data(question: Question) -> dict[str, Any]:
    """A question as stored in the template's JSON column and carried in events."""
    return question_public(question).model_dump(mode="json")


def question_of(data: dict[str, Any]) -> Question:
    """A question from the template's JSON column."""
    return Question(
        key=data["key"],
        text=data["text"],
        type=QuestionType(data["type"]),
        required=bool(data["required"]),
        unit=data.get("unit"),
        choices=tuple(data.get("choices") or ()),
        attribute=data.get("attribute"),
    )
