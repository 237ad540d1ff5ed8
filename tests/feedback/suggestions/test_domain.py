"""Suggestion and source rules without I/O: a suggestion's scope and what a scope names, and
a finding's sources as items of customers and the product team join it."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from services.feedback.findings.domain import (
    Finding,
    Source,
    finding_snapshot,
    sources_of,
    stored_sources,
)
from services.feedback.suggestions.domain import (
    GENERAL,
    TYPE_CODE,
    TYPE_CODE_LENGTH,
    Target,
    scope_of,
    target_of,
)
from shared import product_ids
from tests.feedback.findings.builders import item, put


@pytest.mark.parametrize(
    ("product_id", "product_type", "scope", "target"),
    [
        ("prod-1", None, "prod-1", Target("prod-1", None)),
        (None, "kettle", "type:kettle", Target(None, "kettle")),
        (None, None, "general", Target(None, None)),
    ],
)
def test_a_suggestion_is_kept_under_its_product_its_type_or_general(
    product_id: str | None, product_type: str | None, scope: str, target: Target
) -> None:
    assert scope_of(product_id=product_id, product_type=product_type) == scope
    assert target_of(scope) == target


def test_every_type_scope_is_a_valid_product_id() -> None:
    longest = "k" * TYPE_CODE_LENGTH
    assert re.fullmatch(TYPE_CODE, longest)
    assert not re.fullmatch(TYPE_CODE, longest + "k")
    scope = scope_of(product_id=None, product_type=longest)
    assert len(scope) == product_ids.MAX_LENGTH
    assert re.fullmatch(product_ids.PATTERN, scope)
    assert re.fullmatch(product_ids.PATTERN, GENERAL)


def test_sources_read_and_store_in_one_order() -> None:
    assert sources_of("internal,customer") == ["customer", "internal"]
    assert sources_of({"vendor", "customer"}) == ["customer", "vendor"]
    assert stored_sources({"internal", "customer"}) == "customer,internal"
    assert stored_sources(["customer"]) == "customer"


def test_a_finding_gathers_the_sources_of_its_items() -> None:
    findings: list[Finding] = []
    opened = put(replace(item((1, 0, 0)), source=Source.INTERNAL), findings)
    assert (opened.sources, opened.changed) == ({"internal"}, set())

    opened.is_new, opened.changed = False, set()
    same = put(replace(item((0.98, 0.1, 0), minutes=5), source=Source.INTERNAL), findings)
    assert same is opened
    assert same.sources == {"internal"}
    assert "sources" not in same.changed

    joined = put(item((0.97, 0.15, 0), minutes=10), findings)  # a customer's
    assert joined is opened
    assert joined.sources == {"customer", "internal"}
    assert "sources" in joined.changed
    assert finding_snapshot(joined)["sources"] == ["customer", "internal"]


def test_a_customers_item_opens_a_customer_finding() -> None:
    findings: list[Finding] = []
    assert put(item((0, 1, 0)), findings).sources == {"customer"}
