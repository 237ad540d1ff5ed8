"""Pure questionnaire rules: template checks, answer validation, completion, response status.

Answers are JSON values checked against their question's type:

| type | a valid answer |
| --- | --- |
| text | a non-blank string (stripped), at most 10,000 characters |
| number | a JSON number (not a boolean, not a numeric string); the unit is the question's |
| yes_no | `true` or `false` |
| single_choice | one of the question's choices, exactly |
| multiple_choice | a non-empty list of distinct choices, kept in the template's order |

`null` is no answer. A draft response may leave required questions unanswered; a submitted
one may not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.auth import ADMIN, Principal
from shared.errors import Conflict, FieldError, Forbidden, invalid_input

MAX_QUESTIONS = 200
MAX_TEXT_ANSWER = 10_000
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
# The catalog's attribute names (services.catalog.schemas.AttributeName).
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")

Loc = tuple[str | int, ...]
Json = object


class QuestionType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    YES_NO = "yes_no"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"


CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})


@dataclass(frozen=True)
class Question:
    """One question of a template; `attribute` is the product attribute its answer maps to."""

    key: str
    text: str
    type: QuestionType
    required: bool = False
    unit: str | None = None
    choices: tuple[str, ...] = ()
    attribute: str | None = None


# --- templates ---------------------------------------------------------------------------------


def check_questions(questions: Sequence[Question]) -> list[FieldError]:
    """Every reason to refuse a template's questions (locations under `questions`)."""
    if not questions:
        return [FieldError(("questions",), "a questionnaire needs at least one question")]
    if len(questions) > MAX_QUESTIONS:
        return [FieldError(("questions",), f"at most {MAX_QUESTIONS} questions")]
    errors: list[FieldError] = []
    keys: set[str] = set()
    attributes: dict[str, str] = {}
    for index, question in enumerate(questions):
        at = ("questions", index)
        if not _KEY.fullmatch(question.key):
            errors.append(
                FieldError(
                    (*at, "key"),
                    f"invalid key {question.key!r}: use 1-64 of a-z, 0-9 or '_', "
                    "starting with a letter",
                )
            )
        elif question.key in keys:
            errors.append(FieldError((*at, "key"), f"duplicate question key {question.key!r}"))
        keys.add(question.key)
        if question.unit is not None and question.type is not QuestionType.NUMBER:
            errors.append(FieldError((*at, "unit"), "only number questions have a unit"))
        errors += _check_choices(question, at)
        if question.attribute is not None:
            if not _ATTRIBUTE.fullmatch(question.attribute):
                errors.append(FieldError((*at, "attribute"), _bad_attribute(question.attribute)))
            elif question.attribute in attributes:
                errors.append(
                    FieldError(
                        (*at, "attribute"),
                        f"attribute {question.attribute!r} is already mapped by question "
                        f"{attributes[question.attribute]!r}",
                    )
                )
            else:
                attributes[question.attribute] = question.key
    return errors


def _check_choices(question: Question, at: Loc) -> list[FieldError]:
    loc = (*at, "choices")
    if question.type not in CHOICE_TYPES:
        if question.choices:
            return [FieldError(loc, f"a {question.type.value} question has no choices")]
        return []
    if len(question.choices) < 2:
        return [FieldError(loc, f"a {question.type.value} question needs at least 2 choices")]
    errors = []
    seen: set[str] = set()
    for index, choice in enumerate(question.choices):
        if not choice.strip():
            errors.append(FieldError((*loc, index), "a choice cannot be blank"))
        elif choice in seen:
            errors.append(FieldError((*loc, index), f"duplicate choice {choice!r}"))
        seen.add(choice)
    return errors


def _bad_attribute(name: str) -> str:
    return (
        f"invalid attribute name {name!r}: use 1-64 of A-Z, a-z, 0-9 or '_', starting with a letter"
    )


# --- answers -----------------------------------------------------------------------------------


class WrongAnswer(ValueError):
    """An answer that does not fit its question; the message says why."""


def check_answer(question: Question, value: Json) -> Json:
    """The answer in its stored form, or WrongAnswer. `value` is not None."""
    match question.type:
        case QuestionType.TEXT:
            if not isinstance(value, str):
                raise WrongAnswer("expected text")
            text = value.strip()
            if not text:
                raise WrongAnswer("a text answer cannot be blank; send null for no answer")
            if len(text) > MAX_TEXT_ANSWER:
                raise WrongAnswer(f"a text answer has at most {MAX_TEXT_ANSWER} characters")
            return text
        case QuestionType.NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                unit = f" (in {question.unit})" if question.unit else ""
                raise WrongAnswer(f"expected a number{unit}")
            if not math.isfinite(value):
                raise WrongAnswer("expected a finite number")
            return value
        case QuestionType.YES_NO:
            if not isinstance(value, bool):
                raise WrongAnswer("expected true or false")
            return value
        case QuestionType.SINGLE_CHOICE:
            if not isinstance(value, str):
                raise WrongAnswer(f"expected one of: {_choices(question)}")
            if value not in question.choices:
                raise WrongAnswer(f"{value!r} is not a choice; choices: {_choices(question)}")
            return value
        case QuestionType.MULTIPLE_CHOICE:
            return _check_many(question, value)
    raise WrongAnswer(f"unknown question type {question.type!r}")  # pragma: no cover


