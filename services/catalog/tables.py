"""The catalog's own tables: product types, products and their field-level history."""

from __future__ import annotations

from sqlalchemy import DDL, Column, ForeignKey, Index, Integer, String, Table, Text, event

from shared.db import new_metadata
from shared.tables import JsonType, SeqType
from shared.types import Amount, UtcDateTime

metadata = new_metadata()


product_type = Table(
    "product_type",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("required_attributes", JsonType, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

# `id` is a UUIDv7 string, so ordering by id is creation order (keyset pagination).
product = Table(
    "product",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("product_type", String(64), ForeignKey(product_type.c.code), nullable=False),
    Column("brand", String(100), nullable=False),
    Column("vendor", String(200), nullable=True),
    Column("description", Text, nullable=True),
    Column("attributes", JsonType, nullable=False),
    Column("cost_amount", Amount, nullable=True),
    Column("cost_currency", String(3), nullable=True),
    Column("lifecycle", String(16), nullable=False),
    Column("completeness_score", Integer, nullable=False),
    Column("completeness_missing", JsonType, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("created_by", String(255), nullable=False),
)
# Filter plus keyset order in one index, so a filtered page is an index range scan.
Index("ix_product_product_type_id", product.c.product_type, product.c.id)
Index("ix_product_brand_id", product.c.brand, product.c.id)
Index("ix_product_lifecycle_id", product.c.lifecycle, product.c.id)
# `q` is a substring match (ILIKE '%q%'): only trigram indexes serve it, on PostgreSQL.
for _column in (product.c.name, product.c.sku, product.c.brand):
    Index(
        f"ix_product_{_column.name}_trgm",
        _column,
        postgresql_using="gin",
        postgresql_ops={_column.name: "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")
# pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
event.listen(
    product,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)

product_change = Table(
    "product_change",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("product_id", String(36), ForeignKey(product.c.id), nullable=False),
    Column("version", Integer, nullable=False),
    Column("field", String(200), nullable=False),
    Column("old_value", JsonType, nullable=True),
    Column("new_value", JsonType, nullable=True),
    Column("changed_by", String(255), nullable=False),
    Column("changed_by_name", String(255), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)
Index("ix_product_change_product_id_id", product_change.c.product_id, product_change.c.id)
