"""The frozen fresh evaluation sets (issue 15): their shape, and that nobody edited them.

Pure: reads services/feedback/triage/data/fresh_eval*.jsonl with their cards
(FRESH_EVAL*.md), no model. The label vocabulary is written out here from the definitions
the sets' authors were given, not imported, so the check stays independent of the triage
code it will be used to measure.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from services.feedback.triage.dev import DEV_PATHS
from services.feedback.triage.fresh import FRESH_PATH, FRESH_PATHS, load_fresh
from tests.feedback.triage.data_files import assert_card_names_the_file, rows

DATA = FRESH_PATH.parent
# Each frozen set and its card (fresh_eval_2.jsonl: FRESH_EVAL_2.md).
SETS = {path: DATA / f"{path.stem.upper()}.md" for path in FRESH_PATHS}

SEED_PRODUCT_TYPES = {
    "kettle",
    "headphones",
    "blender",
    "office chair",
    "running shoes",
    "phone case",
}
CATEGORIES = {"defect", "modification_request", "requirement", "question", "praise", "other"}
SEVERITIES = {"critical", "high", "medium", "low"}
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
PRIORITIES = {"low", "normal", "high", "urgent"}
REASONS = {
    "defective",
    "damaged",
    "not_as_described",
    "wrong_item",
    "too_large",
    "too_small",
    "changed_mind",
    "no_longer_needed",
    "arrived_late",
}
KINDS = {"review", "question", "support_ticket", "return", "search_miss"}


@pytest.fixture(scope="module", params=list(SETS), ids=lambda path: path.name)
def frozen(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


@pytest.fixture(scope="module")
def items(frozen: Path) -> list[dict[str, Any]]:
    return rows(frozen)


def test_the_file_is_the_frozen_one(frozen: Path) -> None:
    # Any edit changes the digest: a changed set is a new file under a new name (its card).
    assert_card_names_the_file(frozen, SETS[frozen])


def test_each_set_covers_product_types_no_other_set_has(frozen: Path) -> None:
    # Each set was written for new ground: no product type of the seed, of another frozen set
    # or of a development set.
    others = {
        row["product_type"]
        for path in (*FRESH_PATHS, *DEV_PATHS)
        if path != frozen
        for row in rows(path)
    }
    types = {row["product_type"] for row in rows(frozen)}
    assert len(types) >= 8
    assert not types & (others | SEED_PRODUCT_TYPES)


def test_size_and_product_types(items: list[dict[str, Any]]) -> None:
    per_type = Counter(item["product_type"] for item in items)
    assert len(items) >= 300
    assert len(per_type) >= 8
    assert min(per_type.values()) >= 35, per_type
    assert not set(per_type) & SEED_PRODUCT_TYPES


def test_ids_are_unique(items: list[dict[str, Any]]) -> None:
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))


def test_labels_are_in_the_vocabulary(items: list[dict[str, Any]]) -> None:
    for item in items:
        assert item["kind"] in KINDS, item["id"]
        assert item["category"] in CATEGORIES, item["id"]
        assert item["severity"] in SEVERITIES, item["id"]
        assert isinstance(item["hazard"], bool), item["id"]
        assert isinstance(item["text"], str), item["id"]
        assert item["text"].strip(), item["id"]


def test_a_hazard_is_a_critical_defect_with_a_type(items: list[dict[str, Any]]) -> None:
    for item in items:
        if item["hazard"]:
            assert item["hazard_type"] in HAZARD_TYPES, item["id"]
            assert (item["category"], item["severity"]) == ("defect", "critical"), item["id"]
        else:
            assert item["hazard_type"] is None, item["id"]


def test_each_kind_carries_its_fields(items: list[dict[str, Any]]) -> None:
    for item in items:
        if item["kind"] == "review":
            assert item["rating"] in {1, 2, 3, 4, 5}, item["id"]
        elif item["kind"] == "support_ticket":
            assert item["subject"].strip(), item["id"]
            assert item["priority"] in PRIORITIES, item["id"]
        elif item["kind"] == "return":
            assert item["reason"] in REASONS, item["id"]


def test_problem_groups_are_paraphrase_sets(items: list[dict[str, Any]]) -> None:
    groups = Counter(item["problem"] for item in items if item["problem"] is not None)
    assert len(groups) >= 30
    assert all(2 <= size <= 5 for size in groups.values()), groups
    # A group is one issue of one product: never spread over two product types.
    types = {item["problem"]: item["product_type"] for item in items if item["problem"]}
    for item in items:
        if item["problem"] is not None:
            assert types[item["problem"]] == item["product_type"], item["id"]


def test_the_loader_reads_every_item(frozen: Path, items: list[dict[str, Any]]) -> None:
    loaded = load_fresh(frozen)
    assert [item.id for item in loaded] == [item["id"] for item in items]
    assert [item.product for item in loaded] == [item["product_type"] for item in items]
    assert [item.hazard for item in loaded] == [item["hazard"] for item in items]
    assert loaded[0].as_input().text == items[0]["text"]
