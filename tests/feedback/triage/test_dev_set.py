"""The development sets (issue 15): their shape, that nobody edited them, and that they share
no product type or text with the seed, the frozen fresh sets or each other.

Pure but for the last test: reads the data files. The frozen sets are read only for their
product types and to check that no text of them was taken.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.feedback.triage.dev import (
    DATA_DIR,
    DEV_PATHS,
    HAZARD_DEV_PATHS,
    SERVED_DEV_PATHS,
    load_dev,
)
from services.feedback.triage.evaluate import leave_one_type_out
from services.feedback.triage.fresh import FRESH_PATHS
from services.feedback.triage.hazard import HAZARD_THRESHOLD, load_descriptions
from services.feedback.triage.labels import Category, Severity
from services.feedback.triage.pipeline import ModelTriage, fit_classifiers
from services.feedback.triage.remembering import RememberingEncoder
from services.feedback.triage.seed import load_seed
from tests.feedback.triage.data_files import assert_card_names_the_file, rows

# Every development set written, whether a fit uses it yet or not (a set is written and pinned
# before the candidate that would use it is judged), and its card (dev_texts_2.jsonl:
# DEV_TEXTS_2.md).
WRITTEN = tuple(sorted(DATA_DIR.glob("dev_texts*.jsonl")))
CARDS = {path: path.with_name(f"{path.stem.upper()}.md") for path in WRITTEN}
HAZARD_TYPES = {
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


@pytest.fixture(scope="module", params=WRITTEN, ids=lambda path: path.name)
def dev_path(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


@pytest.fixture(scope="module")
def items(dev_path: Path) -> list[dict[str, Any]]:
    return rows(dev_path)


def test_the_file_is_the_one_its_card_names(dev_path: Path) -> None:
    assert_card_names_the_file(dev_path, CARDS[dev_path])


def test_its_product_types_are_in_no_other_set(dev_path: Path, items: list[dict[str, Any]]) -> None:
    per_type = Counter(item["product_type"] for item in items)
    assert len(per_type) >= 10
    assert min(per_type.values()) >= 15
    others = {item.product for item in load_seed()} | {
        row["product_type"]
        for path in (*FRESH_PATHS, *WRITTEN)
        if path != dev_path
        for row in rows(path)
    }
    assert not set(per_type) & others


def test_no_text_comes_from_another_set(dev_path: Path, items: list[dict[str, Any]]) -> None:
    others = (
        {
            row["text"].lower()
            for path in (*FRESH_PATHS, *WRITTEN)
            if path != dev_path
            for row in rows(path)
        }
        | {item.text.lower() for item in load_seed()}
        | {example.text.lower() for example in load_descriptions()}
    )
    texts = [item["text"].lower() for item in items]
    assert len(texts) == len(set(texts))
    assert not set(texts) & others


def test_labels_follow_the_definitions(items: list[dict[str, Any]]) -> None:
    for item in items:
        Category(item["category"])
        Severity(item["severity"])
        assert item["hazard"] == (item["severity"] == "critical"), item["id"]
        if item["hazard"]:
            assert item["hazard_type"] in HAZARD_TYPES, item["id"]
            assert item["category"] == "defect", item["id"]
        else:
            assert item["hazard_type"] is None, item["id"]
        if item["kind"] == "search_miss":
            # A nonsense query ("asdfgh") is `other`, by the labeller's choice.
            assert item["category"] in ("requirement", "other"), item["id"]


def test_it_has_the_hard_cases_it_was_written_for(items: list[dict[str, Any]]) -> None:
    # Questions without a question mark (two a product type at least), and per product type
    # at least four hazards.
    types = {i["product_type"] for i in items}
    unmarked = [i for i in items if i["category"] == "question" and "?" not in i["text"]]
    assert len(unmarked) >= 2 * len(types)
    hazards = Counter(i["product_type"] for i in items if i["hazard"])
    assert min(hazards.values()) >= 4
    assert len(hazards) == len(types)


def test_the_fits_use_written_sets_only() -> None:
    assert set(DEV_PATHS) <= set(WRITTEN)


def test_the_loader_reads_every_item() -> None:
    loaded = load_dev()
    written = [row for path in DEV_PATHS for row in rows(path)]
    assert [item.id for item in loaded] == [row["id"] for row in written]
    assert [item.hazard for item in loaded] == [row["hazard"] for row in written]


def test_a_product_type_is_measured_by_a_fit_without_it(model: ModelTriage) -> None:
    # `evaluate --dev`: changing the labels of the type left out changes none of its results.
    items = [item for item in load_dev() if item.product in ("toaster", "desk lamp")]
    relabelled = [
        replace(item, category=Category.OTHER, hazard=not item.hazard)
        if item.product == "toaster"
        else item
        for item in items
    ]
    [results] = leave_one_type_out(model.encoder, items, [HAZARD_THRESHOLD]).values()
    [again] = leave_one_type_out(model.encoder, relabelled, [HAZARD_THRESHOLD]).values()
    assert len(results) == len(items)
    for item, first, second in zip(items, results, again, strict=True):
        if item.product == "toaster":
            assert (first.category, first.safety_hazard) == (second.category, second.safety_hazard)


def test_the_category_and_the_hazards_second_fit_learn_from_every_set(
    model: ModelTriage,
) -> None:
    # MODEL.md, "Fourteenth round": the category classifier is fitted on every set, the
    # hazard classifier is the mean of a fit on the first set and a fit on all of them, so
    # relabelling an item of another set moves both; its first fit alone does not see it.
    encoder = RememberingEncoder(model.encoder)
    items = load_dev(SERVED_DEV_PATHS)
    own = {item.id for item in load_dev(HAZARD_DEV_PATHS)}
    k = next(k for k, item in enumerate(items) if item.id not in own and not item.hazard)
    relabelled = [
        *items[:k],
        replace(items[k], category=Category.OTHER, hazard=True),
        *items[k + 1 :],
    ]
    first = fit_classifiers(encoder, dev=items)
    again = fit_classifiers(encoder, dev=relabelled)
    own_only = [item for item in items if item.id in own]
    same_first = fit_classifiers(encoder, dev=items, hazard_dev=own_only)
    assert not np.array_equal(first.hazard.weights, again.hazard.weights)
    assert not np.array_equal(first.category.weights, again.category.weights)
    # The first fit is of the first set whatever the others say: `hazard_dev` names it.
    assert np.array_equal(first.hazard.weights, same_first.hazard.weights)
