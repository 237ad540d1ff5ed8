"""Launch's own tables: plans and their history, gate templates, the scheduler's due times,
and what it learns from other services' events (products, prices, findings)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from services.launch.status import OPEN_STATUSES
from shared.db import new_metadata
from shared.tables import JsonType, SeqType
from shared.types import UtcDateTime

metadata = new_metadata()

_OPEN = sorted(status.value for status in OPEN_STATUSES)

# A plan is the whole `LaunchPlan` aggregate in `state` (its evidence, gates, waivers ...);
# the columns beside it are what lists, the calendar and the handlers select by.
# `id` is a UUIDv7 string: ordering by id is planning order.
launch_plan = Table(
    "launch_plan",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("price_list", String(64), nullable=False),
    Column("owner", String(255), nullable=False),
    Column("product_type", String(64), nullable=True),
    Column("target_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("readiness", String(16), nullable=False),
    Column("at_risk", Boolean, nullable=False),
    Column("monitored_until", UtcDateTime, nullable=True),
    # When the scheduler must refresh the plan though no fact arrives (domain.next_wakeup):
    # a waiver's expiry, the launch moment, the end of monitoring.
    Column("wake_at", UtcDateTime, nullable=True),
    Column("state", JsonType, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
# One open plan per product and price list, even when two requests race.
Index(
    "uq_launch_plan_open_product_id_price_list",
    launch_plan.c.product_id,
    launch_plan.c.price_list,
    unique=True,
    sqlite_where=launch_plan.c.status.in_(_OPEN),
    postgresql_where=launch_plan.c.status.in_(_OPEN),
)
# A product's plans, for the handlers; lists and the calendar by date; the scheduler.
Index("ix_launch_plan_product_id_status", launch_plan.c.product_id, launch_plan.c.status)
Index("ix_launch_plan_target_date_id", launch_plan.c.target_date, launch_plan.c.id)
Index("ix_launch_plan_owner_target_date", launch_plan.c.owner, launch_plan.c.target_date)
Index("ix_launch_plan_wake_at", launch_plan.c.wake_at)

# Every change of a plan: who (NULL: launch itself, from facts or time), when, what, why.
plan_history = Table(
    "plan_history",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("launch_id", String(36), ForeignKey(launch_plan.c.id), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("changed_by", String(255), nullable=True),
    Column("action", String(64), nullable=False),
    Column("reason", Text, nullable=True),
    Column("data", JsonType, nullable=False),
    # The types of the events the change published, in order.
    Column("events", JsonType, nullable=False),
    # The plan's version after the change.
    Column("version", Integer, nullable=False),
)
Index("ix_plan_history_launch_id_id", plan_history.c.launch_id, plan_history.c.id)

# A product type's extra gates and required QA kinds; plans copy it when they are made.
gate_template = Table(
    "gate_template",
    metadata,
    Column("product_type", String(64), primary_key=True),
    Column("gates", JsonType, nullable=False),
    Column("qa_kinds", JsonType, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(255), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# The `sequence` of launch's events about a product: one counter per subject, across the
# product's plans on every price list.
event_sequence = Table(
    "event_sequence",
    metadata,
    Column("product_id", String(64), primary_key=True),
    Column("last", BigInteger, nullable=False),
)

# --- projections of other services' facts ------------------------------------------------------

# Launch's copy of a catalog product. A row may hold only a decision (decisions carry no
# product version); `catalog_version` NULL means the catalog has not described it yet.
product = Table(
    "product",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("lifecycle", String(16), nullable=True),
    Column("completeness", Integer, nullable=True),
    Column("missing", JsonType, nullable=True),
    Column("product_type", String(64), nullable=True),
    Column("catalog_version", Integer, nullable=True),
    Column("decision", String(16), nullable=True),
    Column("decision_number", Integer, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Pricing's prices of the product, on every list, as their last event said.
price = Table(
    "price",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("price_list", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=True),
    # The price's own version in pricing: an older one never overwrites a newer one.
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_price_product_id", price.c.product_id)

# Feedback's findings about the product, as their last event said.
finding = Table(
    "finding",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("quote", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_finding_product_id", finding.c.product_id)
