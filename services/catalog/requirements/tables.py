"""Requirements, the product ideas they add up to, and the term indexes that match them.

Aggregates are kept at write time: a report updates its requirement's tally and its idea's
demand, so listing recommendations reads a few rows in index order and never scans reports.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from services.catalog.tables import metadata, product
from shared.tables import JsonType
from shared.types import UtcDateTime

# A product idea: the requirements with one normalised key, across targets. `id` is derived
# from `key`; `weight_log2` is NULL when nothing behind the idea is unmet.
recommendation = Table(
    "recommendation",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(500), nullable=False, unique=True),
    Column("title", String(500), nullable=False),
    Column("term_count", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("count", Integer, nullable=False),
    Column("unmet_count", Integer, nullable=False),
    Column("search_miss_count", Integer, nullable=False),
    Column("requirement_count", Integer, nullable=False),
    Column("weight_log2", Double, nullable=True),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    # The active product that meets the idea (by its terms, or the adopted one once active).
    Column("matched_product_id", String(36), ForeignKey(product.c.id), nullable=True),
    # The draft product the idea was adopted as.
    Column("product_id", String(36), ForeignKey(product.c.id), nullable=True),
    Column("dismiss_reason", String(1000), nullable=True),
    Column("decided_by", String(255), nullable=True),
    Column("decided_by_name", String(255), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
# The list's order (score desc, id desc) is a backward scan of this index.
Index("ix_recommendation_weight_log2_id", recommendation.c.weight_log2, recommendation.c.id)
Index("ix_recommendation_product_id", recommendation.c.product_id)
Index("ix_recommendation_matched_product_id", recommendation.c.matched_product_id)

# `product_id` and `product_type` carry no foreign key: feedback may name a product or type
# the catalog does not know (yet), and the customer's words are worth keeping all the same.
requirement = Table(
    "requirement",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(500), nullable=False),
    Column("target", String(120), nullable=False),
    Column("recommendation_id", String(36), ForeignKey(recommendation.c.id), nullable=False),
    Column("product_id", String(36), nullable=True),
    Column("product_type", String(64), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("text", String(500), nullable=False),
    Column("count", Integer, nullable=False),
    Column("search_miss_count", Integer, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("quotes", JsonType, nullable=False),
    Column("feedback_refs", JsonType, nullable=False),
    Column("weight_log2", Double, nullable=False),
    # Whether `product_id` names an active product: such a requirement is met.
    Column("met_by_product", Boolean, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("created_by", String(255), nullable=True),
    Column("created_by_name", String(255), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("key", "target"),
)
# Filter plus keyset order in one index, for both sorts of the list.
Index("ix_requirement_count_id", requirement.c.count, requirement.c.id)
Index("ix_requirement_last_seen_id", requirement.c.last_seen, requirement.c.id)
Index(
    "ix_requirement_product_id_count_id",
    requirement.c.product_id,
    requirement.c.count,
    requirement.c.id,
)
Index(
    "ix_requirement_product_type_count_id",
    requirement.c.product_type,
    requirement.c.count,
    requirement.c.id,
)
Index(
    "ix_requirement_recommendation_id_count",
    requirement.c.recommendation_id,
    requirement.c.count,
)

# The terms of each idea's key, to find the ideas a product meets when it becomes active.
recommendation_term = Table(
    "recommendation_term",
    metadata,
    Column("recommendation_id", String(36), ForeignKey(recommendation.c.id), primary_key=True),
    Column("term", String(200), primary_key=True),
)
Index("ix_recommendation_term_term", recommendation_term.c.term)

# The terms of ACTIVE products only (see domain.product_terms), kept by `matching`.
product_term = Table(
    "product_term",
    metadata,
    Column("product_id", String(36), ForeignKey(product.c.id), primary_key=True),
    Column("term", String(200), primary_key=True),
)
Index("ix_product_term_term", product_term.c.term)
