"""The schema as it stood before migrations: what `metadata.create_all` made."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.types
from shared.kernel_revisions import create_kernel_tables, drop_kernel_tables

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()
    op.create_table(
        "price_list",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("min_margin_pct", shared.types.Amount(), nullable=True),
        sa.Column("max_change_pct", shared.types.Amount(), nullable=True),
        sa.Column("floor", shared.types.Amount(), nullable=True),
        sa.Column("ceiling", shared.types.Amount(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_price_list")),
    )
    op.create_table(
        "product",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("lifecycle", sa.String(length=16), nullable=True),
        sa.Column("cost_amount", shared.types.Amount(), nullable=True),
        sa.Column("cost_currency", sa.String(length=3), nullable=True),
        sa.Column("catalog_version", sa.Integer(), nullable=False),
        sa.Column("event_sequence", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
    )
    op.create_table(
        "purchase",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", shared.types.Amount(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("received_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_purchase")),
    )
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.create_index(
            "ix_purchase_product_id_occurred_at", ["product_id", "occurred_at"], unique=False
        )

    op.create_table(
        "price",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("price_list", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", shared.types.Amount(), nullable=False),
        sa.Column("valid_from", shared.types.UtcDateTime(), nullable=False),
        sa.Column("valid_to", shared.types.UtcDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "guardrail_violations",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("cost_amount", shared.types.Amount(), nullable=True),
        sa.Column("cost_currency", sa.String(length=3), nullable=True),
        sa.Column("current_amount", shared.types.Amount(), nullable=True),
        sa.Column("proposed_by", sa.String(length=255), nullable=False),
        sa.Column("proposed_by_name", sa.String(length=255), nullable=False),
        sa.Column("proposed_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_by_name", sa.String(length=255), nullable=True),
        sa.Column("decided_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("effective_from", shared.types.UtcDateTime(), nullable=True),
        sa.Column("effective_to", shared.types.UtcDateTime(), nullable=True),
        sa.Column("published_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("replaces_price_id", sa.String(length=36), nullable=True),
        sa.Column("closed_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["price_list"], ["price_list.code"], name=op.f("fk_price_price_list_price_list")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_price_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price")),
    )
    with op.batch_alter_table("price", schema=None) as batch_op:
        batch_op.create_index(
            "ix_price_product_id_price_list_effective_from",
            ["product_id", "price_list", "effective_from"],
            unique=False,
        )
        batch_op.create_index(
            "ix_price_product_id_published_at", ["product_id", "published_at"], unique=False
        )
        batch_op.create_index(
            "ix_price_status_effective_from", ["status", "effective_from"], unique=False
        )
        batch_op.create_index(
            "ix_price_status_effective_to", ["status", "effective_to"], unique=False
        )

    op.create_table(
        "product_cost",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("valid_from", shared.types.UtcDateTime(), nullable=False),
        sa.Column("amount", shared.types.Amount(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("catalog_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_cost_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_cost")),
    )
    with op.batch_alter_table("product_cost", schema=None) as batch_op:
        batch_op.create_index(
            "ix_product_cost_product_id_valid_from", ["product_id", "valid_from"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("product_cost", schema=None) as batch_op:
        batch_op.drop_index("ix_product_cost_product_id_valid_from")

    op.drop_table("product_cost")
    with op.batch_alter_table("price", schema=None) as batch_op:
        batch_op.drop_index("ix_price_status_effective_to")
        batch_op.drop_index("ix_price_status_effective_from")
        batch_op.drop_index("ix_price_product_id_published_at")
        batch_op.drop_index("ix_price_product_id_price_list_effective_from")

    op.drop_table("price")
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_product_id_occurred_at")

    op.drop_table("purchase")
    op.drop_table("product")
    op.drop_table("price_list")
    drop_kernel_tables()
