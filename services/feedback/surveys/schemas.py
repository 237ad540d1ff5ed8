"""Survey bodies and answers: what a product manager sends, and what the API shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.feedback.surveys.domain import (
    MAX_OPTIONS,
    MAX_QUESTIONS,
    Difference,
    Distribution,
    Question,
    QuestionType,
    Results,
)
from shared import product_ids

# A question key is what storefronts send as the answer's key: short and plain.
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
# The catalog's product type code (services/catalog/domain.py `validate_type_code`).
TYPE_CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_SCALE_STEPS = 11  # 0..10 is the widest scale worth asking

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Prompt = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Option = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
TypeCode = Annotated[str, StringConstraints(pattern=TYPE_CODE_PATTERN)]


class QuestionIn(BaseModel):
    """A question: `rating` on a scale `min`..`max` (1..5 unless given), `single_choice` or
    `multiple_choice` among `options`, or `free_text`."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    prompt: Prompt
    type: QuestionType
    min: int | None = Field(default=None, ge=0, le=10)
    max: int | None = Field(default=None, ge=1, le=10)
    options: list[Option] | None = Field(default=None, min_length=2, max_length=MAX_OPTIONS)

    @model_validator(mode="after")
    def _fits_type(self) -> QuestionIn:
        rating = self.type is QuestionType.RATING
        choice = self.type in {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE}
        if not rating and (self.min is not None or self.max is not None):
            raise ValueError("only a rating question has a scale (min, max)")
        if rating:
            low = 1 if self.min is None else self.min
            high = 5 if self.max is None else self.max
            if high <= low or high - low + 1 > MAX_SCALE_STEPS:
                raise ValueError(
                    f"a scale runs from min to a larger max, {MAX_SCALE_STEPS} steps at most"
                )
        if choice and not self.options:
            raise ValueError("a choice question needs its options (2 or more)")
        if not choice and self.options is not None:
            raise ValueError("only a choice question has options")
        if self.options is not None and len(set(self.options)) != len(self.options):
            raise ValueError("options must differ from each other")
        return self

    def to_domain(self) -> Question:
        rating = self.type is QuestionType.RATING
        return Question(
            key=self.key,
            prompt=self.prompt,
            type=self.type,
            min=(1 if self.min is None else self.min) if rating else None,
            max=(5 if self.max is None else self.max) if rating else None,
            options=tuple(self.options or ()),
        )


class SurveyCreate(BaseModel):
    """A survey about one product (`product_id`) or a product type (`product_type`, the
    catalog's code): exactly one of them."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    product_id: product_ids.ProductId | None = None
    product_type: TypeCode | None = None
    questions: list[QuestionIn] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @model_validator(mode="after")
    def _subject_and_keys(self) -> SurveyCreate:
        if (self.product_id is None) == (self.product_type is None):
            raise ValueError("name the survey's subject: product_id or product_type, not both")
        keys = [q.key for q in self.questions]
        if repeated := sorted({key for key in keys if keys.count(key) > 1}):
            raise ValueError(f"question keys must be unique: {', '.join(repeated)} repeated")
        return self


class QuestionPublic(BaseModel):
    key: str
    prompt: str
    type: QuestionType
    min: int | None = None
    max: int | None = None
    options: list[str] | None = None


class SurveyPublic(BaseModel):
    id: str
    title: str
    product_id: str | None
    product_type: str | None
    questions: list[QuestionPublic]
    status: Literal["open", "closed"]
    created_by: str
    created_at: datetime
    closed_at: datetime | None


def survey_public(row: Any) -> SurveyPublic:
    return SurveyPublic(
        id=row.id,
        title=row.title,
        product_id=row.product_id,
        product_type=row.product_type,
        questions=[QuestionPublic(**q) for q in row.questions],
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at,
        closed_at=row.closed_at,
    )


class DistributionPublic(BaseModel):
    """One question's answers: `answered` responses, `counts` per scale value or option
    (a multiple-choice response counts once per option it chose), a rating's `mean`."""

    key: str
    type: QuestionType
    answered: int
    counts: dict[str, int] | None = None
    mean: str | None = Field(default=None, description="a decimal string, 2 places")


class SegmentPublic(BaseModel):
    segment: str
    responses: int
    questions: list[DistributionPublic]


class DifferencePublic(BaseModel):
    """The segment furthest from everyone on a question: by a rating's mean, or by the share
    choosing the overall top option (`measure` `share:<option>`); `difference` is the
    segment's figure minus the overall one."""

    key: str
    segment: str
    measure: str
    overall: str
    in_segment: str
    difference: str


class TriageReading(BaseModel):
    """How triage read a response's free text; `finding_id`: the product's finding it
    joined (null for a response naming no product: findings are per product)."""

    category: str
    severity: str
    sentiment: float
    finding_id: str | None


class FreeTextAnswer(BaseModel):
    """A response's free text: its free-text `answers`, the `text` triage read (its own
    text, else those answers), and how triage read it (`triage` null while pending)."""

    event_id: str
    segment: str | None
    answers: dict[str, str]
    text: str | None
    triage: TriageReading | None


class ResultsPublic(BaseModel):
    survey_id: str
    status: Literal["open", "closed"]
    responses: int
    questions: list[DistributionPublic]
    segments: list[SegmentPublic]
    most_different: list[DifferencePublic] = Field(
        description="per question, the segment that differs most (segments of at least "
        "5 answers; none for free text)"
    )
    free_text: list[FreeTextAnswer] = Field(description="the latest responses with free text")


def distribution_public(d: Distribution) -> DistributionPublic:
    free = d.type is QuestionType.FREE_TEXT
    return DistributionPublic(
        key=d.key,
        type=d.type,
        answered=d.answered,
        counts=None if free else d.counts,
        mean=None if d.mean is None else str(d.mean),
    )


def difference_public(d: Difference) -> DifferencePublic:
    return DifferencePublic(
        key=d.key,
        segment=d.segment,
        measure=d.measure,
        overall=str(d.overall),
        in_segment=str(d.in_segment),
        difference=str(d.difference),
    )


def results_public(
    *, survey_id: str, status: str, tallied: Results, free_text: list[FreeTextAnswer]
) -> ResultsPublic:
    return ResultsPublic(
        survey_id=survey_id,
        status=status,  # type: ignore[arg-type]
        responses=tallied.responses,
        questions=[distribution_public(d) for d in tallied.overall],
        segments=[
            SegmentPublic(
                segment=name, responses=count, questions=[distribution_public(d) for d in parts]
            )
            for name, (count, parts) in tallied.by_segment.items()
        ],
        most_different=[difference_public(d) for d in tallied.differences.values() if d],
        free_text=free_text,
    )
