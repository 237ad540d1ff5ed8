"""Request and response models of brand research (inputs forbid unknown fields).

Numbers are strict: `true` or `"7"` is not a score. Ranges and names are the domain's rules
(`research.domain`), checked after parsing so every bad criterion or score is reported with
its location.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.catalog.research.domain import MAX_CRITERIA, Criterion
from services.catalog.schemas import Actor, Brand

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
CriterionName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CriterionIn(BaseModel):
    """One criterion: `weight` > 0 is relative (weights need not add up to anything)."""

    model_config = ConfigDict(extra="forbid")

    name: CriterionName
    weight: Number
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None

    def to_domain(self) -> Criterion:
        return Criterion(name=self.name, weight=self.weight, description=self.description)


class CriterionPublic(BaseModel):
    name: str
    weight: float
    description: str | None


class CriteriaPublic(BaseModel):
    """A product type's criteria; `version` 0 means none were ever defined."""

    product_type: str
    version: int
    criteria: list[CriterionPublic]
    updated_at: datetime | None
    updated_by: Actor | None


class BenchmarkCreate(BaseModel):
    """A benchmark of one brand, optionally of one of our products or a competitor's.

    Scores are 0..10 per criterion of the product type; criteria left out are not scored.
    With `product_id`, `brand` defaults to the product's brand and must match it if given.
    """

    model_config = ConfigDict(extra="forbid")

    brand: Brand | None = None
    product_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = None
    competitor_ref: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    scores: Annotated[
        dict[Annotated[str, StringConstraints(max_length=64)], Number],
        Field(max_length=MAX_CRITERIA),
    ]
    source: Text
    notes: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class BenchmarkPublic(BaseModel):
    id: str
    product_type: str
    brand: str
    product_id: str | None
    competitor_ref: str | None
    scores: dict[str, float]
    source: str
    notes: str | None
    recorded_at: datetime
    recorded_by: Actor


class CriterionMean(BaseModel):
    """One criterion's mean score across the benchmarks behind an entry."""

    name: str
    mean: float
    count: int


class RankedBrand(BaseModel):
    """A brand's place; `rank` and `score` are null when no current criterion was scored."""

    rank: int | None
    brand: str
    score: float | None
    coverage: float = Field(description="share of the total weight the score rests on, 0..1")
    benchmark_count: int
    criteria: list[CriterionMean]
    missing_criteria: list[str]


class ProductStanding(BaseModel):
    """One of our products with benchmarks: its own score and where it would rank."""

    product_id: str
    sku: str | None
    name: str | None
    brand: str | None
    score: float | None
    coverage: float
    benchmark_count: int
    rank: int | None = Field(description="its place among the ranked brands")
    brand_rank: int | None
    criteria: list[CriterionMean]
    missing_criteria: list[str]


class RankingPublic(BaseModel):
    """Which brand makes the best version of a product type (best first)."""

    product_type: str
    criteria: list[CriterionPublic]
    criteria_version: int
    min_coverage: float
    benchmark_count: int
    brands: list[RankedBrand]
    our_products: list[ProductStanding]


def actor_of(subject: Any, name: Any) -> Actor:
    return Actor(subject=subject, name=name)
