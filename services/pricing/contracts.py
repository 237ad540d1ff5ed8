"""Tolerant readers of the events pricing consumes (it never imports another service).

Each model reads only the fields pricing needs; unknown fields are ignored
(`EventPayload`), unknown types are skipped by the consumer.

Topic `catalog.events` (source "/catalog", subject = product id, `sequence` = version):

- `catalog.product.created.v1`: {product_id, sku, cost: {amount, currency} | null,
  lifecycle, version, ...}
- `catalog.product.updated.v1`: {product_id, sku, version, changes: [{field, old, new}]};
  the change of field "cost" carries money objects (or null) as old and new.
- `catalog.product.lifecycle_changed.v1`: {product_id, sku, from, to, version}.

Topic `storefront.customer-events`, written by the feedback service when it accepts a
storefront's customer event (source "/feedback", subject = product id):

- `feedback.customer_event.accepted.v1`: {event_id (the client's id, unique per source),
  source (the storefront key's owner; absent from events published before it), kind
  (review | return | support_ticket | question | search_miss | purchase), occurred_at
  (RFC 3339), product_id, sku, customer_ref, and per kind: quantity (int) and
  unit_price {amount, currency} for a purchase; text, rating, ... for the others; account
  (the B2B customer or customer group, `shared.accounts`) on a purchase or a return when
  the storefront names one, absent otherwise and from events published before it}.
  Pricing reads purchases and returns: they feed revenue and margin metrics and plans'
  actuals. A return carries no price, and a quantity when the storefront names one: one
  unit otherwise (and in events published before returns could name one).

Topic `launch.events` (source "/launch", subject = product id):

- `launch.launched.v1`: {launch_id, product_id, price_list, launched_at, goals: {units,
  revenue: {amount, currency}, margin_pct, period_days} | null, ...}: the goals for the
  first 90 days become the product's first three monthly plan targets.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, ConfigDict, Field, Strict, StringConstraints

from shared.accounts import MAX_LENGTH as ACCOUNT_LENGTH
from shared.events import EventPayload
from shared.money import Money
from shared.types import Rfc3339

PRODUCT_CREATED = "catalog.product.created.v1"
PRODUCT_UPDATED = "catalog.product.updated.v1"
LIFECYCLE_CHANGED = "catalog.product.lifecycle_changed.v1"
CUSTOMER_EVENT_ACCEPTED = "feedback.customer_event.accepted.v1"
LAUNCHED = "launch.launched.v1"

CATALOG_TOPIC = "catalog.events"
CUSTOMER_EVENTS_TOPIC = "storefront.customer-events"
LAUNCH_TOPIC = "launch.events"

ProductId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# Held to its length only: feedback checks the rule, and a tolerant reader should not
# dead-letter a sale over the shape of its account's id.
AccountId = Annotated[str, StringConstraints(min_length=1, max_length=ACCOUNT_LENGTH)]


class MoneyIn(Money):
    """A money object as another service writes it; fields added later are ignored."""

    model_config = ConfigDict(extra="ignore")


class ProductCreated(EventPayload):
    product_id: ProductId
    sku: str | None = None
    cost: MoneyIn | None = None
    lifecycle: str | None = None
    version: int


class FieldChanged(EventPayload):
    field: str
    old: Any = None
    new: Any = None


class ProductUpdated(EventPayload):
    product_id: ProductId
    sku: str | None = None
    version: int
    changes: list[FieldChanged] = Field(default_factory=list)

    def cost_change(self) -> tuple[bool, MoneyIn | None]:
        """(whether the cost changed, the new cost or None when it was cleared)."""
        for change in self.changes:
            if change.field == "cost":
                new = None if change.new is None else MoneyIn.model_validate(change.new)
                return True, new
        return False, None


class LifecycleChanged(EventPayload):
    product_id: ProductId
    sku: str | None = None
    to: str
    version: int


class CustomerEventAccepted(EventPayload):
    """Just enough to tell a purchase from the other kinds, and whose sale it was."""

    kind: str
    # The B2B customer or customer group of a purchase or a return; None when not named.
    account: AccountId | None = None


class _Sale(CustomerEventAccepted):
    @property
    def key(self) -> str:
        """What makes a purchase once: the client's id within its source (security issue 12,
        finding 5), so two storefronts' equal ids are two purchases. An event id holds no
        `/`, so `<source>/<event_id>` is unambiguous and fits the 255-character column."""
        return self.event_id if self.source is None else f"{self.source}/{self.event_id}"

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    # With a UTC form a datetime can hold: 0001-01-01T00:00:00+14:00 failed the insert on
    # every try before it was dead-lettered.
    occurred_at: Rfc3339
    product_id: ProductId


# Strict: "2" or 2.0 or true is no count of units a storefront sent.
Quantity = Annotated[int, Strict(), Field(ge=1, le=1_000_000)]


class Purchase(_Sale):
    """A purchase's own fields, all required but `source` and `account`: one without them
    is malformed."""

    quantity: Quantity
    unit_price: MoneyIn


class Return(_Sale):
    """A return: no price, and one unit unless it names a quantity."""

    quantity: Quantity = 1


class GoalsIn(EventPayload):
    units: Annotated[int, Field(ge=0)]
    revenue: MoneyIn
    # A decimal string such as "32.5"; -100..100.
    margin_pct: Annotated[Decimal, Field(ge=-100, le=100)]


class Launched(EventPayload):
    launch_id: ProductId
    product_id: ProductId
    launched_at: AwareDatetime
    goals: GoalsIn | None = None
