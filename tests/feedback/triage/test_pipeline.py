"""Triage reads the text: categories, severities, safety, sentiment, topics and grouping."""

from __future__ import annotations

import numpy as np
import pytest

from services.feedback.triage import (
    SAME_PROBLEM_THRESHOLD,
    Category,
    Severity,
    TriageInput,
    TriageResult,
    rank,
    similarity,
)
from services.feedback.triage.pipeline import ModelTriage, features


def review(text: str, rating: int) -> TriageInput:
    return TriageInput(kind="review", text=text, rating=rating)


def one(model: ModelTriage, item: TriageInput) -> TriageResult:
    (result,) = model.triage([item])
    return result


# Texts written for these tests, none taken from the seed set.
SAFETY_TEXTS = [
    "The lid burned my son's hand when he opened it.",
    "Smoke started pouring out of the base after a minute.",
    "It sparked and tripped the fuse in the kitchen.",
    "Got a nasty electric shock from the charging cable.",
    "The strap buckle snapped and I fell off the treadmill, I injured my knee.",
    "Hot soup sprayed out of the lid and scalded my wrist.",
    "The power bank overheated and the casing melted.",
]


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_a_safety_hazard_is_a_critical_defect_whatever_the_rating(
    model: ModelTriage, rating: int
) -> None:
    results = model.triage([review(text, rating) for text in SAFETY_TEXTS])
    for text, result in zip(SAFETY_TEXTS, results, strict=True):
        assert (result.category, result.severity, result.safety_hazard) == (
            Category.DEFECT,
            Severity.CRITICAL,
            True,
        ), text


@pytest.mark.parametrize(
    "item",
    [
        # A person near it makes it a hazard; "it smokes the first time" alone is for review.
        TriageInput(
            kind="question",
            text="Is it normal that smoke came out of the vent while my kid was next to it?",
        ),
        TriageInput(
            kind="support_ticket",
            subject="Sparks from the plug",
            text="Please advise, I stopped using it.",
            priority="normal",
        ),
        TriageInput(kind="return", text="the handle gets so hot it burned me", reason="other"),
    ],
)
def test_every_kind_can_report_a_hazard(model: ModelTriage, item: TriageInput) -> None:
    result = one(model, item)
    assert result.safety_hazard
    assert result.severity == Severity.CRITICAL


@pytest.mark.parametrize(
    "text",
    [
        "No smoke at all, and the lid never gets hot. Love it.",
        "Not a single spark or burnt smell, unlike my old one. Great kettle!",
    ],
)
def test_negated_hazards_stay_praise(model: ModelTriage, text: str) -> None:
    result = one(model, review(text, 5))
    assert not result.safety_hazard
    assert result.category == Category.PRAISE
    assert result.severity == Severity.LOW


def test_the_issue_examples(model: ModelTriage) -> None:
    burned = one(model, review("One star. The lid burned my wife, avoid.", 1))
    assert (burned.category, burned.severity) == (Category.DEFECT, Severity.CRITICAL)
    blue = one(model, review("Does it come in blue?", 5))
    assert blue.category in (Category.QUESTION, Category.MODIFICATION_REQUEST)
    assert blue.severity == Severity.LOW


@pytest.mark.parametrize(
    "text",
    [
        # Read whole, each of these sentences is no hazard (p 0.11-0.49): the praise or the
        # "avoid" around the harm dilutes it. Its clause read alone is one.
        "Looks nice, feels solid, the lid burned my wife, avoid.",
        "Bought two, the leg gave way and my dad fell, avoid avoid avoid.",
        "Great value, easy to clean, the cord caught fire on my desk.",
        "Nice design; the blade slipped and cut my thumb badly; returning it.",
        "Five stars for delivery, one star for the product: it sparked and burned my hand.",
    ],
)
def test_a_harm_among_other_clauses_is_still_a_hazard(model: ModelTriage, text: str) -> None:
    result = one(model, review(text, 3))
    assert result.safety_hazard
    assert (result.category, result.severity) == (Category.DEFECT, Severity.CRITICAL)


@pytest.mark.parametrize(
    "text",
    [
        "Lovely colour, arrived early, works a treat.",
        "Arrived late, box crushed, the lid cracked on day two, avoid.",
        pytest.param(
            "Burns through batteries, the fire-red finish chips: meh.",
            marks=pytest.mark.xfail(
                reason="a known miss of the hazard classifier, not of the clauses: read whole"
                " the sentence is p 0.93, and 'Burns through batteries.' alone 0.99",
                strict=True,
            ),
        ),
    ],
)
def test_clauses_without_harm_to_a_person_are_no_hazard(model: ModelTriage, text: str) -> None:
    assert not one(model, review(text, 2)).safety_hazard


