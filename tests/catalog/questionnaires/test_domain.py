"""Questionnaire rules without I/O: templates, every answer type and rejection, completion."""

from __future__ import annotations

import math
from typing import Any

import pytest

from services.catalog.questionnaires.domain import (
    MAX_QUESTIONS,
    MAX_TEXT_ANSWER,
    Completion,
    FieldError,
    Question,
    QuestionType,
    ResponseStatus,
    WrongAnswer,
    check_answer,
    check_answers,
    check_questions,
    completion,
    json_equal,
    merge_answers,
    missing_required,
    next_status,
    promotion_attribute,
)
from shared.errors import Conflict, Invalid, invalid_input

T = QuestionType
NAME = Question("model_name", "Model name?", T.TEXT, required=True, attribute="model")
CAPACITY = Question("capacity", "Capacity?", T.NUMBER, required=True, unit="l", attribute="cap")
CORDLESS = Question("cordless", "Cordless?", T.YES_NO)
COLOUR = Question("colour", "Colour?", T.SINGLE_CHOICE, choices=("red", "black", "steel"))
FEATURES = Question(
    "features", "Features?", T.MULTIPLE_CHOICE, choices=("timer", "keep_warm", "filter")
)
TEMPLATE = (NAME, CAPACITY, CORDLESS, COLOUR, FEATURES)


def locs(errors: list[FieldError]) -> list[tuple[Any, ...]]:
    return [error.loc for error in errors]


# --- templates ---------------------------------------------------------------------------------


def test_a_good_template_passes() -> None:
    assert check_questions(TEMPLATE) == []


@pytest.mark.parametrize(
    ("question", "field", "msg"),
    [
        (Question("Bad Key", "?", T.TEXT), "key", "invalid key"),
        (Question("1st", "?", T.TEXT), "key", "invalid key"),
        (Question("", "?", T.TEXT), "key", "invalid key"),
        (Question("k", "?", T.TEXT, unit="cm"), "unit", "only number questions have a unit"),
        (Question("k", "?", T.YES_NO, unit="cm"), "unit", "only number questions"),
        (Question("k", "?", T.TEXT, choices=("a", "b")), "choices", "has no choices"),
        (Question("k", "?", T.NUMBER, choices=("1", "2")), "choices", "has no choices"),
        (Question("k", "?", T.SINGLE_CHOICE), "choices", "at least 2 choices"),
        (Question("k", "?", T.MULTIPLE_CHOICE, choices=("a",)), "choices", "at least 2"),
        (Question("k", "?", T.TEXT, attribute="bad name"), "attribute", "invalid attribute"),
        (Question("k", "?", T.TEXT, attribute="9lives"), "attribute", "invalid attribute"),
    ],
)
def test_bad_questions_are_located(question: Question, field: str, msg: str) -> None:
    errors = check_questions([CORDLESS, question])
    assert locs(errors) == [("questions", 1, field)]
    assert msg in errors[0].msg


@pytest.mark.parametrize(
    ("choices", "index", "msg"),
    [(("a", "b", "a"), 2, "duplicate choice 'a'"), (("a", " ", "b"), 1, "cannot be blank")],
)
def test_bad_choices_are_located(choices: tuple[str, ...], index: int, msg: str) -> None:
    errors = check_questions([Question("k", "?", T.SINGLE_CHOICE, choices=choices)])
    assert locs(errors) == [("questions", 0, "choices", index)]
    assert msg in errors[0].msg


def test_keys_and_mapped_attributes_are_unique() -> None:
    errors = check_questions(
        [
            Question("a", "?", T.TEXT, attribute="colour"),
            Question("a", "?", T.TEXT),
            Question("b", "?", T.TEXT, attribute="colour"),
        ]
    )
    assert locs(errors) == [("questions", 1, "key"), ("questions", 2, "attribute")]
    assert "duplicate question key 'a'" in errors[0].msg
    assert "already mapped by question 'a'" in errors[1].msg


