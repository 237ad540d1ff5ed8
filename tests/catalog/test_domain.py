"""Catalog domain rules, without database, broker or HTTP."""

from __future__ import annotations

import itertools

import pytest

from services.catalog.domain import (
    ALLOWED_TRANSITIONS,
    PATCHABLE_FIELDS,
    Completeness,
    FieldChange,
    InvalidTransition,
    Lifecycle,
    apply_patch,
    compute_completeness,
    diff_fields,
    normalize_required_attributes,
    normalize_sku,
    transition,
    validate_type_code,
)
from shared.errors import Conflict, DomainError, Invalid

DRAFT, INCOMING, ACTIVE = Lifecycle.DRAFT, Lifecycle.INCOMING, Lifecycle.ACTIVE
GONE = Lifecycle.DISCONTINUED
ALLOWED = {
    (DRAFT, INCOMING),
    (INCOMING, ACTIVE),
    (ACTIVE, GONE),
    (DRAFT, GONE),
    (INCOMING, GONE),
}
ALL_PAIRS = list(itertools.product(Lifecycle, repeat=2))


# --- lifecycle ---------------------------------------------------------------------------------


def test_lifecycle_values_are_lowercase_strings() -> None:
    assert [state.value for state in Lifecycle] == ["draft", "incoming", "active", "discontinued"]
    assert Lifecycle("active") == "active"


def test_allowed_transitions_table_matches_the_rules() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(Lifecycle)
    table = {(src, dst) for src, targets in ALLOWED_TRANSITIONS.items() for dst in targets}
    assert table == ALLOWED
    assert all(isinstance(targets, frozenset) for targets in ALLOWED_TRANSITIONS.values())


def test_allowed_transitions_cannot_be_mutated() -> None:
    with pytest.raises(TypeError):
        ALLOWED_TRANSITIONS[DRAFT] = frozenset()  # type: ignore[index]


