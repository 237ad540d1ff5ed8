"""Pricing's own tables: price lists, prices, financial plans, and what it learns from other
services (products with their cost history, purchases and returns)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shared.db import new_metadata
from shared.tables import JsonType, SeqType
from shared.types import Amount, UtcDateTime

metadata = new_metadata()

price_list = Table(
    "price_list",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("channel", String(64), nullable=False),
    # The one account (B2B customer or customer group) the list is for; NULL: for everyone.
    # One list per account and currency, so the account's price is never a choice between
    # lists (NULLs are distinct: any number of unscoped lists).
    Column("account", String(128), nullable=True),
    # Percentages are exact decimals too: a float 0.1 is not one tenth.
    Column("min_margin_pct", Amount, nullable=True),
    Column("max_change_pct", Amount, nullable=True),
    Column("floor", Amount, nullable=True),
    Column("ceiling", Amount, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
# A unique index rather than a constraint: SQLite adds it without rebuilding a table that
# prices and guardrail changes refer to.
Index("ix_price_list_account_currency", price_list.c.account, price_list.c.currency, unique=True)

# A change of a list's guardrails, with who asked and why. A tightening is `applied` at once;
# a loosening is `pending` until a second person approves (applied) or someone rejects it.
# `previous` and `guardrails` are the limits before and after, as decimal strings or null.
guardrail_change = Table(
    "guardrail_change",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("price_list", String(64), ForeignKey(price_list.c.code), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("previous", JsonType, nullable=False),
    Column("guardrails", JsonType, nullable=False),
    Column("loosens", JsonType, nullable=False),
    # The list's version it was asked against: approving it on a changed list is refused.
    Column("base_version", Integer, nullable=False),
    Column("requested_by", String(255), nullable=False),
    Column("requested_by_name", String(255), nullable=False),
    Column("requested_by_owner", String(255), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("decided_by", String(255), nullable=True),
    Column("decided_by_name", String(255), nullable=True),
    Column("decided_by_owner", String(255), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("rejection_reason", Text, nullable=True),
    Column("version", Integer, nullable=False),
)
Index("ix_guardrail_change_price_list_id", guardrail_change.c.price_list, guardrail_change.c.id)

# Pricing's copy of a catalog product, kept from catalog events.
product = Table(
    "product",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sku", String(64), nullable=True),
    Column("lifecycle", String(16), nullable=True),
    Column("cost_amount", Amount, nullable=True),
    Column("cost_currency", String(3), nullable=True),
    Column("catalog_version", Integer, nullable=False),
    # The `sequence` of pricing's own events about this product: one counter per subject,
    # so consumers can tell a stale redelivery from a newer event.
    Column("event_sequence", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# The cost from `valid_from` on (amount NULL: unknown), for margin at the cost of the time.
product_cost = Table(
    "product_cost",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("product_id", String(64), ForeignKey(product.c.id), nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("amount", Amount, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("catalog_version", Integer, nullable=False),
)
Index("ix_product_cost_product_id_valid_from", product_cost.c.product_id, product_cost.c.valid_from)

# `id` is a UUIDv7 string: ordering by id is proposal order (keyset pagination, ties).
price = Table(
    "price",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(64), ForeignKey(product.c.id), nullable=False),
    Column("price_list", String(64), ForeignKey(price_list.c.code), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Column("status", String(16), nullable=False),
    # As checked last (at proposal, then again at approval against that day's cost).
    Column("guardrail_violations", JsonType, nullable=False),
    # As checked at proposal, never rewritten: loosening the list later does not erase them.
    Column("violations_at_proposal", JsonType, nullable=False),
    # The cost and the current price the guardrails were checked against.
    Column("cost_amount", Amount, nullable=True),
    Column("cost_currency", String(3), nullable=True),
    Column("current_amount", Amount, nullable=True),
    Column("proposed_by", String(255), nullable=False),
    Column("proposed_by_name", String(255), nullable=False),
    # Whose key proposed it: four eyes means two owners, not merely two keys.
    Column("proposed_by_owner", String(255), nullable=False),
    Column("proposed_at", UtcDateTime, nullable=False),
    Column("decided_by", String(255), nullable=True),
    Column("decided_by_name", String(255), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("override_reason", Text, nullable=True),
    Column("rejection_reason", Text, nullable=True),
    # Set on approval: [effective_from, effective_to) is when the price is in effect.
    Column("effective_from", UtcDateTime, nullable=True),
    Column("effective_to", UtcDateTime, nullable=True),
    Column("published_at", UtcDateTime, nullable=True),
    Column("replaces_price_id", String(36), nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("closed_by", String(255), nullable=True),
    Column("close_reason", Text, nullable=True),
    Column("version", Integer, nullable=False),
)
# The effective price: one product on one list, windows by start.
Index(
    "ix_price_product_id_price_list_effective_from",
    price.c.product_id,
    price.c.price_list,
    price.c.effective_from,
)
# The scheduler's two questions: which approved prices are due, which published ones end.
Index("ix_price_status_effective_from", price.c.status, price.c.effective_from)
Index("ix_price_status_effective_to", price.c.status, price.c.effective_to)
Index("ix_price_product_id_published_at", price.c.product_id, price.c.published_at)

# Purchases from storefront.customer-events; the client's event id within its source
# (`<source>/<event_id>`, or the bare id for events published without a source) makes them
# idempotent.
purchase = Table(
    "purchase",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    # The account the storefront named (`shared.accounts`), NULL when none.
    Column("account", String(128), nullable=True),
)
Index("ix_purchase_product_id_occurred_at", purchase.c.product_id, purchase.c.occurred_at)
# An account's sales over a period (its plans and reports).
Index("ix_purchase_account_occurred_at", purchase.c.account, purchase.c.occurred_at)

# Returns from storefront.customer-events, idempotent like purchases. A return names no
# price: it is valued when recorded at the last earlier sale price of the product (to the
# same account when it names one, else to anyone); `unit_value` NULL: no earlier sale known.
sale_return = Table(
    "sale_return",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("account", String(128), nullable=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_value", Amount, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
)
Index("ix_sale_return_product_id_occurred_at", sale_return.c.product_id, sale_return.c.occurred_at)
Index("ix_sale_return_account_occurred_at", sale_return.c.account, sale_return.c.occurred_at)

# A financial plan: monthly targets for one product's sales or one account's (`kind`,
# `subject`), in one currency. One plan per subject: a launch creates none where one exists.
financial_plan = Table(
    "financial_plan",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    # A product id (at most 64 characters) or an account (`shared.accounts`, at most 128).
    Column("subject", String(128), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("source", String(16), nullable=False),
    Column("launch_id", String(64), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_by", String(255), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("kind", "subject"),
)

# One month's target of a plan; `month` is the month's first day.
plan_target = Table(
    "plan_target",
    metadata,
    Column("plan_id", String(36), ForeignKey(financial_plan.c.id), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("units", Integer, nullable=False),
    Column("revenue", Amount, nullable=False),
    Column("margin", Amount, nullable=False),
)
