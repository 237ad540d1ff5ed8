"""Quality gates on the held-out part of the seed set (floors: measured figures minus a margin).

Measured with `python -m services.feedback.triage.evaluate`: category accuracy 0.924, severity
accuracy 0.933, critical safety recall 14/15 with 2 false hazards among 90 (the hazard model of
issue 15, fitted with the first development set, threshold 0.8; the category classifier
fitted with all three; the old phrase rules' 15/15 and 0 were written while looking at this
part, see MODEL.md). A change that drops below a floor
needs a look, not a new floor.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.feedback.triage import SAME_PROBLEM_THRESHOLD, Severity
from services.feedback.triage.evaluate import accuracy, problem_pairs
from services.feedback.triage.grouping import best_threshold, pair_scores
from services.feedback.triage.labels import TriageResult
from services.feedback.triage.pipeline import ModelTriage, build_triage
from services.feedback.triage.seed import SEED_PATH, SeedItem, is_train, load_seed, split

CATEGORY_ACCURACY_FLOOR = 0.85
SEVERITY_ACCURACY_FLOOR = 0.88
GROUPING_F1_FLOOR = 0.65
HAZARD_RECALL_FLOOR = 0.85
FALSE_HAZARD_CEILING = 0.04


@pytest.fixture(scope="module")
def held_out(model: ModelTriage) -> tuple[list[SeedItem], list[TriageResult]]:
    items = split(load_seed())[1]
    return items, model.triage([item.as_input() for item in items])


def test_category_accuracy_stays_above_its_floor(held_out) -> None:
    items, results = held_out
    truth = [i.category for i in items]
    assert accuracy(truth, [r.category for r in results]) >= CATEGORY_ACCURACY_FLOOR


def test_severity_accuracy_stays_above_its_floor(held_out) -> None:
    items, results = held_out
    truth = [i.severity for i in items]
    assert accuracy(truth, [r.severity for r in results]) >= SEVERITY_ACCURACY_FLOOR


def test_critical_safety_items_are_found_and_few_others_are_flagged(held_out) -> None:
    items, results = held_out
    pairs = list(zip(items, results, strict=True))
    critical = [r for i, r in pairs if i.severity == Severity.CRITICAL]
    others = [r for i, r in pairs if i.severity != Severity.CRITICAL]
    assert sum(r.safety_hazard for r in critical) / len(critical) >= HAZARD_RECALL_FLOOR
    assert sum(r.safety_hazard for r in others) / len(others) <= FALSE_HAZARD_CEILING
    # A hazard is critical, and only a hazard is.
    assert all((r.severity == Severity.CRITICAL) == r.safety_hazard for _, r in pairs)


def test_grouping_holds_on_held_out_pairs(held_out) -> None:
    items, results = held_out
    assert pair_scores(problem_pairs(items, results), SAME_PROBLEM_THRESHOLD)[2] >= (
        GROUPING_F1_FLOOR
    )


def test_the_threshold_is_the_one_the_train_part_chooses(model: ModelTriage) -> None:
    train = split(load_seed())[0]
    results = model.triage([item.as_input() for item in train])
    chosen, _ = best_threshold(problem_pairs(train, results))
    assert chosen == pytest.approx(SAME_PROBLEM_THRESHOLD)


def test_the_classifier_never_sees_held_out_labels(model: ModelTriage, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in SEED_PATH.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if not is_train(row["id"]):
            row["category"] = "other"  # a held-out label change must change nothing
            row["severity"] = "critical"
    seed = tmp_path / "seed.jsonl"
    seed.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    rebuilt = build_triage(encoder=model.encoder, seed_path=seed)
    fitted = build_triage(encoder=model.encoder)
    np.testing.assert_array_equal(rebuilt.classifier.weights, fitted.classifier.weights)
    np.testing.assert_array_equal(rebuilt.classifier.bias, fitted.classifier.bias)
    np.testing.assert_array_equal(rebuilt.hazard.weights, fitted.hazard.weights)
