"""Pure rules of product variants: axis values, attribute overrides, completeness, lifecycle.

A variant is one sellable version of a product (a size, a colour): its own SKU, the values
of the axes it varies by, and attribute overrides over the product's attributes.

- Axes: a non-empty map of axis name -> non-empty string. All variants of one product vary
  by the same axes (a "size L" next to a "size L, colour red" would be ambiguous), and no two
  of them have the same values; values are compared ignoring case ("Red" is "red").
- Effective attributes: the product's attributes, then the variant's overrides, then its
  axis values (an axis is an attribute of the variant: a type requiring `size` is satisfied
  by the size axis). An override cannot name an axis, which would contradict it.
- Completeness: the catalog's `compute_completeness` on the product's name, brand and
  description and the variant's effective attributes. It is computed on read, so it follows
  every change of the product, its attributes or its type's required attributes.
- Lifecycle: the product's state machine, and a variant is never ahead of its product
  (draft < incoming < active): it can be incoming only once the product is incoming or
  active, and active only once the product is active. A variant can be discontinued on its
  own at any time; discontinuing the product discontinues all its variants; a discontinued
  product takes no new variants.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from services.catalog.domain import (
    Completeness,
    InvalidTransition,
    Lifecycle,
    apply_patch,
    compute_completeness,
    transition,
)
from shared.errors import Conflict, FieldError, Invalid, invalid_input

MAX_AXES = 5
MAX_AXIS_VALUE = 100
# Axes are attributes of the variant, so their names are attribute names.
_AXIS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")

_RANK: Mapping[Lifecycle, int] = MappingProxyType(
    {Lifecycle.DRAFT: 0, Lifecycle.INCOMING: 1, Lifecycle.ACTIVE: 2}
)


@dataclass(frozen=True)
class ProductContext:
    """What a variant takes from its product: base fields, attributes, lifecycle, type rules."""

    name: str | None
    brand: str | None
    description: str | None
    attributes: Mapping[str, object]
    lifecycle: Lifecycle
    required_attributes: Sequence[str] = field(default_factory=tuple)


def normalize_axes(axes: Mapping[str, object]) -> dict[str, str]:
    """Check the axis values and return them stripped, sorted by axis name."""
    if not isinstance(axes, Mapping) or not axes:
        raise Invalid('a variant needs at least one axis value, e.g. {"size": "L"}', field="axes")
    if len(axes) > MAX_AXES:
        raise Invalid(f"a variant has at most {MAX_AXES} axes", field="axes")
    result: dict[str, str] = {}
    for name in sorted(axes):
        raw = axes[name]
        if not isinstance(name, str) or not _AXIS_NAME.fullmatch(name):
            raise Invalid(
                f"invalid axis name {name!r}: use 1-64 of A-Z, a-z, 0-9 or '_', "
                "starting with a letter",
                field="axes",
            )
        value = raw.strip() if isinstance(raw, str) else None
        if value is None:
            raise Invalid(f"the value of axis {name!r} must be a string", field="axes")
        if not value:
            raise Invalid(f"the value of axis {name!r} cannot be empty", field="axes")
        if len(value) > MAX_AXIS_VALUE:
            raise Invalid(
                f"the value of axis {name!r} has at most {MAX_AXIS_VALUE} characters",
                field="axes",
            )
        result[name] = value
    return result


def axes_key(axes: Mapping[str, str]) -> str:
    """A fixed-size key of the axis values, equal for values that differ only in case."""
    canonical = {name: value.casefold() for name, value in axes.items()}
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


def check_axes(axes: Mapping[str, str], siblings: Sequence[Mapping[str, str]]) -> None:
    """409 unless the axes match the siblings' axis names and no sibling has the same values."""
    if siblings and set(siblings[0]) != set(axes):
        names = sorted(siblings[0])
        raise Conflict(
            f"this product's variants vary by {', '.join(names)}; "
            f"a variant with axes {', '.join(sorted(axes))} does not fit",
            axes=names,
        )
    key = axes_key(axes)
    for sibling in siblings:
        if axes_key(sibling) == key:
            shown = ", ".join(f"{name}={value}" for name, value in sorted(sibling.items()))
            raise Conflict(f"this product already has a variant with {shown}", axes=dict(sibling))