@pytest.mark.parametrize(("current", "to"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_transition_matrix(current: Lifecycle, to: Lifecycle) -> None:
    if (current, to) in ALLOWED:
        assert transition(current, to) is to
        return
    with pytest.raises(InvalidTransition) as caught:
        transition(current, to)
    err = caught.value
    assert current.value in err.detail
    assert to.value in err.detail
    for target in ALLOWED_TRANSITIONS[current]:
        assert target.value in err.detail.split("allowed from", 1)[1]
    assert err.extra["current"] == current.value
    assert err.extra["to"] == to.value
    assert set(err.extra["allowed"]) == {t.value for t in ALLOWED_TRANSITIONS[current]}


def test_invalid_transition_is_a_conflict() -> None:
    with pytest.raises(Conflict) as caught:
        transition(ACTIVE, DRAFT)
    assert isinstance(caught.value, DomainError)
    assert caught.value.status == 409
    # Caught as any conflict; the states it names are the lifecycle error's own.
    assert isinstance(caught.value, InvalidTransition)
    assert caught.value.current is ACTIVE
    assert caught.value.to is DRAFT


def test_invalid_transition_message_lists_targets_in_lifecycle_order() -> None:
    with pytest.raises(InvalidTransition) as caught:
        transition(DRAFT, ACTIVE)
    assert caught.value.detail == (
        "cannot move a product from draft to active; allowed from draft: incoming, discontinued"
    )
    assert caught.value.extra["allowed"] == ["incoming", "discontinued"]


def test_invalid_transition_from_terminal_state_says_none_allowed() -> None:
    with pytest.raises(InvalidTransition) as caught:
        transition(GONE, GONE)
    assert caught.value.detail.endswith("allowed from discontinued: none")
    assert caught.value.extra["allowed"] == []


def test_transition_accepts_plain_strings_and_returns_the_enum() -> None:
    result = transition("draft", "incoming")  # type: ignore[arg-type]
    assert result is Lifecycle.INCOMING


# --- completeness ------------------------------------------------------------------------------


def completeness(**overrides: object) -> Completeness:
    fields: dict[str, object] = {
        "name": "Trail Shoe",
        "brand": "Acme",
        "description": "Light and grippy.",
        "attributes": {},
        "required_attributes": (),
    }
    fields.update(overrides)
    return compute_completeness(**fields)  # type: ignore[arg-type]


def test_completeness_all_base_fields_present_scores_100() -> None:
    assert completeness() == Completeness(score=100, missing=())


def test_completeness_with_all_required_attributes_scores_100() -> None:
    result = completeness(
        attributes={"color": "red", "size": 42, "extra": "ignored"},
        required_attributes=["color", "size"],
    )
    assert result == Completeness(score=100, missing=())


def test_completeness_nothing_filled_scores_0() -> None:
    result = completeness(
        name=None, brand=None, description=None, required_attributes=["color", "size"]
    )
    assert result.score == 0
    assert result.missing == (
        "name",
        "brand",
        "description",
        "attributes.color",
        "attributes.size",
    )


@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n", [], {}, (), set()])
def test_completeness_treats_blank_values_as_missing(blank: object) -> None:
    result = completeness(
        description=blank, attributes={"color": blank}, required_attributes=["color"]
    )
    assert result.missing == ("description", "attributes.color")
    assert result.score == 50


@pytest.mark.parametrize("value", [0, 0.0, False, "x", " x ", [0], {"a": None}, ["", ""]])
def test_completeness_counts_falsy_but_real_values_as_present(value: object) -> None:
    result = completeness(attributes={"value": value}, required_attributes=["value"])
    assert result == Completeness(score=100, missing=())


def test_completeness_reports_missing_attribute_absent_from_attributes() -> None:
    result = completeness(attributes={"color": "red"}, required_attributes=["color", "material"])
    assert result.missing == ("attributes.material",)
    assert result.score == 80


def test_completeness_missing_follows_base_then_product_type_order() -> None:
    result = completeness(
        name="", description=None, required_attributes=["zeta", "alpha", "mid"], attributes={}
    )
    assert result.missing == (
        "name",
        "description",
        "attributes.zeta",
        "attributes.alpha",
        "attributes.mid",
    )


@pytest.mark.parametrize(
    ("present", "total", "score"),
    [
        (1, 3, 33),  # 33.3 rounds down
        (2, 3, 67),  # 66.7 rounds up
        (1, 8, 13),  # 12.5 rounds half up (round() would give 12)
        (3, 8, 38),  # 37.5 rounds half up
        (5, 8, 63),  # 62.5 rounds half up (round() would give 62)
        (4, 6, 67),
        (0, 5, 0),
        (1, 201, 0),  # 0.497 rounds to 0
    ],
)
def test_completeness_score_rounding(present: int, total: int, score: int) -> None:
    required = [f"a{i}" for i in range(total - 3)]
    filled = ["name", "brand", "description", *(f"attributes.{name}" for name in required)]
    values = {field: ("x" if i < present else None) for i, field in enumerate(filled)}
    result = compute_completeness(
        name=values["name"],  # type: ignore[arg-type]
        brand=values["brand"],  # type: ignore[arg-type]
        description=values["description"],  # type: ignore[arg-type]
        attributes={name: values[f"attributes.{name}"] for name in required},
        required_attributes=required,
    )
    assert result.score == score
    assert len(result.missing) == total - present


def test_completeness_score_is_below_100_while_anything_is_missing() -> None:
    # 199 of 200 would round to 100; 100 must still mean complete.
    required = [f"a{i}" for i in range(197)]
    attributes = {name: "x" for name in required[:-1]}
    result = completeness(attributes=attributes, required_attributes=required)
    assert result.missing == ("attributes.a196",)
    assert result.score == 99


def test_completeness_is_frozen() -> None:
    result = completeness()
    with pytest.raises(AttributeError):
        result.score = 1  # type: ignore[misc]


# --- product type validation -------------------------------------------------------------------


@pytest.mark.parametrize("code", ["shoes", "a", "0", "trail-shoe_v2", "9lives", "a" * 64])
def test_validate_type_code_accepts_lowercase_slugs(code: str) -> None:
    assert validate_type_code(code) == code


@pytest.mark.parametrize(
    "code",
    ["", "Shoes", "-shoes", "_shoes", "trail shoe", "shoes.v2", "a" * 65, "shoes\n", " shoes", "é"],
)
def test_validate_type_code_rejects_other_codes(code: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate_type_code(code)
    assert caught.value.status == 422
    assert caught.value.extra["field"] == "code"


def test_validate_type_code_rejects_non_strings() -> None:
    with pytest.raises(Invalid):
        validate_type_code(None)  # type: ignore[arg-type]


def test_normalize_required_attributes_strips_and_keeps_order() -> None:
    names = [" size ", "color", "Material_2"]
    assert normalize_required_attributes(names) == ("size", "color", "Material_2")


def test_normalize_required_attributes_accepts_empty_list() -> None:
    assert normalize_required_attributes([]) == ()


@pytest.mark.parametrize("name", ["", "   "])
def test_normalize_required_attributes_rejects_empty_names(name: str) -> None:
    with pytest.raises(Invalid, match="cannot be empty"):
        normalize_required_attributes(["color", name])


@pytest.mark.parametrize("name", ["1size", "_size", "size-eu", "size.eu", "a b", "a" * 65, None])
def test_normalize_required_attributes_rejects_malformed_names(name: str) -> None:
    with pytest.raises(Invalid, match="invalid attribute name"):
        normalize_required_attributes([name])


def test_normalize_required_attributes_accepts_longest_name() -> None:
    assert normalize_required_attributes(["a" * 64]) == ("a" * 64,)


@pytest.mark.parametrize("names", [["color", "color"], ["color", " color "]])
def test_normalize_required_attributes_rejects_duplicates(names: list[str]) -> None:
    with pytest.raises(Invalid, match="duplicate required attribute 'color'"):
        normalize_required_attributes(names)


def test_normalize_required_attributes_rejects_a_bare_string() -> None:
    with pytest.raises(Invalid, match="list of names"):
        normalize_required_attributes("color")


# --- SKU ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "sku"),
    [
        ("ABC-123", "ABC-123"),
        ("  abc.123_x  ", "abc.123_x"),
        ("MixedCase", "MixedCase"),
        ("0", "0"),
        ("A" * 64, "A" * 64),
    ],
)
def test_normalize_sku_strips_and_keeps_case(raw: str, sku: str) -> None:
    assert normalize_sku(raw) == sku


@pytest.mark.parametrize(
    "raw", ["", "   ", "-abc", ".abc", "_abc", "ab c", "ab/c", "A" * 65, "äbc", "ab#1", None]
)
def test_normalize_sku_rejects_other_values(raw: str) -> None:
    with pytest.raises(Invalid) as caught:
        normalize_sku(raw)
    assert caught.value.extra["field"] == "sku"


# --- field history -----------------------------------------------------------------------------


def test_diff_fields_unchanged_is_empty() -> None:
    fields = {"name": "Shoe", "cost": "10.00", "attributes": {"color": "red"}}
    assert diff_fields(fields, dict(fields)) == []


def test_diff_fields_top_level_changes() -> None:
    before = {"name": "Shoe", "brand": "Acme", "cost": "10.00"}
    after = {"name": "Trail Shoe", "brand": "Acme", "cost": "12.00"}
    assert diff_fields(before, after) == [
        FieldChange("cost", "10.00", "12.00"),
        FieldChange("name", "Shoe", "Trail Shoe"),
    ]


def test_diff_fields_added_and_removed_top_level_fields() -> None:
    assert diff_fields({"name": "Shoe"}, {"name": "Shoe", "vendor": "V1"}) == [
        FieldChange("vendor", None, "V1")
    ]
    assert diff_fields({"name": "Shoe", "vendor": "V1"}, {"name": "Shoe"}) == [
        FieldChange("vendor", "V1", None)
    ]


def test_diff_fields_attributes_per_key() -> None:
    before = {"attributes": {"color": "red", "size": 42, "fit": "narrow"}}
    after = {"attributes": {"color": "blue", "size": 42, "material": "mesh"}}
    assert diff_fields(before, after) == [
        FieldChange("attributes.color", "red", "blue"),
        FieldChange("attributes.fit", "narrow", None),
        FieldChange("attributes.material", None, "mesh"),
    ]


def test_diff_fields_nested_attribute_values_compare_whole() -> None:
    before = {"attributes": {"dims": {"w": 1, "h": 2}}}
    after = {"attributes": {"dims": {"w": 1, "h": 3}}}
    assert diff_fields(before, after) == [
        FieldChange("attributes.dims", {"w": 1, "h": 2}, {"w": 1, "h": 3})
    ]


def test_diff_fields_attributes_missing_or_none_on_one_side() -> None:
    assert diff_fields({}, {"attributes": {"color": "red"}}) == [
        FieldChange("attributes.color", None, "red")
    ]
    assert diff_fields({"attributes": {"color": "red"}}, {"attributes": None}) == [
        FieldChange("attributes.color", "red", None)
    ]


def test_diff_fields_tells_booleans_from_numbers() -> None:
    before = {"attributes": {"waterproof": 1, "dims": {"flat": 0}, "tags": [1]}}
    after = {"attributes": {"waterproof": True, "dims": {"flat": False}, "tags": [True]}}
    fields = [change.field for change in diff_fields(before, after)]
    assert fields == ["attributes.dims", "attributes.tags", "attributes.waterproof"]
    assert diff_fields({"attributes": {"n": 1}}, {"attributes": {"n": 1.0}}) == []


def test_diff_fields_sorted_by_field_name_across_kinds() -> None:
    before = {"name": "a", "brand": "x", "attributes": {"z": 1, "b": 1}}
    after = {"name": "b", "brand": "y", "attributes": {"z": 2, "b": 2}}
    fields = [change.field for change in diff_fields(before, after)]
    assert fields == ["attributes.b", "attributes.z", "brand", "name"]


# --- patches -----------------------------------------------------------------------------------

CURRENT: dict[str, object] = {
    "id": "p-1",
    "sku": "SHOE-1",
    "version": 3,
    "lifecycle": "draft",
    "name": "Shoe",
    "brand": "Acme",
    "description": None,
    "cost": "10.00",
    "attributes": {"color": "red", "size": 42, "dims": {"w": 1, "h": 2}},
}


def test_apply_patch_replaces_plain_fields_and_keeps_the_rest() -> None:
    result = apply_patch(CURRENT, {"name": "Trail Shoe", "cost": "12.50", "vendor": "V1"})
    assert result == {**CURRENT, "name": "Trail Shoe", "cost": "12.50", "vendor": "V1"}


def test_apply_patch_can_set_a_field_to_none() -> None:
    assert apply_patch(CURRENT, {"brand": None})["brand"] is None


def test_apply_patch_empty_patch_returns_equal_copy() -> None:
    result = apply_patch(CURRENT, {})
    assert result == CURRENT
    assert result is not CURRENT


def test_apply_patch_merges_attributes() -> None:
    result = apply_patch(CURRENT, {"attributes": {"color": "blue", "material": "mesh"}})
    assert result["attributes"] == {
        "color": "blue",
        "size": 42,
        "dims": {"w": 1, "h": 2},
        "material": "mesh",
    }


def test_apply_patch_attribute_none_removes_the_key() -> None:
    result = apply_patch(CURRENT, {"attributes": {"size": None, "absent": None}})
    assert result["attributes"] == {"color": "red", "dims": {"w": 1, "h": 2}}


def test_apply_patch_merges_nested_attribute_objects() -> None:
    result = apply_patch(CURRENT, {"attributes": {"dims": {"h": 3, "w": None, "d": 4}}})
    assert result["attributes"]["dims"] == {"h": 3, "d": 4}  # type: ignore[index]


def test_apply_patch_lists_replace_rather_than_merge() -> None:
    current = {"attributes": {"tags": ["a", "b"]}}
    assert apply_patch(current, {"attributes": {"tags": ["c"]}}) == {"attributes": {"tags": ["c"]}}


def test_apply_patch_attributes_on_product_without_attributes() -> None:
    assert apply_patch({"name": "Shoe"}, {"attributes": {"color": "red"}}) == {
        "name": "Shoe",
        "attributes": {"color": "red"},
    }


def test_apply_patch_attributes_none_clears_them() -> None:
    assert apply_patch(CURRENT, {"attributes": None})["attributes"] == {}


@pytest.mark.parametrize("value", ["red", ["red"], 1])
def test_apply_patch_rejects_non_object_attributes(value: object) -> None:
    with pytest.raises(Invalid, match="attributes must be an object"):
        apply_patch(CURRENT, {"attributes": value})


def test_apply_patch_does_not_mutate_or_alias_inputs() -> None:
    current = {"attributes": {"dims": {"w": 1}, "tags": ["a"]}}
    patch = {"attributes": {"dims": {"h": 2}, "new": ["x"]}}
    result = apply_patch(current, patch)
    result["attributes"]["tags"].append("b")  # type: ignore[index]
    result["attributes"]["new"].append("y")  # type: ignore[index]
    assert current == {"attributes": {"dims": {"w": 1}, "tags": ["a"]}}
    assert patch == {"attributes": {"dims": {"h": 2}, "new": ["x"]}}


@pytest.mark.parametrize("field", sorted(PATCHABLE_FIELDS))
def test_apply_patch_accepts_every_patchable_field(field: str) -> None:
    value = {"k": "v"} if field == "attributes" else "new"
    assert field in apply_patch({}, {field: value})


def test_patchable_fields_are_exactly_the_documented_ones() -> None:
    documented = {"name", "brand", "vendor", "description", "attributes", "cost", "product_type"}
    assert documented == PATCHABLE_FIELDS


@pytest.mark.parametrize("field", ["lifecycle", "sku", "version", "id"])
def test_apply_patch_rejects_read_only_fields(field: str) -> None:
    with pytest.raises(Invalid) as caught:
        apply_patch(CURRENT, {"name": "ok", field: "x"})
    assert caught.value.detail.startswith(f"{field} cannot be patched")
    assert caught.value.extra["field"] == field


def test_apply_patch_lifecycle_hint_points_to_the_lifecycle_endpoint() -> None:
    with pytest.raises(Invalid, match=r"POST /v1/products/\{id\}/lifecycle"):
        apply_patch(CURRENT, {"lifecycle": "active"})


@pytest.mark.parametrize("field", ["status", "created_at", "Name", "attributes.color"])
def test_apply_patch_rejects_unknown_fields_by_name(field: str) -> None:
    with pytest.raises(Invalid) as caught:
        apply_patch(CURRENT, {field: "x"})
    assert repr(field) in caught.value.detail
    assert caught.value.extra["field"] == field


def test_apply_patch_rejects_before_applying_anything() -> None:
    current = dict(CURRENT)
    with pytest.raises(Invalid):
        apply_patch(current, {"name": "changed", "sku": "X"})
    assert current == CURRENT


def test_patch_then_diff_gives_the_history_entries() -> None:
    after = apply_patch(
        CURRENT, {"name": "Trail Shoe", "attributes": {"size": None, "fit": "wide"}}
    )
    assert diff_fields(CURRENT, after) == [
        FieldChange("attributes.fit", None, "wide"),
        FieldChange("attributes.size", 42, None),
        FieldChange("name", "Shoe", "Trail Shoe"),
    ]
