"""What the customer needs from us (issue 15): questions without a question mark, sarcasm and
mixed reviews, and the hazards that are and are not there.

The texts are written for these tests, over products that neither the seed, the development
set nor the frozen fresh set is about, and none is taken from any of them.
"""

from __future__ import annotations

import pytest

from services.feedback.triage import Category, Severity, TriageInput
from services.feedback.triage.pipeline import ModelTriage, safe_sentences_of

QUESTIONS_WITHOUT_A_MARK = [
    TriageInput(kind="question", text="wondering if this roof box fits a 2018 estate"),
    TriageInput(kind="question", text="need to know the wattage of the motor"),
    TriageInput(
        kind="question", text="curious whether the filter can be washed or must be replaced"
    ),
    # A known limit: an imperative request for help inside a good review still reads as a
    # wish (modification_request); kept so that the day it passes is noticed.
    pytest.param(
        TriageInput(
            kind="review",
            rating=4,
            text="Nice vacuum. Tell me how to empty the bin without the dust going everywhere",
        ),
        marks=pytest.mark.xfail(strict=True, reason="read as a modification request"),
    ),
]
SARCASM = [
    TriageInput(
        kind="review", rating=1, text="Great, another vacuum that loses suction after a week."
    ),
    TriageInput(
        kind="review",
        rating=2,
        text="Oh brilliant, the zip on the suitcase broke on the first trip.",
    ),
    TriageInput(
        kind="review",
        rating=1,
        text="Love how the remote stopped responding after two days. Top quality.",
    ),
]
MIXED = [
    (
        TriageInput(
            kind="review",
            rating=3,
            text="Beautiful finish, but the drawer handle came off in my hand.",
        ),
        Category.DEFECT,
    ),
    (
        TriageInput(
            kind="review",
            rating=4,
            text="Really comfy sofa, I just wish the cushions came in grey.",
        ),
        Category.MODIFICATION_REQUEST,
    ),
    (
        TriageInput(
            kind="review",
            rating=4,
            text="Lovely rug, but I need to know how to get a wine stain out of it",
        ),
        Category.QUESTION,
    ),
]


def categories(model: ModelTriage, items: list[TriageInput]) -> list[Category]:
    return [result.category for result in model.triage(items)]


@pytest.mark.parametrize("item", QUESTIONS_WITHOUT_A_MARK, ids=lambda i: i.text[:30])
def test_a_question_without_a_question_mark_is_a_question(
    model: ModelTriage, item: TriageInput
) -> None:
    assert categories(model, [item]) == [Category.QUESTION]


@pytest.mark.parametrize("item", SARCASM, ids=lambda i: i.text[:30])
def test_sarcasm_is_read_for_what_it_means(model: ModelTriage, item: TriageInput) -> None:
    [result] = model.triage([item])
    assert result.category == Category.DEFECT
    assert not result.safety_hazard


@pytest.mark.parametrize(("item", "need"), MIXED, ids=lambda i: getattr(i, "text", "")[:30])
def test_a_mixed_review_goes_by_what_the_customer_needs(
    model: ModelTriage, item: TriageInput, need: Category
) -> None:
    assert categories(model, [item]) == [need]


def test_a_hazard_beside_a_denied_one_is_still_read(model: ModelTriage) -> None:
    # The first sentence is dropped (negated); the second is read without it.
    [result] = model.triage(
        [
            TriageInput(
                kind="review",
                rating=1,
                text="No burns from the handle so far. But the base sparked and set the tea"
                " towel alight.",
            )
        ]
    )
    assert (result.safety_hazard, result.severity) == (True, Severity.CRITICAL)


def test_a_near_miss_is_a_hazard(model: ModelTriage) -> None:
    [result] = model.triage(
        [
            TriageInput(
                kind="review",
                rating=1,
                text="The wardrobe door came off its hinge and crashed down where my son had"
                " been standing a moment before.",
            )
        ]
    )
    assert result.safety_hazard


@pytest.mark.parametrize(
    "item",
    [
        TriageInput(
            kind="review",
            rating=5,
            text="Sprained my ankle at football and this ice pack has been a lifesaver.",
        ),
        TriageInput(
            kind="return", reason="damaged", text="arrived with a cracked lid and a dented side"
        ),
        TriageInput(
            kind="review",
            rating=5,
            text="Walked twenty miles in the hills with this rucksack. Superb.",
        ),
    ],
    ids=lambda i: i.text[:30],
)
def test_harm_the_product_did_not_cause_and_damage_to_it_are_no_hazard(
    model: ModelTriage, item: TriageInput
) -> None:
    [result] = model.triage([item])
    assert not result.safety_hazard


def test_the_safe_sentences_fitted_on_come_from_safe_texts_only() -> None:
    texts = [
        "Lovely colour. Comfy too.",
        "One star. It sparked and burned my hand.",
        "Single sentence only.",
        "No sparks at all. Works well. Quiet.",
    ]
    # A hazard's sentences are not all hazards, so none is fitted as safe; a text of one
    # sentence is fitted whole already; screened-out sentences are never read.
    assert safe_sentences_of(texts, [False, True, False, False]) == [
        "Lovely colour.",
        "Comfy too.",
        "Works well.",
        "Quiet.",
    ]
