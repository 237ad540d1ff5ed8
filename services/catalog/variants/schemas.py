"""Request and response models of product variants (inputs forbid unknown fields)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.catalog.domain import Lifecycle, normalize_sku
from services.catalog.schemas import Attributes, CompletenessPublic
from services.catalog.variants.domain import (
    ProductContext,
    check_patch_fields,
    effective_attributes,
    normalize_axes,
    variant_completeness,
)
from shared.errors import Invalid

T = TypeVar("T")


def _rule(rule: Callable[[Any], T], value: Any) -> T:
    """Run a domain validator, turning its Invalid into a field-level validation error."""
    try:
        return rule(value)
    except Invalid as exc:
        raise ValueError(exc.detail) from None


class VariantCreate(BaseModel):
    """A new variant: its SKU, the values of the axes it varies by, and attribute overrides."""

    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, StringConstraints(max_length=100)]
    # Names, values and their count are checked by the domain (normalize_axes).
    axes: dict[str, str]
    attributes: Attributes = Field(default_factory=dict)

    @field_validator("sku")
    @classmethod
    def _sku(cls, value: str) -> str:
        return _rule(normalize_sku, value)

    @field_validator("axes")
    @classmethod
    def _axes(cls, value: dict[str, str]) -> dict[str, str]:
        return _rule(normalize_axes, value)


class VariantUpdate(BaseModel):
    """A partial update; `axes` and `attributes` are RFC 7396 merge patches (null removes)."""

    model_config = ConfigDict(extra="forbid")

    axes: dict[str, str | None] | None = None
    attributes: Attributes | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            # The domain knows which fields are read-only and how to change them instead.
            _rule(check_patch_fields, {key: None for key in data if key not in cls.model_fields})
        return data

    @model_validator(mode="after")
    def _axes_not_null(self) -> VariantUpdate:
        if "axes" in self.model_fields_set and self.axes is None:
            raise ValueError("axes cannot be null: a variant always has axis values")
        return self

    def patch(self) -> dict[str, Any]:
        """The fields the client sent, as JSON values."""
        return self.model_dump(mode="json", include=self.model_fields_set)


class VariantLifecycleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Lifecycle


class VariantPublic(BaseModel):
    """A variant; `attributes` are its overrides, `effective_attributes` what it ends up with."""

    id: str
    product_id: str
    sku: str
    axes: dict[str, str]
    attributes: dict[str, JsonValue]
    effective_attributes: dict[str, JsonValue]
    lifecycle: Lifecycle
    completeness: CompletenessPublic
    version: int
    created_at: datetime
    updated_at: datetime


def completeness_public(product: ProductContext, row: Any) -> CompletenessPublic:
    """A variant's completeness, computed now from its product (never stale)."""
    result = variant_completeness(product, row.axes, row.attributes)
    return CompletenessPublic(score=result.score, missing=list(result.missing))


def variant_public(row: Any, product: ProductContext) -> VariantPublic:
    """A `product_variant` row, with what it takes from its product, as the API shows it."""
    return VariantPublic(
        id=row.id,
        product_id=row.product_id,
        sku=row.sku,
        axes=row.axes,
        attributes=row.attributes,
        # The domain holds attribute values, which are JSON, as `object`.
        effective_attributes=cast(
            dict[str, JsonValue], effective_attributes(product.attributes, row.axes, row.attributes)
        ),
        lifecycle=Lifecycle(row.lifecycle),
        completeness=completeness_public(product, row),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
