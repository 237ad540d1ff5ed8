"""Events of requirements and recommendations: the one consumed, and the ones published.

Consumed — the contract the feedback service emits to (topic `feedback.events`):

    type     feedback.requirement.identified.v1
    source   "/feedback"
    subject  the product id when the requirement is about a product, else
             "type:<product_type>" or "query:<normalised query>" (the Kafka key: one
             subject's events stay in order)
    sequence none: every event is a delta and must be applied (an event with a lower
             sequence than one already applied for the subject would be dropped as stale)
    data
      requirement_id  str, optional   feedback's id of the finding or search-miss cluster
      product_id      str, optional   the catalog product it is about
      product_type    str, optional   the product type code it is about
      kind            "search_miss" | "requirement"
      text            str             the requirement in words ("kettle with temperature
                                      control") or the search query
      quote           str, optional   a customer's words, at most 500 characters
      occurrences     int >= 1        how many NEW customer events this event stands for
                                      (a cluster that grew from 14 to 20 sends 6)
      occurred_at     RFC 3339        when they happened (the latest of them)

    A tolerant reader: unknown fields are ignored; `text` and `quote` longer than 500
    characters are cut. An event the catalog cannot read (no words in its text, a
    product id outside `shared.product_ids`, occurrences < 1, unknown kind) goes to
    `dlq.catalog` at once, without retries. Redelivery is a no-op
    (the kernel's inbox, in the handler's transaction).

Published on `catalog.events`: `catalog.requirement.recorded.v1`, `catalog.requirement.merged.v1`,
`catalog.recommendation.dismissed.v1`, `catalog.recommendation.adopted.v1`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field

from services.catalog.events import catalog_event, registry
from services.catalog.requirements.domain import MAX_QUOTE, MAX_TEXT, Kind, Origin
from shared.events import CloudEvent, EventPayload
from shared.product_ids import ProductId

REQUIREMENT_IDENTIFIED = "feedback.requirement.identified.v1"


def _cut(limit: int) -> Any:
    def cut(value: Any) -> Any:
        return value[:limit] if isinstance(value, str) else value

    return BeforeValidator(cut)


class RequirementIdentified(EventPayload):
    """`data` of feedback's `feedback.requirement.identified.v1` (see the module docstring)."""

    requirement_id: Annotated[str, Field(max_length=255)] | None = None
    product_id: ProductId | None = None
    product_type: Annotated[str, Field(max_length=64)] | None = None
    kind: Kind
    text: Annotated[str, _cut(MAX_TEXT), Field(min_length=1)]
    quote: Annotated[str, _cut(MAX_QUOTE)] | None = None
    occurrences: Annotated[int, Field(ge=1, le=1_000_000)]
    occurred_at: AwareDatetime


@registry.register("catalog.requirement.recorded.v1")
class RequirementRecorded(EventPayload):
    """A new requirement: the first report of a key for a target."""

    requirement_id: str
    recommendation_id: str
    key: str
    text: str
    kind: Kind
    product_id: str | None
    product_type: str | None
    count: int
    first_seen: datetime
    last_seen: datetime
    origin: Origin
    version: int


@registry.register("catalog.requirement.merged.v1")
class RequirementMerged(EventPayload):
    """More reports of a known requirement: its count grew by `added`."""

    requirement_id: str
    recommendation_id: str
    kind: Kind
    product_id: str | None
    product_type: str | None
    added: int
    count: int
    last_seen: datetime
    version: int


@registry.register("catalog.recommendation.dismissed.v1")
class RecommendationDismissed(EventPayload):
    recommendation_id: str
    key: str
    title: str
    reason: str
    dismissed_by: str
    version: int


@registry.register("catalog.recommendation.adopted.v1")
class RecommendationAdopted(EventPayload):
    """A product idea turned into a draft product (subject: the new product's id)."""

    recommendation_id: str
    key: str
    title: str
    product_id: str
    sku: str
    requirement_count: int
    count: int
    adopted_by: str
    version: int


def requirement_event(
    payload: RequirementRecorded | RequirementMerged, *, version: int
) -> CloudEvent:
    """Subject: the product when the requirement is about one, else the requirement itself.

    Only the requirement's own subject carries its version as `sequence`: on a product's
    subject the sequence is the product's version, which a requirement does not change.
    """
    if payload.product_id:
        return catalog_event(payload, subject=payload.product_id, sequence=None)
    return catalog_event(payload, subject=payload.requirement_id, sequence=version)
