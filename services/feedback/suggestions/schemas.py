"""Request and response models of the suggestions API (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.feedback.ingest.intake import ProductId, Subject, Text
from services.feedback.suggestions.domain import TYPE_CODE

TypeCode = Annotated[str, StringConstraints(pattern=TYPE_CODE)]


class SuggestionCreate(BaseModel):
    """An idea for a future specification, from someone on the product team."""

    model_config = ConfigDict(extra="forbid")

    text: Text = Field(description="the idea, 1-5,000 characters")
    title: Subject | None = Field(default=None, description="a title, up to 200 characters")
    product_id: ProductId | None = Field(default=None, description="the product it is about")
    product_type: TypeCode | None = Field(
        default=None, description="or the product type it is about (a catalog type code)"
    )

    @model_validator(mode="after")
    def _one_target(self) -> SuggestionCreate:
        if self.product_id is not None and self.product_type is not None:
            raise ValueError("name a product_id or a product_type, not both")
        return self


class SuggestionPublic(BaseModel):
    """A suggestion as stored: it waits for triage like a customer's text."""

    event_id: str = Field(description="its id among customer events (`source` is the filer)")
    product_id: str | None
    product_type: str | None
    scope: str = Field(
        description="the `product_id` its item and finding are kept under: the product id, "
        "`type:<product_type>`, or `general`"
    )
    title: str | None
    text: str
    source: Literal["internal"]
    submitted_by: str = Field(description="the owner of the key that filed it")
    submitted_at: datetime
