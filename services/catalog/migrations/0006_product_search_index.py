"""Product search by substring served by an index on both databases.

SQLite: an FTS5 trigram table of name, SKU and brand, with its key table and triggers,
filled from the products so far. PostgreSQL: the trigram indexes lose `fastupdate`, and
their pending lists are merged now rather than at the next VACUUM.
"""

from __future__ import annotations

from alembic import op

from services.catalog.tables import SQLITE_SEARCH_DDL

revision = "0006_product_search_index"
down_revision = "0005_benchmark_tally"
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = ("ix_product_name_trgm", "ix_product_sku_trgm", "ix_product_brand_trgm")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index in TRIGRAM_INDEXES:
            op.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
            op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")
        return
    for statement in SQLITE_SEARCH_DDL:
        op.execute(statement)
    # The triggers keep new rows in step; the products already there are indexed here.
    op.execute("INSERT INTO product_search_key (product_id) SELECT id FROM product ORDER BY id")
    op.execute(
        "INSERT INTO product_search (rowid, name, sku, brand)"
        " SELECT k.seq, p.name, p.sku, p.brand"
        " FROM product AS p JOIN product_search_key AS k ON k.product_id = p.id"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index in TRIGRAM_INDEXES:
            op.execute(f"ALTER INDEX {index} RESET (fastupdate)")
        return
    for trigger in ("product_search_insert", "product_search_update", "product_search_delete"):
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE product_search")
    op.execute("DROP TABLE product_search_key")
