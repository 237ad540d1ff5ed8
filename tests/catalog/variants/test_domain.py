"""Variant rules, without database, broker or HTTP."""

from __future__ import annotations

import itertools

import pytest

from services.catalog.domain import Completeness, Lifecycle, compute_completeness
from services.catalog.variants.domain import (
    MAX_AXES,
    PATCHABLE_FIELDS,
    ProductContext,
    VariantAheadOfProduct,
    axes_key,
    check_axes,
    check_new_variant,
    check_overrides,
    check_patch_fields,
    effective_attributes,
    follow_product,
    history_fields,
    merge_patch,
    normalize_axes,
    variant_completeness,
    variant_transition,
)
from shared.errors import Conflict, Invalid

DRAFT, INCOMING, ACTIVE = Lifecycle.DRAFT, Lifecycle.INCOMING, Lifecycle.ACTIVE
GONE = Lifecycle.DISCONTINUED
STATES = list(Lifecycle)


def context(**overrides: object) -> ProductContext:
    fields: dict[str, object] = {
        "name": "Tee",
        "brand": "Acme",
        "description": "Soft cotton.",
        "attributes": {"material": "cotton", "colour": "white"},
        "lifecycle": DRAFT,
        "required_attributes": ("material", "colour", "size"),
    }
    fields.update(overrides)
    return ProductContext(**fields)  # type: ignore[arg-type]


# --- axes --------------------------------------------------------------------------------------


def test_axes_are_stripped_and_sorted() -> None:
    result = normalize_axes({"size": " L ", "colour": "red"})
    assert result == {"colour": "red", "size": "L"}
    assert list(result) == ["colour", "size"]


@pytest.mark.parametrize(
    ("axes", "detail"),
    [
        ({}, "at least one axis value"),
        ([("size", "L")], "at least one axis value"),
        ({f"a{i}": "x" for i in range(MAX_AXES + 1)}, "at most 5 axes"),
        ({"1size": "L"}, "invalid axis name '1size'"),
        ({"si ze": "L"}, "invalid axis name"),
        ({"": "L"}, "invalid axis name"),
        ({"a" * 65: "L"}, "invalid axis name"),
        ({"size": ""}, "cannot be empty"),
        ({"size": "   "}, "cannot be empty"),
        ({"size": 42}, "must be a string"),
        ({"size": None}, "must be a string"),
        ({"size": ["L"]}, "must be a string"),
        ({"size": "L" * 101}, "at most 100 characters"),
    ],
)
def test_bad_axes_are_invalid(axes: object, detail: str) -> None:
    with pytest.raises(Invalid) as caught:
        normalize_axes(axes)  # type: ignore[arg-type]
    assert detail in caught.value.detail
    assert caught.value.extra["field"] == "axes"


def test_axes_key_ignores_case_and_order_but_not_values() -> None:
    assert axes_key({"size": "L", "colour": "Red"}) == axes_key({"colour": "red", "size": "l"})
    assert axes_key({"size": "L"}) != axes_key({"size": "XL"})
    assert axes_key({"size": "L"}) != axes_key({"fit": "L"})
    assert len(axes_key({"size": "L"})) == 64


def test_axes_must_fit_the_siblings() -> None:
    siblings = [{"colour": "red", "size": "L"}, {"colour": "blue", "size": "L"}]
    check_axes({"colour": "red", "size": "M"}, siblings)
    check_axes({"size": "L"}, [])
    with pytest.raises(Conflict) as caught:
        check_axes({"size": "S"}, siblings)
    assert caught.value.detail == (
        "this product's variants vary by colour, size; a variant with axes size does not fit"
    )
    assert caught.value.extra["axes"] == ["colour", "size"]
    with pytest.raises(Conflict, match="vary by colour, size"):
        check_axes({"colour": "red", "size": "M", "fit": "slim"}, siblings)


def test_two_variants_cannot_share_axis_values() -> None:
    siblings = [{"colour": "red", "size": "L"}]
    with pytest.raises(Conflict) as caught:
        check_axes({"size": "l", "colour": "RED"}, siblings)
    assert caught.value.detail == "this product already has a variant with colour=red, size=L"
    assert caught.value.extra["axes"] == {"colour": "red", "size": "L"}


# --- overrides and effective attributes --------------------------------------------------------


def test_overrides_cannot_name_an_axis_or_be_null() -> None:
    check_overrides({"size": "L"}, {"fit": "slim"})
    with pytest.raises(Invalid) as caught:
        check_overrides({"size": "L", "colour": "red"}, {"size": "XL", "colour": "blue"})
    assert caught.value.detail == "attributes.colour is an axis of this variant; change it in axes"
    assert caught.value.extra["errors"] == [
        {"loc": ["body", "attributes", "colour"], "msg": "is an axis"},
        {"loc": ["body", "attributes", "size"], "msg": "is an axis"},
    ]
    with pytest.raises(Invalid, match="override 'fit' is null"):
        check_overrides({"size": "L"}, {"fit": None})


def test_effective_attributes_layer_product_overrides_then_axes() -> None:
    result = effective_attributes(
        {"material": "cotton", "colour": "white", "fit": "regular"},
        {"colour": "red"},
        {"fit": "slim", "weight_g": 180},
    )
    assert result == {"material": "cotton", "colour": "red", "fit": "slim", "weight_g": 180}


def test_effective_attributes_leave_inputs_alone() -> None:
    product = {"a": 1}
    effective_attributes(product, {"b": "x"}, {"c": 2})
    assert product == {"a": 1}


