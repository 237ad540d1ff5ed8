"""Domain errors refuse extra fields that would overwrite the problem's own; field-level 422s
have the shape request validation gives them."""

from __future__ import annotations

import pytest

from shared.errors import Conflict, FieldError, field_error, invalid_input


@pytest.mark.parametrize("field", ["type", "title", "status", "detail", "slug"])
def test_extras_cannot_shadow_problem_fields(field: str) -> None:
    with pytest.raises(TypeError, match=field):
        Conflict("no", **{field: "x"})


def test_other_extras_are_kept() -> None:
    assert Conflict("no", current_status="dismissed").extra == {"current_status": "dismissed"}


def test_field_error_names_one_field_as_request_validation_does() -> None:
    error = field_error("guardrails.floor", "too low")
    assert error.status == 422
    assert error.detail == "guardrails.floor: too low"
    assert error.extra == {
        "field": "guardrails.floor",
        "errors": [{"loc": ["body", "guardrails", "floor"], "msg": "too low"}],
    }
    query = field_error("cursor", "malformed cursor", where="query", detail="pass it unchanged")
    assert query.detail == "pass it unchanged"
    assert query.extra["errors"] == [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]


def test_invalid_input_lists_every_error_and_sums_them_up() -> None:
    errors = [FieldError((1, "name"), "duplicate"), FieldError((2, "weight"), "too heavy")]
    error = invalid_input(errors, what="criteria", product_type="kettle")
    assert error.detail == "invalid criteria: 1.name: duplicate (and 1 more)"
    assert error.extra == {
        "errors": [
            {"loc": ["body", "1", "name"], "msg": "duplicate"},
            {"loc": ["body", "2", "weight"], "msg": "too heavy"},
        ],
        "product_type": "kettle",
    }
    # An error about the input as a whole is placed at the input's name.
    assert invalid_input([FieldError((), "empty")], what="criteria").detail == (
        "invalid criteria: criteria: empty"
    )
    assert invalid_input([FieldError(("scopes",), "unknown")]).detail == "scopes: unknown"
