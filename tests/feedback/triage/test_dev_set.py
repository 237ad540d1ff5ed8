"""The development set (issue 15): its shape, that nobody edited it, and that it shares no
product type or text with the seed or the frozen fresh set.

Pure but for the last test: reads the data files. The fresh set is read only for its product
types and to check that no text of it was taken.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from services.feedback.triage.dev import DEV_PATH, load_dev
from services.feedback.triage.evaluate import leave_one_type_out
from services.feedback.triage.fresh import FRESH_PATH
from services.feedback.triage.hazard import HAZARD_THRESHOLD, load_descriptions
from services.feedback.triage.labels import Category, Severity
from services.feedback.triage.pipeline import ModelTriage
from services.feedback.triage.seed import load_seed

CARD = DEV_PATH.parent / "DEV_TEXTS.md"
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


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEV_PATH.read_text(encoding="utf-8").splitlines()]


def test_the_file_is_the_one_its_card_names() -> None:
    recorded = re.search(r"sha256: `([0-9a-f]{64})`", CARD.read_text(encoding="utf-8"))
    assert recorded is not None, "DEV_TEXTS.md must record the set's sha256"
    assert hashlib.sha256(DEV_PATH.read_bytes()).hexdigest() == recorded.group(1)


def test_its_product_types_are_neither_the_seeds_nor_the_fresh_sets(
    items: list[dict[str, Any]],
) -> None:
    fresh = [json.loads(line) for line in FRESH_PATH.read_text(encoding="utf-8").splitlines()]
    per_type = Counter(item["product_type"] for item in items)
    assert len(per_type) >= 10
    assert min(per_type.values()) >= 15
    assert not set(per_type) & {item.product for item in load_seed()}
    assert not set(per_type) & {item["product_type"] for item in fresh}


def test_no_text_comes_from_another_set(items: list[dict[str, Any]]) -> None:
    fresh = [json.loads(line) for line in FRESH_PATH.read_text(encoding="utf-8").splitlines()]
    others = (
        {item["text"].lower() for item in fresh}
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
            assert item["category"] == "requirement", item["id"]


def test_it_has_the_hard_cases_it_was_written_for(items: list[dict[str, Any]]) -> None:
    # Questions without a question mark, and per product type at least four hazards.
    unmarked = [i for i in items if i["category"] == "question" and "?" not in i["text"]]
    assert len(unmarked) >= 30
    hazards = Counter(i["product_type"] for i in items if i["hazard"])
    assert min(hazards.values()) >= 4
    assert len(hazards) == len({i["product_type"] for i in items})


def test_the_loader_reads_every_item(items: list[dict[str, Any]]) -> None:
    loaded = load_dev()
    assert [item.id for item in loaded] == [item["id"] for item in items]
    assert [item.hazard for item in loaded] == [item["hazard"] for item in items]


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


def test_the_second_set_is_the_one_its_card_names_and_new() -> None:
    """The second development set (`data/dev_texts_2.jsonl`, not fitted on yet): unedited,
    and no product type or text of the seed, the fresh set or the first set."""
    path = DEV_PATH.parent / "dev_texts_2.jsonl"
    card = (DEV_PATH.parent / "DEV_TEXTS_2.md").read_text(encoding="utf-8")
    recorded = re.search(r"sha256: `([0-9a-f]{64})`", card)
    assert recorded is not None, "DEV_TEXTS_2.md must record the set's sha256"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == recorded.group(1)
    second = load_dev(path)
    first = load_dev()
    fresh = load_dev(FRESH_PATH)
    assert len(second) >= 200
    others = {i.product for i in [*first, *fresh]} | {i.product for i in load_seed()}
    assert not {i.product for i in second} & others
    assert not {i.text for i in second} & {i.text for i in [*first, *fresh]}
