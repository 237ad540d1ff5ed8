"""The brand ranking's aggregates (`benchmark_tally`), filled from the benchmarks so far."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_benchmark_tally"
down_revision = "0004_revoked_api_keys"
branch_labels = None
depends_on = None

# Per (type, brand or product, criterion) the sum and count of scores; criterion '' counts
# the benchmarks themselves, whatever they scored. Plain SQL both dialects run alike.
BACKFILL = """
INSERT INTO benchmark_tally (product_type, scope, "key", criterion, total, "count")
SELECT product_type, 'brand', brand, criterion, SUM(score), COUNT(*)
  FROM benchmark_score GROUP BY product_type, brand, criterion
UNION ALL
SELECT product_type, 'product', product_id, criterion, SUM(score), COUNT(*)
  FROM benchmark_score WHERE product_id IS NOT NULL GROUP BY product_type, product_id, criterion
UNION ALL
SELECT product_type, 'brand', brand, '', 0, COUNT(*)
  FROM benchmark GROUP BY product_type, brand
UNION ALL
SELECT product_type, 'product', product_id, '', 0, COUNT(*)
  FROM benchmark WHERE product_id IS NOT NULL GROUP BY product_type, product_id
"""


def upgrade() -> None:
    op.create_table(
        "benchmark_tally",
        sa.Column("product_type", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("criterion", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_type"],
            ["product_type.code"],
            name=op.f("fk_benchmark_tally_product_type_product_type"),
        ),
        sa.PrimaryKeyConstraint(
            "product_type", "scope", "key", "criterion", name=op.f("pk_benchmark_tally")
        ),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("benchmark_tally")
