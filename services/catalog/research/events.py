"""Research events on `catalog.events`.

They carry no `sequence`: a benchmark or a criteria change does not change its subject (the
product or the product type), and a sequence here would make consumers that track the
subject's version drop the next real change as stale.
"""

from __future__ import annotations

from datetime import datetime

from services.catalog.events import catalog_event, registry
from shared.events import CloudEvent, EventPayload


class CriterionData(EventPayload):
    name: str
    weight: float
    description: str | None


@registry.register("catalog.research_criteria.changed.v1")
class CriteriaChanged(EventPayload):
    """A product type's research criteria were replaced; subject: the product type code."""

    product_type: str
    version: int
    criteria: list[CriterionData]
    added: list[str]
    removed: list[str]
    changed_at: datetime


@registry.register("catalog.benchmark.recorded.v1")
class BenchmarkRecorded(EventPayload):
    """A brand was benchmarked; subject: our product's id if named, else the product type."""

    benchmark_id: str
    product_type: str
    brand: str
    product_id: str | None
    competitor_ref: str | None
    scores: dict[str, float]
    source: str
    recorded_at: datetime
    recorded_by: str


def research_event(payload: EventPayload, *, subject: str) -> CloudEvent:
    """An envelope from /catalog without a sequence (see the module docstring)."""
    return catalog_event(payload, subject=subject, sequence=None)
