"""Tolerant readers of the events launch consumes (it never imports another service).

Each model reads only the fields launch's gates need; unknown fields are ignored
(`EventPayload`), unknown types are skipped by the consumer.

Topic `catalog.events` (source "/catalog", subject = product id, `sequence` = the product's
version for product events, none for decisions):

- `catalog.product.created.v1`: {product_id, product_type, lifecycle, completeness: {score,
  missing}, version, ...}; `catalog.product.snapshot.v1` is the same plus `decision`
  ({decision_id, number, outcome, decided_at} or null), the product as it is now.
- `catalog.product.updated.v1`: {product_id, version, changes: [{field, old, new}],
  completeness}; a change of field "product_type" carries the new type.
- `catalog.product.lifecycle_changed.v1`: {product_id, from, to, version}.
- `catalog.decision.recorded.v1`: {decision_id, product_id, number, outcome (adopt | reject
  | defer), ...}; the highest `number` is the product's current decision.

Topic `pricing.events` (source "/pricing", subject = product id, `sequence` = pricing's
counter of the product's events): `pricing.price.proposed|approved|rejected|withdrawn|
published|expired|snapshot.v1`, each the price's full state: {price_id, product_id,
price_list, kind (base | promotion), status, valid_from, valid_to, effective_from,
effective_to, version, ...}.

Topic `feedback.events` (source "/feedback", subject = product id, no `sequence`):
`feedback.finding.opened|updated|resolved|snapshot.v1`, each the finding's full state:
{finding_id, product_id, kind, severity, status, item_count, representative_quote,
version, ...}.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from shared.events import EventPayload

CATALOG_TOPIC = "catalog.events"
PRICING_TOPIC = "pricing.events"
FEEDBACK_TOPIC = "feedback.events"

PRODUCT_CREATED = "catalog.product.created.v1"
PRODUCT_UPDATED = "catalog.product.updated.v1"
LIFECYCLE_CHANGED = "catalog.product.lifecycle_changed.v1"
PRODUCT_SNAPSHOT = "catalog.product.snapshot.v1"
DECISION_RECORDED = "catalog.decision.recorded.v1"
PRICE_EVENTS = tuple(
    f"pricing.price.{verb}.v1"
    for verb in (
        "proposed",
        "approved",
        "rejected",
        "withdrawn",
        "published",
        "expired",
        "snapshot",
    )
)
FINDING_EVENTS = tuple(
    f"feedback.finding.{verb}.v1" for verb in ("opened", "updated", "resolved", "snapshot")
)

Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ProductFact(EventPayload):
    """Every event launch reads is about one product."""

    product_id: Id


class Completeness(EventPayload):
    score: Annotated[int, Field(ge=0, le=100)]
    missing: list[str] = Field(default_factory=list)


class Decision(EventPayload):
    number: int
    outcome: str


class ProductState(ProductFact):
    """`product.created` and `product.snapshot`: the whole product."""

    product_type: Code | None = None
    lifecycle: Code
    completeness: Completeness
    version: int
    # Only in a snapshot: the current decision.
    decision: Decision | None = None


class FieldChanged(EventPayload):
    field: str
    new: object = None


class ProductUpdated(ProductFact):
    version: int
    changes: list[FieldChanged] = Field(default_factory=list)
    completeness: Completeness

    def new_product_type(self) -> str | None:
        """The new product type, when this update changed it."""
        for change in self.changes:
            if change.field == "product_type" and isinstance(change.new, str):
                return change.new
        return None


class LifecycleChanged(ProductFact):
    to: Code
    version: int


class DecisionRecorded(ProductFact):
    number: int
    outcome: Code


class PriceState(ProductFact):
    """Every price event: the price after the change."""

    price_id: Id
    price_list: Code
    kind: Code
    status: Code
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None
    # Set on approval: when the price is in effect (a discontinue cuts it short).
    effective_from: AwareDatetime | None = None
    effective_to: AwareDatetime | None = None
    version: int

    @property
    def window(self) -> tuple[AwareDatetime, AwareDatetime | None]:
        """When the price applies: its effective window once approved, else the asked one."""
        if self.effective_from is not None:
            return self.effective_from, self.effective_to
        return self.valid_from, self.valid_to


class FindingState(ProductFact):
    """Every finding event: the finding after the change."""

    finding_id: Id
    kind: Code
    severity: Code
    status: Code
    item_count: Annotated[int, Field(ge=0)]
    representative_quote: str = ""
    version: int
