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
# `q` is a substring match (ILIKE '%q%'): on PostgreSQL, trigram indexes serve it. Without
# `fastupdate` every insert goes into the index's trees at once: with it, new rows wait in a
# pending list of up to 4 MB that each search reads through, which made one rare SKU among
# 100,000 products take 40 ms instead of 2 until the next VACUUM.
for _column in (product.c.name, product.c.sku, product.c.brand):
    Index(
        f"ix_product_{_column.name}_trgm",
        _column,
        postgresql_using="gin",
        postgresql_ops={_column.name: "gin_trgm_ops"},
        postgresql_with={"fastupdate": "off"},
    ).ddl_if(dialect="postgresql")
# pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
event.listen(
    product,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)

# On SQLite, `q` (3 characters or more) is served by an FTS5 trigram index of name, SKU and
# brand (SQLite 3.34+), kept in step by triggers. FTS5 rows are keyed by integers, a product
# by its UUID, and a plain table's rowid may change on VACUUM: `product_search_key` gives
# each product a lasting integer. These objects are not SQLAlchemy tables (a virtual table
# cannot be one), so `SEARCH_OBJECTS` names them for the schema comparison to skip. A
# revision that rebuilds `product` on SQLite (batch mode copies the table) drops the
# triggers with it and must create them again.
SEARCH_OBJECTS = frozenset({"product_search", "product_search_key"})
SQLITE_SEARCH_DDL = (
    "CREATE TABLE product_search_key ("
    " seq INTEGER PRIMARY KEY,"
    " product_id VARCHAR(36) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE product_search USING fts5(name, sku, brand, tokenize='trigram')",
    """CREATE TRIGGER product_search_insert AFTER INSERT ON product BEGIN
        INSERT INTO product_search_key (product_id) VALUES (new.id);
        INSERT INTO product_search (rowid, name, sku, brand)
            SELECT seq, new.name, new.sku, new.brand
            FROM product_search_key WHERE product_id = new.id;
    END""",
    """CREATE TRIGGER product_search_update AFTER UPDATE OF id, name, sku, brand ON product
    BEGIN
        UPDATE product_search_key SET product_id = new.id WHERE product_id = old.id;
        UPDATE product_search SET name = new.name, sku = new.sku, brand = new.brand
            WHERE rowid = (SELECT seq FROM product_search_key WHERE product_id = new.id);
    END""",
    """CREATE TRIGGER product_search_delete AFTER DELETE ON product BEGIN
        DELETE FROM product_search
            WHERE rowid = (SELECT seq FROM product_search_key WHERE product_id = old.id);
        DELETE FROM product_search_key WHERE product_id = old.id;
    END""",
)
for _statement in SQLITE_SEARCH_DDL:
    event.listen(product, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
metadata.info["unmanaged"] = SEARCH_OBJECTS

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