# --- completeness ------------------------------------------------------------------------------


def test_variant_completeness_is_the_catalog_rule_on_effective_attributes() -> None:
    product = context()
    # The product lacks `size`; the variant's size axis fills it in.
    assert variant_completeness(product, {"size": "L"}, {}) == Completeness(100, ())
    # An empty override hides the product's value, and counts as missing.
    result = variant_completeness(product, {"size": "L"}, {"material": ""})
    assert result == compute_completeness(
        name="Tee",
        brand="Acme",
        description="Soft cotton.",
        attributes={"material": "", "colour": "white", "size": "L"},
        required_attributes=("material", "colour", "size"),
    )
    assert result.missing == ("attributes.material",)


def test_variant_completeness_follows_the_product() -> None:
    axes = {"fit": "slim"}
    assert variant_completeness(context(description=None), axes, {"size": "M"}).missing == (
        "description",
    )
    assert variant_completeness(context(), axes, {}).missing == ("attributes.size",)
    assert variant_completeness(context(required_attributes=()), axes, {}).score == 100


# --- patches -----------------------------------------------------------------------------------


def test_merge_patch_is_rfc_7396() -> None:
    current = {"fit": "slim", "dims": {"w": 1, "h": 2}}
    patched = merge_patch(current, {"fit": None, "dims": {"h": None, "d": 3}, "new": True})
    assert patched == {"dims": {"w": 1, "d": 3}, "new": True}
    assert current == {"fit": "slim", "dims": {"w": 1, "h": 2}}


@pytest.mark.parametrize(
    ("field", "detail"),
    [
        ("sku", "sku cannot be patched: a variant's SKU is fixed"),
        ("lifecycle", "lifecycle cannot be patched: use POST"),
        ("version", "version cannot be patched: send the version in If-Match"),
        ("id", "id cannot be patched"),
        ("product_id", "product_id cannot be patched"),
        ("colour", "unknown field 'colour'; patchable fields: attributes, axes"),
    ],
)
def test_read_only_and_unknown_fields_cannot_be_patched(field: str, detail: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_patch_fields({field: 1})
    assert detail in caught.value.detail
    assert caught.value.extra["field"] == field


def test_patchable_fields() -> None:
    assert sorted(PATCHABLE_FIELDS) == ["attributes", "axes"]
    check_patch_fields({"axes": {}, "attributes": {}})


def test_history_fields_list_each_axis() -> None:
    assert history_fields({"size": "L", "colour": "red"}, {"fit": "slim"}) == {
        "axes.size": "L",
        "axes.colour": "red",
        "attributes": {"fit": "slim"},
    }


# --- lifecycle ---------------------------------------------------------------------------------

RANK = {DRAFT: 0, INCOMING: 1, ACTIVE: 2}
MACHINE = {(DRAFT, INCOMING), (INCOMING, ACTIVE), (ACTIVE, GONE), (DRAFT, GONE), (INCOMING, GONE)}
TRIPLES = list(itertools.product(STATES, STATES, STATES))


@pytest.mark.parametrize(
    ("current", "to", "product"), TRIPLES, ids=[f"{a}->{b} under {c}" for a, b, c in TRIPLES]
)
def test_variant_transition_matrix(current: Lifecycle, to: Lifecycle, product: Lifecycle) -> None:
    allowed = (current, to) in MACHINE and (
        to is GONE or (product is not GONE and RANK[to] <= RANK[product])
    )
    if allowed:
        assert variant_transition(current, to, product=product) is to
        return
    with pytest.raises(Conflict) as caught:
        variant_transition(current, to, product=product)
    if (current, to) not in MACHINE:
        assert caught.value.detail.startswith(f"cannot move a variant from {current} to {to}")
    else:
        assert isinstance(caught.value, VariantAheadOfProduct)


def test_a_variant_cannot_get_ahead_of_its_product() -> None:
    with pytest.raises(VariantAheadOfProduct) as caught:
        variant_transition(INCOMING, ACTIVE, product=INCOMING)
    assert caught.value.status == 409
    assert caught.value.detail == (
        "a variant cannot be active while its product is incoming; move the product first"
    )
    assert caught.value.extra == {"to": "active", "product_lifecycle": "incoming"}
    with pytest.raises(VariantAheadOfProduct, match="incoming while its product is draft"):
        variant_transition(DRAFT, INCOMING, product=DRAFT)


def test_invalid_variant_transition_says_variant_and_lists_the_allowed() -> None:
    with pytest.raises(Conflict) as caught:
        variant_transition(DRAFT, ACTIVE, product=ACTIVE)
    assert caught.value.detail == (
        "cannot move a variant from draft to active; allowed from draft: incoming, discontinued"
    )
    assert caught.value.extra["allowed"] == ["incoming", "discontinued"]


def test_a_variant_can_be_discontinued_on_its_own() -> None:
    for product in (DRAFT, INCOMING, ACTIVE):
        assert variant_transition(DRAFT, GONE, product=product) is GONE


@pytest.mark.parametrize(("product_to", "variant"), list(itertools.product(STATES, STATES)))
def test_variants_follow_a_discontinued_product(product_to: Lifecycle, variant: Lifecycle) -> None:
    expected = GONE if product_to is GONE and variant is not GONE else None
    assert follow_product(product_to, variant) is expected


def test_a_discontinued_product_takes_no_new_variants() -> None:
    for state in (DRAFT, INCOMING, ACTIVE):
        check_new_variant(state)
    with pytest.raises(Conflict, match="cannot add a variant to a discontinued product"):
        check_new_variant(GONE)