def check_overrides(axes: Mapping[str, str], overrides: Mapping[str, object]) -> None:
    """422 for an override of an axis, or an override set to null."""
    clash = sorted(set(axes) & set(overrides))
    if clash:
        raise invalid_input(
            [FieldError(("attributes", name), "is an axis") for name in clash],
            detail=f"attributes.{clash[0]} is an axis of this variant; change it in axes",
            field="attributes",
        )
    nulls = sorted(name for name, value in overrides.items() if value is None)
    if nulls:
        raise invalid_input(
            [FieldError(("attributes", name), "is null") for name in nulls],
            detail=(
                f"attribute override {nulls[0]!r} is null; omit it to inherit the product's value"
            ),
            field="attributes",
        )


def effective_attributes(
    product_attributes: Mapping[str, object],
    axes: Mapping[str, str],
    overrides: Mapping[str, object],
) -> dict[str, object]:
    """The product's attributes, overridden by the variant's, then its axis values."""
    return {**product_attributes, **overrides, **axes}


def variant_completeness(
    product: ProductContext, axes: Mapping[str, str], overrides: Mapping[str, object]
) -> Completeness:
    """The catalog's completeness rule on the variant's effective attributes."""
    return compute_completeness(
        name=product.name,
        brand=product.brand,
        description=product.description,
        attributes=effective_attributes(product.attributes, axes, overrides),
        required_attributes=product.required_attributes,
    )


def merge_patch(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396 merge of `patch` into `current`, exactly as product attributes are patched."""
    merged = apply_patch({"attributes": current}, {"attributes": patch})["attributes"]
    return dict(merged)  # type: ignore[call-overload]


_READ_ONLY_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "lifecycle": "use POST /v1/products/{id}/variants/{variant_id}/lifecycle to change it",
        "sku": "a variant's SKU is fixed at creation",
        "version": "send the version in If-Match instead",
        "id": "a variant's id never changes",
        "product_id": "a variant belongs to one product for good",
    }
)
PATCHABLE_FIELDS: frozenset[str] = frozenset({"axes", "attributes"})


def check_patch_fields(patch: Mapping[str, object]) -> None:
    """422 for a read-only or unknown field, saying how to change it instead."""
    for name in patch:
        if name in _READ_ONLY_HINTS:
            raise Invalid(f"{name} cannot be patched: {_READ_ONLY_HINTS[name]}", field=name)
        if name not in PATCHABLE_FIELDS:
            raise Invalid(
                f"unknown field {name!r}; patchable fields: {', '.join(sorted(PATCHABLE_FIELDS))}",
                field=name,
            )


def history_fields(axes: Mapping[str, str], overrides: Mapping[str, object]) -> dict[str, object]:
    """The variant's fields in the shape `diff_fields` compares: one `axes.<name>` per axis."""
    return {**{f"axes.{name}": value for name, value in axes.items()}, "attributes": overrides}


def check_new_variant(product: Lifecycle) -> None:
    """409 when the product takes no new variants (it is discontinued)."""
    if Lifecycle(product) is Lifecycle.DISCONTINUED:
        raise Conflict(
            "cannot add a variant to a discontinued product", product_lifecycle=product.value
        )


class VariantAheadOfProduct(Conflict):
    """A variant move that would put the variant ahead of its product."""

    def __init__(self, to: Lifecycle, product: Lifecycle) -> None:
        super().__init__(
            f"a variant cannot be {to.value} while its product is {product.value}; "
            "move the product first",
            to=to.value,
            product_lifecycle=product.value,
        )


def variant_transition(current: Lifecycle, to: Lifecycle, *, product: Lifecycle) -> Lifecycle:
    """The variant's new state; 409 if the state machine or the product forbids it."""
    product = Lifecycle(product)
    try:
        target = transition(current, to)
    except InvalidTransition as exc:
        detail = exc.detail.replace("move a product", "move a variant", 1)
        raise Conflict(detail, **exc.extra) from None
    if target is Lifecycle.DISCONTINUED:
        return target
    if product is Lifecycle.DISCONTINUED or _RANK[target] > _RANK[product]:
        raise VariantAheadOfProduct(target, product)
    return target


def follow_product(product_to: Lifecycle, variant: Lifecycle) -> Lifecycle | None:
    """The state a variant must take when its product moves to `product_to`, if any."""
    if Lifecycle(product_to) is Lifecycle.DISCONTINUED and Lifecycle(variant) is not (
        Lifecycle.DISCONTINUED
    ):
        return Lifecycle.DISCONTINUED
    return None
