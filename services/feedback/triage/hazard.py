"""Safety hazards as a model: a logistic regression on the sentence embeddings.

The classifier is fitted on the train part of the seed set (its critical items are the
hazards), the first development set (`data/dev_texts.jsonl`), the written descriptions of
`data/hazard_descriptions.jsonl` (public product-safety categories, near misses counted as
hazards, and counter-examples), the corrections people made (`refit`), and the sentences of
the texts among those that report no hazard, read alone (they are no hazard either). What a
model cannot know from one embedding is decided by the rules of `safety.screen_spans` first:
negated, hypothetical and contradicted second-hand sentences are dropped, and only what is
left is read by the classifier.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.feedback.triage import classifier as linear

DESCRIPTIONS_PATH = Path(__file__).parent / "data" / "hazard_descriptions.jsonl"
HAZARD_CLASSES = ("safe", "hazard")
# L2 of the hazard classifier (the category classifier has its own, `classifier.L2`) and the
# p(hazard) from which a text is a hazard. L2 was chosen on the first development set, leaving
# one product type out at a time (`evaluate --dev`). Fitted on all four development sets, no
# setting found as many hazards with as few false ones and still read the issue's own example
# ("One star. The lid burned my wife, avoid.") as a hazard, so the hazard classifier is fitted
# on the first only (`dev.HAZARD_DEV_PATHS`; MODEL.md, "Sixth round" and "Eleventh round").
# The threshold is the twelfth round's: of 0.70-0.90, the one farthest from the served
# model's figures on the folds of all four sets in the worse of hazards found and false
# hazards (clauses read, the screens of cause and presence, int8 products), among those at
# which the behaviour tests pass; 0.80 and 0.81 tie, and 0.80 is what was served. The classes
# are weighted by inverse frequency in the fit, so 0.5 would be even odds.
HAZARD_L2 = 1.0
HAZARD_THRESHOLD = 0.8


@dataclass(frozen=True)
class HazardExample:
    """One written text for the hazard classifier, and whether it reports a hazard."""

    text: str
    hazard: bool


def load_descriptions(path: Path = DESCRIPTIONS_PATH) -> list[HazardExample]:
    """The written hazard descriptions and counter-examples, in file order."""
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [HazardExample(text=row["text"], hazard=bool(row["hazard"])) for row in rows]


def fit_hazard(embeddings: np.ndarray, hazards: Sequence[bool]) -> linear.LinearClassifier:
    """A two-class classifier (HAZARD_CLASSES) fitted on unit embeddings and their labels."""
    labels = [HAZARD_CLASSES[int(bool(h))] for h in hazards]
    return linear.fit(embeddings, labels, HAZARD_CLASSES, l2=HAZARD_L2)


def hazard_probability(model: linear.LinearClassifier, embeddings: np.ndarray) -> np.ndarray:
    """p(hazard) of each embedding row."""
    return model.probabilities(embeddings)[:, HAZARD_CLASSES.index("hazard")]