@pytest.mark.parametrize(
    ("item", "category"),
    [
        (review("Stopped working after a week, won't even turn on now.", 1), Category.DEFECT),
        (review("The zip broke on day three and the strap is fraying.", 2), Category.DEFECT),
        (
            review("Wish it came with a longer cable, otherwise good.", 4),
            Category.MODIFICATION_REQUEST,
        ),
        (review("Please make a version in dark green.", 4), Category.MODIFICATION_REQUEST),
        (TriageInput(kind="question", text="Is the bowl dishwasher safe?"), Category.QUESTION),
        (
            TriageInput(kind="question", text="What size should I order for a 44?"),
            Category.QUESTION,
        ),
        (review("Lovely, comfortable and sturdy. Very happy with it!", 5), Category.PRAISE),
        (review("Fantastic quality, my whole family loves them.", 5), Category.PRAISE),
        (review("Dead simple to set up and it fits under the sink.", 5), Category.PRAISE),
        (TriageInput(kind="search_miss", text="waterproof hiking boots"), Category.REQUIREMENT),
        (
            TriageInput(kind="support_ticket", subject="Order status", text="Where is my parcel?"),
            Category.OTHER,
        ),
        (
            TriageInput(kind="return", text="Ordered two by mistake", reason="changed_mind"),
            Category.OTHER,
        ),
    ],
)
def test_clear_examples(model: ModelTriage, item: TriageInput, category: Category) -> None:
    assert one(model, item).category == category


def test_praise_that_asks_or_reports_is_not_praise(model: ModelTriage) -> None:
    asks = one(model, review("Love these! Are they ok for trail running?", 5))
    assert asks.category == Category.QUESTION
    reports = one(model, review("Love the look, but the hinge snapped within a week.", 4))
    assert reports.category == Category.DEFECT


def test_severity_follows_category_failure_and_ticket_priority(model: ModelTriage) -> None:
    broken = one(model, review("Completely dead after two days, no power at all.", 1))
    assert (broken.category, broken.severity) == (Category.DEFECT, Severity.HIGH)
    minor = one(model, review("Great headphones, only issue is a slight creak in the band.", 5))
    assert minor.severity == Severity.LOW
    praise = one(model, review("Perfect, love it.", 5))
    assert praise.severity == Severity.LOW
    urgent = one(
        model,
        TriageInput(
            kind="support_ticket",
            subject="Order for our shop",
            text="We need the invoice corrected today.",
            priority="urgent",
        ),
    )
    assert rank(urgent.severity) >= rank(Severity.HIGH)


def test_sentiment_range_and_sign(model: ModelTriage) -> None:
    good, bad = model.triage(
        [review("Brilliant, love it, works perfectly.", 5), review("Awful. Broke at once.", 1)]
    )
    assert 0.5 < good.sentiment <= 1.0
    assert -1.0 <= bad.sentiment < -0.5


def test_results_keep_the_batch_order_and_shape(model: ModelTriage) -> None:
    items = [review(f"Text number {n}: the lid is loose.", 3) for n in range(40)]
    items[17] = TriageInput(kind="search_miss", text="espresso machine")
    results = model.triage(items)
    assert len(results) == 40
    assert results[17].category == Category.REQUIREMENT
    assert all(len(r.embedding) == 384 and isinstance(r.embedding, tuple) for r in results)
    assert all(r.topic and r.topic == r.topic.lower() for r in results)
    assert model.triage([]) == []


def test_topics_are_short_key_phrases(model: ModelTriage) -> None:
    burned, leak, miss = model.triage(
        [
            review("The metal lid burned my fingers.", 1),
            review("Water leaks from the base every morning.", 1),
            TriageInput(kind="search_miss", text="Glass Kettle  1.5L"),
        ]
    )
    assert burned.topic == "lid burn"
    assert leak.topic == "water leak"
    assert miss.topic == "glass kettle 1.5l"


# One product's problems, each in paraphrases written for this test.
PROBLEMS = {
    "lid burn": [
        "The lid got so hot it burned my fingers.",
        "Burnt my hand on the scorching metal lid.",
        "Careful, the lid burns you when you open it after boiling.",
    ],
    "leak": [
        "Water leaks out of the bottom onto the counter.",
        "It leaks from the base, there is always a puddle.",
        "Leaking underneath after a month, the counter is soaked.",
    ],
    "colour": [
        "Does it come in black?",
        "Is there a black colour option?",
        "Is this available in black?",
    ],
}


def test_paraphrases_group_and_different_problems_do_not(model: ModelTriage) -> None:
    texts = [(name, text) for name, group in PROBLEMS.items() for text in group]
    results = model.triage([review(text, 2) for _, text in texts])
    for (name_a, a), ra in zip(texts, results, strict=True):
        for (name_b, b), rb in zip(texts, results, strict=True):
            if a >= b:
                continue
            score = similarity(ra.embedding, rb.embedding)
            if name_a == name_b:
                assert score > SAME_PROBLEM_THRESHOLD, (a, b, score)
            else:
                assert score < SAME_PROBLEM_THRESHOLD, (a, b, score)


def test_a_survey_response_is_read_as_a_review() -> None:
    # The model was fitted on five kinds: a survey response gets a review's features, not
    # a kind vector of zeros it never saw.
    embeddings = np.zeros((2, 3), dtype=np.float32)
    items = [
        TriageInput(kind="survey_response", text="The lid sticks", rating=2),
        TriageInput(kind="review", text="The lid sticks", rating=2),
    ]
    survey, review_ = features(embeddings, items)
    assert survey.tolist() == review_.tolist()
    assert survey[3:].sum() == 2  # one kind and one rating