def test_template_size_is_bounded() -> None:
    assert locs(check_questions([])) == [("questions",)]
    many = [Question(f"q{i}", "?", T.TEXT) for i in range(MAX_QUESTIONS + 1)]
    assert "at most" in check_questions(many)[0].msg
    assert check_questions(many[:MAX_QUESTIONS]) == []


def test_bad_questions_make_one_invalid_with_body_locations() -> None:
    errors = check_questions([Question("k", "?", T.TEXT, unit="l"), Question("k", "?", T.TEXT)])
    caught = invalid_input(errors, what="questionnaire")
    assert caught.status == 422
    assert caught.detail.startswith("invalid questionnaire: questions.0.unit:")
    assert caught.detail.endswith("(and 1 more)")
    assert caught.extra["errors"][1] == {
        "loc": ["body", "questions", "1", "key"],
        "msg": "duplicate question key 'k'",
    }


# --- one answer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "value", "stored"),
    [
        (NAME, "  Kettle 9  ", "Kettle 9"),
        (NAME, "x" * MAX_TEXT_ANSWER, "x" * MAX_TEXT_ANSWER),
        (CAPACITY, 1.7, 1.7),
        (CAPACITY, 2, 2),
        (CAPACITY, 0, 0),
        (CAPACITY, -3.5, -3.5),
        (CORDLESS, True, True),
        (CORDLESS, False, False),
        (COLOUR, "black", "black"),
        (FEATURES, ["filter", "timer"], ["timer", "filter"]),
        (FEATURES, ["keep_warm"], ["keep_warm"]),
    ],
)
def test_valid_answers_are_stored_normalised(question: Question, value: Any, stored: Any) -> None:
    result = check_answer(question, value)
    assert result == stored
    assert type(result) is type(stored)


@pytest.mark.parametrize(
    ("question", "value", "msg"),
    [
        (NAME, 5, "expected text"),
        (NAME, ["a"], "expected text"),
        (NAME, "   ", "cannot be blank"),
        (NAME, "x" * (MAX_TEXT_ANSWER + 1), "at most 10000 characters"),
        (CAPACITY, "1.7", "expected a number (in l)"),
        (CAPACITY, True, "expected a number"),
        (CAPACITY, math.nan, "finite"),
        (CAPACITY, math.inf, "finite"),
        (CAPACITY, {"value": 1}, "expected a number"),
        (CORDLESS, "yes", "expected true or false"),
        (CORDLESS, 1, "expected true or false"),
        (COLOUR, "blue", "'blue' is not a choice; choices: red, black, steel"),
        (COLOUR, "Red", "not a choice"),
        (COLOUR, ["red"], "expected one of: red, black, steel"),
        (FEATURES, "timer", "expected a list of choices"),
        (FEATURES, [1, 2], "expected a list of choices"),
        (FEATURES, [], "choose at least one"),
        (FEATURES, ["timer", "wifi"], "'wifi' is not a choice"),
        (FEATURES, ["timer", "timer"], "listed twice"),
    ],
)
def test_wrong_answers_say_why(question: Question, value: Any, msg: str) -> None:
    with pytest.raises(WrongAnswer) as caught:
        check_answer(question, value)
    assert msg in str(caught.value)


def test_a_number_without_unit_says_number() -> None:
    with pytest.raises(WrongAnswer, match=r"^expected a number$"):
        check_answer(Question("n", "?", T.NUMBER), "x")


# --- a set of answers --------------------------------------------------------------------------


def test_answers_are_checked_by_key() -> None:
    accepted, errors = check_answers(
        TEMPLATE,
        {
            "model_name": "K9",
            "capacity": "lots",
            "colour": "blue",
            "cordless": None,
            "wattage": 2000,
            "features": ["timer"],
        },
    )
    assert accepted == {"model_name": "K9", "features": ["timer"]}
    assert locs(errors) == [("answers", "capacity"), ("answers", "colour"), ("answers", "wattage")]
    assert errors[2].msg == "no question with key 'wattage'"


def test_missing_required_blocks_submission() -> None:
    errors = missing_required(TEMPLATE, {"capacity": 1.7, "model_name": None})
    assert locs(errors) == [("answers", "model_name")]
    assert "required question" in errors[0].msg
    assert missing_required(TEMPLATE, {"model_name": "K", "capacity": 1}) == []


