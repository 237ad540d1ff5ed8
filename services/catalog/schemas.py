"""Request and response models of the catalog API (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.catalog.domain import (
    Lifecycle,
    apply_patch,
    normalize_required_attributes,
    normalize_sku,
    validate_type_code,
)
from shared.errors import Invalid
from shared.money import Money

MAX_ATTRIBUTES = 200


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Brand = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Vendor = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
TypeCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]
AttributeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
Attributes = Annotated[dict[AttributeName, JsonValue], Field(max_length=MAX_ATTRIBUTES)]


def _domain_rule(rule: Any, value: Any) -> Any:
    """Run a domain validator, turning its Invalid into a field-level validation error."""
    try:
        return rule(value)
    except Invalid as exc:
        raise ValueError(exc.detail) from None


class CompletenessPublic(BaseModel):
    score: int = Field(ge=0, le=100)
    missing: list[str]


class Actor(BaseModel):
    """Who made a change: the API key id and its name."""

    subject: str
    name: str


class ProductTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: TypeCode
    name: Name
    required_attributes: list[str] = Field(default_factory=list, max_length=MAX_ATTRIBUTES)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return _domain_rule(validate_type_code, value)

    @field_validator("required_attributes")
    @classmethod
    def _required(cls, value: list[str]) -> list[str]:
        return list(_domain_rule(normalize_required_attributes, value))


class ProductTypePublic(BaseModel):
    code: str
    name: str
    required_attributes: list[str]
    version: int
    created_at: datetime


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, StringConstraints(max_length=100)]
    name: Name
    product_type: TypeCode
    brand: Brand
    vendor: Vendor | None = None
    attributes: Attributes = Field(default_factory=dict)
    description: Description | None = None
    cost: Money | None = None

    @field_validator("sku")
    @classmethod
    def _sku(cls, value: str) -> str:
        return _domain_rule(normalize_sku, value)


_NOT_NULL = ("name", "brand", "product_type")


class ProductUpdate(BaseModel):
    """A partial update: only the fields sent change; `null` clears an optional field.

    `attributes` is an RFC 7396 merge patch: a key set to `null` is removed.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    brand: Brand | None = None
    product_type: TypeCode | None = None
    vendor: Vendor | None = None
    description: Description | None = None
    attributes: Attributes | None = None
    cost: Money | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            # The domain knows which fields are read-only and how to change them instead.
            unknown = {key: None for key in data if key not in cls.model_fields}
            _domain_rule(lambda patch: apply_patch({}, patch), unknown)
        return data

    @model_validator(mode="after")
    def _required_not_null(self) -> ProductUpdate:
        for field in _NOT_NULL:
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self

    def patch(self) -> dict[str, Any]:
        """The fields the client sent, as JSON values (money amounts as strings)."""
        return self.model_dump(mode="json", include=self.model_fields_set)


class ProductPublic(BaseModel):
    id: str
    sku: str
    name: str
    product_type: str
    brand: str
    vendor: str | None
    attributes: dict[str, JsonValue]
    description: str | None
    cost: Money | None
    lifecycle: Lifecycle
    completeness: CompletenessPublic
    version: int
    created_at: datetime
    updated_at: datetime


class ProductStatsPublic(BaseModel):
    """Products at a glance."""

    total: int
    by_lifecycle: dict[str, int]


class LifecycleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Lifecycle


class ChangePublic(BaseModel):
    """One field's change in a product's history."""

    field: str
    old: JsonValue
    new: JsonValue
    version: int
    changed_by: Actor
    changed_at: datetime


def product_public(row: Any) -> ProductPublic:
    """A `product` table row as the API shows it."""
    return ProductPublic(
        id=row.id,
        sku=row.sku,
        name=row.name,
        product_type=row.product_type,
        brand=row.brand,
        vendor=row.vendor,
        attributes=row.attributes,
        description=row.description,
        cost=Money.of(row.cost_amount, row.cost_currency),
        lifecycle=Lifecycle(row.lifecycle),
        completeness=CompletenessPublic(
            score=row.completeness_score, missing=list(row.completeness_missing)
        ),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def product_type_public(row: Any) -> ProductTypePublic:
    """A `product_type` table row as the API shows it."""
    return ProductTypePublic(
        code=row.code,
        name=row.name,
        required_attributes=list(row.required_attributes),
        version=row.version,
        created_at=row.created_at,
    )


def change_public(row: Any) -> ChangePublic:
    """A `product_change` table row as the API shows it."""
    return ChangePublic(
        field=row.field,
        old=row.old_value,
        new=row.new_value,
        version=row.version,
        changed_by=Actor(subject=row.changed_by, name=row.changed_by_name),
        changed_at=row.changed_at,
    )
