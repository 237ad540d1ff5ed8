"""The hazard classifier on the embeddings: written hazards, near misses and counter-examples.

The texts here are new phrasings (neither in the seed, the written descriptions nor the
frozen fresh set): a hazard with no injury word, a near miss, and what is no hazard.
"""

from __future__ import annotations

import json

import pytest

from services.feedback.triage import Category, Severity, TriageInput
from services.feedback.triage.hazard import DESCRIPTIONS_PATH, HAZARD_CLASSES, load_descriptions
from services.feedback.triage.pipeline import ModelTriage

HAZARDS = [
    "The safety catch on the gate gave way while my little one was leaning against it.",
    "The kettle's base sparked and the socket is black.",
    "My daughter nearly swallowed a bead that snapped off the necklace toy.",
]
SAFE = [
    "No sparks and no heat from the plug, works as it should.",
    "Could this tip over if a child climbs it?",
    "Lovely lamp, easy to assemble, bright light.",
]


def test_the_written_descriptions_cover_both_classes_and_every_category() -> None:
    written = load_descriptions()
    assert {example.hazard for example in written} == {True, False}
    assert sum(example.hazard for example in written) >= 80
    assert HAZARD_CLASSES == ("safe", "hazard")
    rows = [json.loads(line) for line in DESCRIPTIONS_PATH.read_text().splitlines() if line]
    assert {row["hazard_type"] for row in rows if row["hazard"]} == {
        "fire",
        "burn",
        "electric_shock",
        "choking",
        "fall",
        "entrapment",
        "cut",
        "chemical",
        "strangulation",
        "other",
    }
    assert {"near_miss", "negated", "hearsay", "hypothetical", "not_product"} <= {
        row["written_as"] for row in rows
    }


@pytest.mark.parametrize("text", HAZARDS)
def test_hazards_without_an_injury_word_are_critical_defects(model: ModelTriage, text: str) -> None:
    [result] = model.triage([TriageInput(kind="review", text=text, rating=1)])
    assert result.safety_hazard
    assert result.category == Category.DEFECT
    assert result.severity == Severity.CRITICAL


@pytest.mark.parametrize("text", SAFE)
def test_negated_hypothetical_and_plain_texts_are_no_hazard(model: ModelTriage, text: str) -> None:
    [result] = model.triage([TriageInput(kind="review", text=text, rating=4)])
    assert not result.safety_hazard


def test_every_result_carries_a_confidence(model: ModelTriage) -> None:
    results = model.triage([TriageInput(kind="review", text=text) for text in HAZARDS + SAFE])
    assert all(0.0 < r.confidence <= 1.0 for r in results)


def test_a_search_query_is_never_a_hazard(model: ModelTriage) -> None:
    [result] = model.triage([TriageInput(kind="search_miss", text="fire extinguisher")])
    assert not result.safety_hazard