def test_merge_sets_and_removes() -> None:
    current = {"model_name": "K9", "colour": "red"}
    merged = merge_answers(current, {"colour": None, "cordless": False, "ghost": None})
    assert merged == {"model_name": "K9", "cordless": False}
    assert current == {"model_name": "K9", "colour": "red"}


# --- completion --------------------------------------------------------------------------------


def test_completion_counts_required_and_overall() -> None:
    empty = completion(TEMPLATE, {})
    assert empty == Completion(required_answered=0, required_total=2, answered=0, total=5)
    assert (empty.required_percent, empty.overall_percent, empty.complete) == (0, 0, False)

    some = completion(TEMPLATE, {"capacity": 2, "cordless": False, "ghost": 1})
    assert some == Completion(1, 2, 2, 5)
    assert (some.required_percent, some.overall_percent, some.complete) == (50, 40, False)

    done = completion(TEMPLATE, {"capacity": 2, "model_name": "K"})
    assert (done.required_percent, done.overall_percent, done.complete) == (100, 40, True)


def test_completion_without_required_questions_is_complete() -> None:
    result = completion((CORDLESS, COLOUR, FEATURES), {"colour": "red"})
    assert (result.required_percent, result.overall_percent, result.complete) == (100, 33, True)
    assert completion((CORDLESS, COLOUR), {"colour": "red"}).overall_percent == 50
    # Half-up: 2 of 3 is 66.7 -> 67.
    assert (
        completion(
            (CORDLESS, COLOUR, FEATURES), {"colour": "red", "cordless": True}
        ).overall_percent
        == 67
    )


# --- status ------------------------------------------------------------------------------------

DRAFT, SUBMITTED = ResponseStatus.DRAFT, ResponseStatus.SUBMITTED


@pytest.mark.parametrize(
    ("current", "requested", "result"),
    [
        (DRAFT, None, DRAFT),
        (DRAFT, DRAFT, DRAFT),
        (DRAFT, SUBMITTED, SUBMITTED),
        (SUBMITTED, None, SUBMITTED),
        (SUBMITTED, SUBMITTED, SUBMITTED),
    ],
)
def test_status_moves_forward(
    current: ResponseStatus, requested: ResponseStatus | None, result: ResponseStatus
) -> None:
    assert next_status(current, requested) is result


def test_a_submitted_response_cannot_go_back_to_draft() -> None:
    with pytest.raises(Conflict) as caught:
        next_status(SUBMITTED, DRAFT)
    assert caught.value.status == 409
    assert caught.value.extra == {"current": "submitted", "to": "draft"}


# --- promotion ---------------------------------------------------------------------------------


def test_promotion_uses_the_requested_or_the_mapped_attribute() -> None:
    assert promotion_attribute(CAPACITY, None) == "cap"
    assert promotion_attribute(CAPACITY, "capacity_l") == "capacity_l"
    assert promotion_attribute(CORDLESS, "cordless") == "cordless"


@pytest.mark.parametrize(
    ("question", "requested", "msg"),
    [(CORDLESS, None, "maps to no attribute"), (CAPACITY, "not ok", "invalid attribute name")],
)
def test_promotion_needs_a_valid_attribute(
    question: Question, requested: str | None, msg: str
) -> None:
    with pytest.raises(Invalid) as caught:
        promotion_attribute(question, requested)
    assert msg in caught.value.detail
    assert caught.value.extra["errors"][0]["loc"] == ["body", "attribute"]


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (1, 1.0, True),
        (1.7, 1.7, True),
        (True, 1, False),
        (False, 0, False),
        (True, True, True),
        ("red", "red", True),
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], ["b", "a"], False),
        ([True], [1], False),
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": True}, False),
        ({"a": 1}, {"b": 1}, False),
        ("1", 1, False),
        (None, "x", False),
    ],
)
def test_json_equality(left: Any, right: Any, equal: bool) -> None:
    assert json_equal(left, right) is equal
    assert json_equal(right, left) is equal
