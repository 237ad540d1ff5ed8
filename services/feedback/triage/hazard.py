"""Safety hazards as a model: a logistic regression on the sentence embeddings.

The classifier is fitted on the train part of the seed set (its critical items are the
hazards), the development sets (`data/dev_texts*.jsonl`), the written descriptions of
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
# L2 of the hazard classifier and the p(hazard) from which a text is a hazard, chosen on the
# three development sets, leaving one product type out at a time (`evaluate --dev`), by the
# rule: of L2 1, 10, 30, 100, 300, 1000 and thresholds 0.5-0.8, among the settings that find
# at least the share of hazards the model served before found on the frozen sets (0.909) and
# pass the behaviour tests (tests/feedback/triage: "One star. The lid burned my wife" is a
# hazard), the fewest false hazards. L2 100 at 0.55 finds 150 of 160 with a false-hazard rate
# of 0.047 (L2 300 at 0.55: 151, 0.051; L2 30 at 0.55: 148, 0.051). Without the tests the rule
# picks L2 300 at 0.65 (147, 0.036), which reads that example at p 0.59. No setting reaches
# issue 15's goal of 95% found with at most 2% false. MODEL.md, "Fifth round", tells how the
# candidates before this one fared. The classes are weighted by inverse frequency in the fit,
# so 0.5 is even odds.
HAZARD_L2 = 100.0
HAZARD_THRESHOLD = 0.55


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
