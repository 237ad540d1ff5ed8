"""Surveys of the target market (issue 14, part 1): a survey's questions, the check of a
response's answers against them, and the results: per-question distributions, the same per
segment, and which segment differs most from everyone. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from shared.errors import Conflict

MAX_QUESTIONS = 30
MAX_OPTIONS = 20
MAX_ANSWERS = MAX_QUESTIONS
MAX_FREE_TEXT = 2000
# A segment smaller than this says more about chance than about its people: it is shown,
# but never named the one that differs most.
MIN_SEGMENT_RESPONSES = 5
# Means and shares in the results: two decimals, as a string (no float on the wire).
_CENT = Decimal("0.01")


class QuestionType(StrEnum):
    RATING = "rating"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    FREE_TEXT = "free_text"


class SurveyStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str
    type: QuestionType
    min: int | None = None
    max: int | None = None
    options: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The question as stored (a JSON column) and as events carry it."""
        data: dict[str, Any] = {"key": self.key, "prompt": self.prompt, "type": self.type.value}
        if self.type is QuestionType.RATING:
            data |= {"min": self.min, "max": self.max}
        if self.options:
            data["options"] = list(self.options)
        return data

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Question:
        return cls(
            key=data["key"],
            prompt=data["prompt"],
            type=QuestionType(data["type"]),
            min=data.get("min"),
            max=data.get("max"),
            options=tuple(data.get("options") or ()),
        )


@dataclass(frozen=True)
class Survey:
    """What a response is checked against: the survey's questions, its subject and status."""

    id: str
    questions: tuple[Question, ...]
    status: SurveyStatus = SurveyStatus.OPEN
    product_id: str | None = None
    product_type: str | None = None

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)


def close(status: SurveyStatus) -> SurveyStatus:
    """The status after closing; a survey closes once (409 the second time)."""
    if status is SurveyStatus.CLOSED:
        raise Conflict("the survey is already closed")
    return SurveyStatus.CLOSED


# --- a response's answers ----------------------------------------------------------------------