def _check_many(question: Question, value: Json) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise WrongAnswer(f"expected a list of choices among: {_choices(question)}")
    if not value:
        raise WrongAnswer("choose at least one; send null for no answer")
    unknown = [item for item in value if item not in question.choices]
    if unknown:
        raise WrongAnswer(f"{unknown[0]!r} is not a choice; choices: {_choices(question)}")
    if len(set(value)) != len(value):
        raise WrongAnswer("a choice is listed twice")
    return [choice for choice in question.choices if choice in value]


def _choices(question: Question) -> str:
    return ", ".join(question.choices)


def check_answers(
    questions: Sequence[Question], answers: Mapping[str, Json]
) -> tuple[dict[str, Json], list[FieldError]]:
    """The given answers in stored form (nulls left out) and the errors, by question key."""
    by_key = {question.key: question for question in questions}
    accepted: dict[str, Json] = {}
    errors: list[FieldError] = []
    for key, value in answers.items():
        question = by_key.get(key)
        if question is None:
            errors.append(FieldError(("answers", key), f"no question with key {key!r}"))
            continue
        if value is None:
            continue
        try:
            accepted[key] = check_answer(question, value)
        except WrongAnswer as exc:
            errors.append(FieldError(("answers", key), str(exc)))
    return accepted, errors


def missing_required(
    questions: Sequence[Question], answers: Mapping[str, Json]
) -> list[FieldError]:
    """A required question without an answer blocks submission: one error per question."""
    return [
        FieldError(("answers", q.key), "a required question must be answered to submit")
        for q in questions
        if q.required and answers.get(q.key) is None
    ]


def merge_answers(current: Mapping[str, Json], patch: Mapping[str, Json]) -> dict[str, Json]:
    """The answers after a patch: a value replaces, null removes."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# --- completion and status ---------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    """How much of a questionnaire a response answers: required questions and overall."""

    required_answered: int
    required_total: int
    answered: int
    total: int

    @property
    def required_percent(self) -> int:
        return _percent(self.required_answered, self.required_total)

    @property
    def overall_percent(self) -> int:
        return _percent(self.answered, self.total)

    @property
    def complete(self) -> bool:
        return self.required_answered == self.required_total


def _percent(part: int, whole: int) -> int:
    # Half-up in integers, as catalog completeness does; nothing asked is fully answered.
    return 100 if whole == 0 else (200 * part + whole) // (2 * whole)


def completion(questions: Sequence[Question], answers: Mapping[str, Json]) -> Completion:
    """Count the answered questions, required ones apart; unknown keys do not count."""
    answered = [q for q in questions if answers.get(q.key) is not None]
    return Completion(
        required_answered=sum(1 for q in answered if q.required),
        required_total=sum(1 for q in questions if q.required),
        answered=len(answered),
        total=len(questions),
    )


class ResponseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


def next_status(current: ResponseStatus, requested: ResponseStatus | None) -> ResponseStatus:
    """A draft may be submitted; a submitted response stays submitted (409 otherwise)."""
    current = ResponseStatus(current)
    if requested is None or requested == current:
        return current
    if current is ResponseStatus.SUBMITTED:
        raise Conflict(
            "a submitted response cannot go back to draft; correct its answers instead",
            current=current.value,
            to=ResponseStatus(requested).value,
        )
    return ResponseStatus(requested)


class VendorNotAllowed(Forbidden):
    """A response speaks for its vendor: the caller's key owner, unless an admin records it."""

    title, slug = "Vendor not allowed", "vendor-not-allowed"


def respondent(vendor: str | None, actor: Principal) -> str:
    """Whose response this is: the caller's key owner by default; naming another vendor
    needs `admin` (security issue 12, finding 9: a body cannot speak for someone else)."""
    chosen = vendor or actor.owner
    if chosen != actor.owner and not actor.has(ADMIN):
        raise VendorNotAllowed(
            f"you answer as {actor.owner!r}; only an admin records a response for another vendor",
            vendor=chosen,
        )
    return chosen


def check_respondent(vendor: str, actor: Principal) -> None:
    """Only the response's vendor (any of their keys) or an admin changes it."""
    if vendor != actor.owner and not actor.has(ADMIN):
        raise VendorNotAllowed(
            f"this is {vendor!r}'s response; only they or an admin change it", vendor=vendor
        )


# --- promotion into product attributes ---------------------------------------------------------


def promotion_attribute(question: Question, requested: str | None) -> str:
    """The attribute an answer is promoted into: the one asked for, else the question's."""
    name = requested if requested is not None else question.attribute
    if name is None:
        raise invalid_input(
            [
                FieldError(
                    ("attribute",),
                    f"question {question.key!r} maps to no attribute; name one in the body",
                )
            ],
            what="promotion",
        )
    if not _ATTRIBUTE.fullmatch(name):
        raise invalid_input([FieldError(("attribute",), _bad_attribute(name))], what="promotion")
    return name


def json_equal(left: Json, right: Json) -> bool:
    """JSON equality: Python's True == 1 would hide a difference between 1 and true."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(json_equal, left, right))
    return left == right
