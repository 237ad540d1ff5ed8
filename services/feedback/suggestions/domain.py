"""Suggestion rules as plain Python: what a suggestion is about, and the finding scope that
names it. No I/O.

Findings are kept per product. A suggestion about a product joins that product's findings;
one about a product type only, or about nothing in particular, has a scope of its own in
the same `product_id` field: `type:<code>` (the subject the catalog already documents for a
requirement about a type) or `general`. The catalog issues UUIDs, so neither can be a
product's id, and both fit the shared product id rule (`shared.product_ids`), so every
consumer of finding events reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.product_ids import MAX_LENGTH

TYPE_PREFIX = "type:"
GENERAL = "general"
# A product type code as the catalog writes it; short enough that `type:<code>` is still a
# valid product id (36 characters).
TYPE_CODE_LENGTH = MAX_LENGTH - len(TYPE_PREFIX)
TYPE_CODE = rf"^[a-z0-9][a-z0-9_-]{{0,{TYPE_CODE_LENGTH - 1}}}$"
TYPE_CODE_RULE = (
    f"must be a product type code: 1-{TYPE_CODE_LENGTH} of a-z, 0-9, '_' or '-', "
    "starting with a letter or digit"
)


@dataclass(frozen=True)
class Target:
    """What a finding is about: a product, a product type, or neither (general)."""

    product_id: str | None
    product_type: str | None


def scope_of(*, product_id: str | None, product_type: str | None) -> str:
    """The `product_id` a suggestion's items and findings are kept under."""
    if product_id is not None:
        return product_id
    if product_type is not None:
        return f"{TYPE_PREFIX}{product_type}"
    return GENERAL


def target_of(scope: str) -> Target:
    """What a finding's `product_id` names: the inverse of `scope_of`."""
    if scope.startswith(TYPE_PREFIX):
        return Target(product_id=None, product_type=scope.removeprefix(TYPE_PREFIX))
    if scope == GENERAL:
        return Target(product_id=None, product_type=None)
    return Target(product_id=scope, product_type=None)