def check_answers(survey: Survey, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Why `answers` ({question_key: value}) do not fit `survey`, as `{loc, msg}` errors
    within the event (empty when they fit). A closed survey takes no responses, an open one
    no empty ones."""
    if survey.status is SurveyStatus.CLOSED:
        return [{"loc": ["survey_id"], "msg": "the survey is closed: it takes no responses"}]
    if not answers:
        # An empty response would count in the results as a respondent who said nothing.
        return [{"loc": ["answers"], "msg": "a response to a survey answers at least one question"}]
    errors = []
    for key, value in answers.items():
        question = survey.question(key)
        problem = "no question with this key" if question is None else _misfit(question, value)
        if problem is not None:
            errors.append({"loc": ["answers", key], "msg": problem})
    return errors


def _misfit(question: Question, value: Any) -> str | None:
    kind = question.type
    if kind is QuestionType.RATING:
        if type(value) is not int:
            return f"a rating question takes a whole number from {question.min} to {question.max}"
        assert question.min is not None
        assert question.max is not None
        if not question.min <= value <= question.max:
            return f"must be from {question.min} to {question.max}"
    elif kind is QuestionType.SINGLE_CHOICE:
        if not isinstance(value, str):
            return "a single-choice question takes one of its options, as a string"
        if value not in question.options:
            return f"not an option of this question: {', '.join(question.options)}"
    elif kind is QuestionType.MULTIPLE_CHOICE:
        if not isinstance(value, list):
            return "a multiple-choice question takes a list of its options"
        if not value:
            return "choose at least one option"
        if len(set(value)) != len(value):
            return "an option is chosen twice"
        if unknown := [option for option in value if option not in question.options]:
            return f"not options of this question: {', '.join(map(str, unknown))}"
    elif not isinstance(value, str):
        return "a free-text question takes a string"
    elif len(value) > MAX_FREE_TEXT:
        return f"a free-text answer holds at most {MAX_FREE_TEXT} characters"
    return None


def free_text_of(survey: Survey | None, answers: Mapping[str, Any]) -> str | None:
    """A response's free-text answers as one text for triage, in question order; without a
    survey, every string answer counts."""
    if survey is None:
        texts = [value for value in answers.values() if isinstance(value, str)]
    else:
        texts = [
            answers[q.key]
            for q in survey.questions
            if q.type is QuestionType.FREE_TEXT and isinstance(answers.get(q.key), str)
        ]
    return "\n".join(texts) or None


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    answers: Mapping[str, Any]
    segment: str | None = None


@dataclass(frozen=True)
class Distribution:
    """One question's answers: `answered` responses; `counts` per value (every scale value
    or option, zeros included, in the question's order); the mean of a rating."""

    key: str
    type: QuestionType
    answered: int
    counts: dict[str, int] = field(default_factory=dict)
    mean: Decimal | None = None

    def share(self, option: str) -> Decimal | None:
        """The part of the answering responses that chose `option` (None: nobody answered)."""
        if not self.answered:
            return None
        return _round(Decimal(self.counts.get(option, 0)) / self.answered)


def distribution(question: Question, responses: Iterable[Response]) -> Distribution:
    """How the responses answered `question`; an answer that does not fit it is left out
    (responses without a survey were not checked)."""
    values = [
        r.answers[question.key]
        for r in responses
        if question.key in r.answers and _misfit(question, r.answers[question.key]) is None
    ]
    kind = question.type
    if kind is QuestionType.FREE_TEXT:
        return Distribution(question.key, kind, answered=len(values))
    if kind is QuestionType.RATING:
        assert question.min is not None
        assert question.max is not None
        tally = Counter(values)
        counts = {str(v): tally[v] for v in range(question.min, question.max + 1)}
        mean = _round(Decimal(sum(values)) / len(values)) if values else None
        return Distribution(question.key, kind, len(values), counts, mean)
    chosen = Counter(
        option for value in values for option in (value if isinstance(value, list) else [value])
    )
    counts = {option: chosen[option] for option in question.options}
    return Distribution(question.key, kind, len(values), counts)


@dataclass(frozen=True)
class Difference:
    """The segment whose answers to a question differ most from everyone's: by the mean of
    a rating, or by the share choosing the overall top option of a choice."""

    key: str
    segment: str
    measure: str  # "mean" or "share:<option>"
    overall: Decimal
    in_segment: Decimal

    @property
    def difference(self) -> Decimal:
        return self.in_segment - self.overall


def most_different(
    question: Question,
    overall: Distribution,
    by_segment: Mapping[str, Distribution],
    *,
    min_responses: int = MIN_SEGMENT_RESPONSES,
) -> Difference | None:
    """The segment (with at least `min_responses` answers) furthest from the overall figure;
    ties go to the larger segment, then the first by name. None for free text, or when no
    segment is large enough."""
    measure, figure = _measure(question, overall)
    if figure is None:
        return None
    best: tuple[Decimal, int, str] | None = None
    found: Difference | None = None
    for segment in sorted(by_segment):
        part = by_segment[segment]
        if part.answered < min_responses:
            continue
        value = part.mean if measure == "mean" else part.share(measure.removeprefix("share:"))
        if value is None:
            continue
        rank = (abs(value - figure), part.answered, segment)
        # Larger gap first, then the larger segment; the name breaks what is left (sorted).
        if best is None or (rank[0], rank[1]) > (best[0], best[1]):
            best = rank
            found = Difference(question.key, segment, measure, figure, value)
    return found


def _measure(question: Question, overall: Distribution) -> tuple[str, Decimal | None]:
    if question.type is QuestionType.RATING:
        return "mean", overall.mean
    if question.type is QuestionType.FREE_TEXT or not overall.answered:
        return "", None
    # The most chosen option overall; ties go to the first in the question's order.
    top = max(question.options, key=lambda option: overall.counts[option])
    return f"share:{top}", overall.share(top)


@dataclass(frozen=True)
class Results:
    responses: int
    overall: list[Distribution]
    by_segment: dict[str, tuple[int, list[Distribution]]]
    differences: dict[str, Difference | None]


def results(
    questions: Sequence[Question],
    responses: Sequence[Response],
    *,
    min_responses: int = MIN_SEGMENT_RESPONSES,
) -> Results:
    """A survey's results: each question's distribution over all responses and per segment
    (responses without one count only overall), and per question the segment that differs
    most (see `most_different`)."""
    segments: dict[str, list[Response]] = {}
    for response in responses:
        if response.segment is not None:
            segments.setdefault(response.segment, []).append(response)
    overall = [distribution(q, responses) for q in questions]
    by_segment = {
        name: (len(members), [distribution(q, members) for q in questions])
        for name, members in sorted(segments.items())
    }
    differences = {
        q.key: most_different(
            q,
            overall[n],
            {name: parts[n] for name, (_, parts) in by_segment.items()},
            min_responses=min_responses,
        )
        for n, q in enumerate(questions)
    }
    return Results(len(responses), overall, by_segment, differences)


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)
