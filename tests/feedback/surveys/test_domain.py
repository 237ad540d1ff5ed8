"""Survey rules without I/O, with worked examples: the check of answers, the distributions,
and which segment differs most."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.feedback.surveys.domain import (
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyStatus,
    check_answers,
    close,
    distribution,
    free_text_of,
    most_different,
    results,
)
from shared.errors import Conflict

EASE = Question("ease", "How easy is it to clean?", QuestionType.RATING, min=1, max=5)
SIZE = Question("size", "Which size?", QuestionType.SINGLE_CHOICE, options=("S", "M", "L"))
USES = Question("uses", "What for?", QuestionType.MULTIPLE_CHOICE, options=("tea", "soup", "baby"))
WISH = Question("wish", "What would you change?", QuestionType.FREE_TEXT)
SURVEY = Survey(id="s-1", questions=(EASE, SIZE, USES, WISH), product_type="kettle")


def test_answers_that_fit_the_survey_pass() -> None:
    answers = {"ease": 4, "size": "M", "uses": ["tea", "soup"], "wish": "a longer cable"}
    assert check_answers(SURVEY, answers) == []


def test_a_response_to_a_survey_answers_something() -> None:
    assert check_answers(SURVEY, {}) == [
        {"loc": ["answers"], "msg": "a response to a survey answers at least one question"}
    ]


@pytest.mark.parametrize(
    ("answers", "loc", "msg"),
    [
        ({"colour": "red"}, ["answers", "colour"], "no question with this key"),
        ({"ease": 6}, ["answers", "ease"], "must be from 1 to 5"),
        ({"ease": 0}, ["answers", "ease"], "must be from 1 to 5"),
        ({"ease": "4"}, ["answers", "ease"], "a rating question takes a whole number from 1 to 5"),
        ({"size": "XL"}, ["answers", "size"], "not an option of this question: S, M, L"),
        ({"size": ["S"]}, ["answers", "size"], "a single-choice question takes one of its"),
        ({"uses": "tea"}, ["answers", "uses"], "a multiple-choice question takes a list"),
        ({"uses": []}, ["answers", "uses"], "choose at least one option"),
        ({"uses": ["tea", "tea"]}, ["answers", "uses"], "an option is chosen twice"),
        ({"uses": ["tea", "coffee"]}, ["answers", "uses"], "not options of this question: coffee"),
        ({"wish": 3}, ["answers", "wish"], "a free-text question takes a string"),
        ({"wish": "x" * 2001}, ["answers", "wish"], "a free-text answer holds at most 2000"),
    ],
)
def test_each_answer_that_does_not_fit_is_named(answers: dict, loc: list, msg: str) -> None:
    (error,) = check_answers(SURVEY, answers)
    assert error["loc"] == loc
    assert error["msg"].startswith(msg)


def test_every_misfit_is_reported_not_only_the_first() -> None:
    errors = check_answers(SURVEY, {"ease": 9, "size": "XL", "nope": 1})
    assert [e["loc"][1] for e in errors] == ["ease", "size", "nope"]


def test_a_closed_survey_takes_no_responses() -> None:
    closed = Survey(id="s-1", questions=(EASE,), status=SurveyStatus.CLOSED)
    assert check_answers(closed, {"ease": 3}) == [
        {"loc": ["survey_id"], "msg": "the survey is closed: it takes no responses"}
    ]


def test_a_survey_closes_once() -> None:
    assert close(SurveyStatus.OPEN) is SurveyStatus.CLOSED
    with pytest.raises(Conflict):
        close(SurveyStatus.CLOSED)


def test_free_text_for_triage_is_the_free_text_answers_in_question_order() -> None:
    answers = {"wish": "a longer cable", "size": "M", "ease": 2}
    assert free_text_of(SURVEY, answers) == "a longer cable"
    assert free_text_of(SURVEY, {"ease": 2}) is None
    # Without a survey (a free-standing response) every text answer is free text.
    assert free_text_of(None, {"b": "two", "a": "one", "n": 3}) == "two\none"


def test_a_rating_counts_every_scale_value_and_its_mean() -> None:
    # 5, 4, 4, 2 -> mean 15 / 4 = 3.75; a value off the scale (an unchecked free-standing
    # response) and a response without this question are left out.
    answers = [{"ease": 5}, {"ease": 4}, {"ease": 4}, {"ease": 2}, {"ease": 9}, {}]
    d = distribution(EASE, [Response(a) for a in answers])
    assert d.answered == 4
    assert d.counts == {"1": 0, "2": 1, "3": 0, "4": 2, "5": 1}
    assert d.mean == Decimal("3.75")


def test_a_mean_is_rounded_half_even_to_two_places() -> None:
    # 1, 2, 2 -> 5 / 3 = 1.666... -> 1.67
    d = distribution(EASE, [Response({"ease": v}) for v in (1, 2, 2)])
    assert d.mean == Decimal("1.67")
    assert distribution(EASE, []).mean is None


def test_a_single_choice_counts_per_option_in_the_questions_order() -> None:
    d = distribution(SIZE, [Response({"size": s}) for s in ("L", "M", "L")])
    assert d.counts == {"S": 0, "M": 1, "L": 2}
    assert d.answered == 3
    assert d.share("L") == Decimal("0.67")


def test_a_multiple_choice_counts_each_chosen_option_and_the_respondents() -> None:
    chosen = [["tea", "soup"], ["tea"], ["baby", "tea", "soup"]]
    d = distribution(USES, [Response({"uses": c}) for c in chosen])
    assert d.counts == {"tea": 3, "soup": 2, "baby": 1}
    assert d.answered == 3  # respondents, not choices (6)
    assert d.share("soup") == Decimal("0.67")


def _rated(segment: str, *values: int) -> list[Response]:
    return [Response({"ease": v}, segment=segment) for v in values]


def test_the_segment_furthest_from_the_overall_mean_differs_most() -> None:
    # Overall: 5 x 4 (students), 5 x 2 (parents), 5 x 3 (retired) -> mean 3.00.
    # Students +1.00, parents -1.00, retired 0: a tie in size and gap goes to the name.
    responses = _rated("students", *[4] * 5) + _rated("parents", *[2] * 5)
    responses += _rated("retired", *[3] * 5)
    tallied = results([EASE], responses)
    diff = tallied.differences["ease"]
    assert diff is not None
    assert (diff.segment, diff.measure) == ("parents", "mean")
    assert (diff.overall, diff.in_segment, diff.difference) == (
        Decimal("3.00"),
        Decimal("2.00"),
        Decimal("-1.00"),
    )


def test_a_tie_in_the_gap_goes_to_the_larger_segment() -> None:
    # Parents 6 x 4, adults 5 x 2, one response without a segment at 2: overall 36 / 12 =
    # 3.00. Both are 1.00 away; parents are more (6 > 5), though "adults" comes first.
    responses = _rated("parents", *[4] * 6) + _rated("adults", *[2] * 5) + [Response({"ease": 2})]
    diff = results([EASE], responses).differences["ease"]
    assert diff is not None
    assert (diff.segment, diff.difference) == ("parents", Decimal("1.00"))


def test_segments_too_small_are_never_named() -> None:
    responses = _rated("students", *[5] * 4) + _rated("parents", *[3] * 6)
    diff = results([EASE], responses).differences["ease"]
    assert diff is not None
    assert diff.segment == "parents"  # students (4 answers) differ more but are too few
    assert results([EASE], _rated("students", 5, 5)).differences["ease"] is None


def test_a_choice_is_compared_by_the_share_of_the_overall_top_option() -> None:
    # Overall: L 6 of 10 (0.60). Young: L 1 of 5 (0.20, -0.40); old: L 5 of 5 (1.00, +0.40).
    young = [Response({"size": s}, "young") for s in ("L", "S", "S", "M", "S")]
    old = [Response({"size": "L"}, "old") for _ in range(5)]
    diff = most_different(
        SIZE,
        distribution(SIZE, young + old),
        {"young": distribution(SIZE, young), "old": distribution(SIZE, old)},
    )
    assert diff is not None
    assert diff.measure == "share:L"
    assert diff.overall == Decimal("0.60")
    # Equal gaps and sizes: the first name, "old".
    assert (diff.segment, diff.in_segment, diff.difference) == (
        "old",
        Decimal("1.00"),
        Decimal("0.40"),
    )


def test_free_text_has_no_difference_and_results_count_segments() -> None:
    responses = [
        Response({"wish": "cable", "ease": 2}, "a"),
        Response({"wish": "lid"}, "a"),
        Response({"ease": 5}),
    ]
    tallied = results([EASE, WISH], responses, min_responses=1)
    assert tallied.responses == 3
    assert tallied.differences["wish"] is None
    assert [d.answered for d in tallied.overall] == [2, 2]
    count, parts = tallied.by_segment["a"]
    assert count == 2
    assert parts[0].mean == Decimal("2.00")
    # Overall mean 3.50; "a" 2.00: -1.50.
    diff = tallied.differences["ease"]
    assert diff is not None
    assert diff.difference == Decimal("-1.50")


def test_a_question_survives_being_stored_and_read_back() -> None:
    for question in (EASE, SIZE, USES, WISH):
        assert Question.of(question.as_dict()) == question
