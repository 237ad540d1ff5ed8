"""Cases for and against a product, and its decision history."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from services.catalog.tables import metadata, product
from shared.tables import JsonType
from shared.types import UtcDateTime

# `id` is a UUIDv7 string, so ordering by id is creation order (keyset pagination).
product_case = Table(
    "product_case",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(36), ForeignKey(product.c.id), nullable=False),
    Column("stance", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    # [{"url": ..., "title": ... | null}], at most 20.
    Column("evidence", JsonType, nullable=False),
    Column("author", String(255), nullable=False),
    Column("author_name", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_product_case_product_id_id", product_case.c.product_id, product_case.c.id)
Index(
    "ix_product_case_product_id_stance_id",
    product_case.c.product_id,
    product_case.c.stance,
    product_case.c.id,
)

# `number` counts a product's decisions from 1; the highest is the current decision.
# Written under the product's row lock, and unique, so two decisions never share a number.
product_decision = Table(
    "product_decision",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(36), ForeignKey(product.c.id), nullable=False),
    Column("number", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("rationale", Text, nullable=False),
    Column("decided_by", String(255), nullable=False),
    Column("decided_by_name", String(255), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("cases_for", Integer, nullable=False),
    Column("cases_against", Integer, nullable=False),
    UniqueConstraint("product_id", "number"),
)
