"""Pure catalog rules: lifecycle, completeness, validation, field history and patches."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from shared.errors import Conflict, Invalid


class Lifecycle(StrEnum):
    """Where a product stands between its first draft and its withdrawal."""

    DRAFT = "draft"
    INCOMING = "incoming"
    ACTIVE = "active"
    DISCONTINUED = "discontinued"


ALLOWED_TRANSITIONS: Mapping[Lifecycle, frozenset[Lifecycle]] = MappingProxyType(
    {
        Lifecycle.DRAFT: frozenset({Lifecycle.INCOMING, Lifecycle.DISCONTINUED}),
        Lifecycle.INCOMING: frozenset({Lifecycle.ACTIVE, Lifecycle.DISCONTINUED}),
        Lifecycle.ACTIVE: frozenset({Lifecycle.DISCONTINUED}),
        Lifecycle.DISCONTINUED: frozenset(),
    }
)


class InvalidTransition(Conflict):
    """A lifecycle change the state machine does not allow."""

    def __init__(self, current: Lifecycle, to: Lifecycle) -> None:
        # Declaration order, not set order, so the message is the same on every run.
        allowed = [state.value for state in Lifecycle if state in ALLOWED_TRANSITIONS[current]]
        super().__init__(
            f"cannot move a product from {current.value} to {to.value}; "
            f"allowed from {current.value}: {', '.join(allowed) or 'none'}",
            current=current.value,
            to=to.value,
            allowed=allowed,
        )
        self.current = current
        self.to = to


def transition(current: Lifecycle, to: Lifecycle) -> Lifecycle:
    """Return the new lifecycle state, or raise InvalidTransition."""
    current, to = Lifecycle(current), Lifecycle(to)
    if to not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(current, to)
    return to


BASE_FIELDS: tuple[str, ...] = ("name", "brand", "description")


@dataclass(frozen=True)
class Completeness:
    """How much of a product's required content is filled in (score 0..100)."""

    score: int
    missing: tuple[str, ...]


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    # 0 and False are real attribute values; only empty containers count as missing.
    if isinstance(value, list | tuple | dict | set | frozenset):
        return not value
    return False


def compute_completeness(
    *,
    name: str | None,
    brand: str | None,
    description: str | None,
    attributes: Mapping[str, object],
    required_attributes: Sequence[str],
) -> Completeness:
    """Score the base fields plus the product type's required attributes."""
    checks: list[tuple[str, object]] = list(
        zip(BASE_FIELDS, (name, brand, description), strict=True)
    )
    checks += [(f"attributes.{key}", attributes.get(key)) for key in required_attributes]
    missing = tuple(field for field, value in checks if _is_empty(value))
    total, present = len(checks), len(checks) - len(missing)
    # Half-up in integers: round() would send 12.5 to 12 but 37.5 to 38.
    score = (200 * present + total) // (2 * total)
    if missing:
        # 100 must mean complete: the launch gate catalog_complete relies on it.
        score = min(score, 99)
    return Completeness(score=score, missing=missing)


_TYPE_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def validate_type_code(code: str) -> str:
    """Return the product type code if it is a lowercase slug, else raise Invalid."""
    # fullmatch, not match with $: "$" would accept a trailing newline.
    if not isinstance(code, str) or not _TYPE_CODE.fullmatch(code):
        raise Invalid(
            f"invalid product type code {code!r}: use 1-64 of a-z, 0-9, '_' or '-', "
            "starting with a letter or digit",
            field="code",
        )
    return code


def normalize_required_attributes(names: Sequence[str]) -> tuple[str, ...]:
    """Strip the attribute names and reject empty, malformed or duplicate ones."""
    # A bare string is a Sequence[str] too, and would be split into letters.
    if isinstance(names, str):
        raise Invalid("required_attributes must be a list of names", field="required_attributes")
    result: list[str] = []
    for raw in names:
        name = raw.strip() if isinstance(raw, str) else None
        if name == "":
            raise Invalid("required attribute names cannot be empty", field="required_attributes")
        if name is None or not _ATTRIBUTE_NAME.fullmatch(name):
            raise Invalid(
                f"invalid attribute name {raw!r}: use 1-64 of A-Z, a-z, 0-9 or '_', "
                "starting with a letter",
                field="required_attributes",
            )
        if name in result:
            raise Invalid(f"duplicate required attribute {name!r}", field="required_attributes")
        result.append(name)
    return tuple(result)


def normalize_sku(sku: str) -> str:
    """Strip the SKU (case is kept) and check its characters, else raise Invalid."""
    value = sku.strip() if isinstance(sku, str) else ""
    if not _SKU.fullmatch(value):
        raise Invalid(
            f"invalid SKU {sku!r}: use 1-64 of A-Z, a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit",
            field="sku",
        )
    return value


@dataclass(frozen=True)
class FieldChange:
    """One field's value before and after a change, for the product's history."""

    field: str
    old: object
    new: object


def _attributes_of(fields: Mapping[str, object]) -> Mapping[str, object]:
    value = fields.get("attributes")
    return value if isinstance(value, Mapping) else {}


def _same(old: object, new: object) -> bool:
    """JSON equality: Python's True == 1 would hide a change from 1 to true."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return old.keys() == new.keys() and all(_same(old[key], new[key]) for key in old)
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        return len(old) == len(new) and all(map(_same, old, new))
    return old == new


def diff_fields(before: Mapping[str, object], after: Mapping[str, object]) -> list[FieldChange]:
    """List the changed fields, attributes per key as attributes.<key>, sorted by field."""
    changes: list[FieldChange] = []
    for field in before.keys() | after.keys():
        if field == "attributes":
            continue
        old, new = before.get(field), after.get(field)
        if not _same(old, new):
            changes.append(FieldChange(field, old, new))
    old_attrs, new_attrs = _attributes_of(before), _attributes_of(after)
    for key in old_attrs.keys() | new_attrs.keys():
        old, new = old_attrs.get(key), new_attrs.get(key)
        if not _same(old, new):
            changes.append(FieldChange(f"attributes.{key}", old, new))
    return sorted(changes, key=lambda change: change.field)


PATCHABLE_FIELDS: frozenset[str] = frozenset(
    {"name", "brand", "vendor", "description", "attributes", "cost", "product_type"}
)
_READ_ONLY_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "lifecycle": "use POST /v1/products/{id}/lifecycle to change it",
        "sku": "a product's SKU is fixed at creation",
        "version": "send the version in If-Match instead",
        "id": "a product's id never changes",
    }
)


def _merge_patch(target: object, patch: object) -> object:
    """Apply an RFC 7396 JSON merge patch to target."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def apply_patch(current: Mapping[str, object], patch: Mapping[str, object]) -> dict[str, object]:
    """Return the product's fields with the patch applied; attributes are merge-patched."""
    for field in patch:
        if field in _READ_ONLY_HINTS:
            raise Invalid(f"{field} cannot be patched: {_READ_ONLY_HINTS[field]}", field=field)
        if field not in PATCHABLE_FIELDS:
            raise Invalid(
                f"unknown field {field!r}; patchable fields: {', '.join(sorted(PATCHABLE_FIELDS))}",
                field=field,
            )
    # Deep copies so the caller's mappings and the result never share mutable values.
    result = copy.deepcopy(dict(current))
    for field, value in copy.deepcopy(dict(patch)).items():
        if field != "attributes":
            result[field] = value
        elif value is None:
            result["attributes"] = {}
        elif isinstance(value, Mapping):
            result["attributes"] = _merge_patch(_attributes_of(result), value)
        else:
            raise Invalid("attributes must be an object", field="attributes")
    return result
