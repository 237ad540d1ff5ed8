"""The labelled seed set: size, coverage, well-formed rows, a stable split."""

from __future__ import annotations

from collections import Counter

from services.feedback.triage import Category, Severity
from services.feedback.triage.seed import TRAIN_PERCENT, is_train, load_seed, split

KINDS = {"review", "return", "support_ticket", "question", "search_miss"}


def test_the_seed_set_covers_every_category_severity_kind_and_several_products() -> None:
    items = load_seed()
    assert len(items) >= 300
    assert set(Counter(i.category for i in items)) == set(Category)
    assert set(Counter(i.severity for i in items)) == set(Severity)
    assert {i.kind for i in items} == KINDS
    assert len({i.product for i in items}) >= 6
    assert min(Counter(i.category for i in items).values()) >= 20


def test_rows_are_well_formed() -> None:
    items = load_seed()
    assert len({i.id for i in items}) == len(items)
    assert len({i.text for i in items}) == len(items)
    for item in items:
        assert item.text.strip()
        assert (item.rating is not None) == (item.kind == "review"), item.id
        assert item.rating is None or 1 <= item.rating <= 5
        assert (item.priority is not None) == (item.kind == "support_ticket"), item.id
        if item.kind == "search_miss":
            assert item.category == Category.REQUIREMENT


def test_problems_are_per_product_and_have_paraphrases() -> None:
    items = load_seed()
    products: dict[str, str] = {}
    for item in items:
        if item.problem:
            assert products.setdefault(item.problem, item.product) == item.product, item.id
    sizes = Counter(i.problem for i in items if i.problem)
    assert min(sizes.values()) >= 2
    assert len(sizes) >= 30


def test_the_split_is_deterministic_disjoint_and_about_seventy_thirty() -> None:
    items = load_seed()
    train, held_out = split(items)
    assert split(items) == (train, held_out)
    assert {i.id for i in train}.isdisjoint({i.id for i in held_out})
    assert len(train) + len(held_out) == len(items)
    assert abs(len(train) / len(items) - TRAIN_PERCENT / 100) < 0.06
    assert all(is_train(i.id) for i in train)
    assert set(Counter(i.category for i in held_out)) == set(Category)
    assert set(Counter(i.severity for i in held_out)) == set(Severity)
