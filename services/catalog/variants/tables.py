"""Product variants."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from services.catalog.tables import metadata, product
from shared.tables import JsonType
from shared.types import UtcDateTime

# `id` is a UUIDv7 string, so ordering by id is creation order (keyset pagination).
# Completeness is not stored: it is computed on read from the product (see variants.domain).
product_variant = Table(
    "product_variant",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(36), ForeignKey(product.c.id), nullable=False),
    # Unique among variants here; unique against products by `claim_skus` (both tables).
    Column("sku", String(64), nullable=False, unique=True),
    Column("axes", JsonType, nullable=False),
    # sha256 of the case-folded axis values: two variants of a product never share it.
    Column("axes_key", String(64), nullable=False),
    Column("attributes", JsonType, nullable=False),
    Column("lifecycle", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("created_by", String(255), nullable=False),
    UniqueConstraint("product_id", "axes_key"),
)
Index("ix_product_variant_product_id_id", product_variant.c.product_id, product_variant.c.id)
