"""Financial plans with monthly targets, and returns recorded beside purchases (issue 14,
part 4). New tables only: nothing existing changes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.types

revision = "0008_financial_plans"
down_revision = "0007_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "financial_plan",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("launch_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financial_plan")),
        sa.UniqueConstraint("kind", "subject", name=op.f("uq_financial_plan_kind_subject")),
    )
    op.create_table(
        "sale_return",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=True),
        sa.Column("occurred_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_value", shared.types.Amount(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("received_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_sale_return")),
    )
    with op.batch_alter_table("sale_return", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sale_return_account_occurred_at", ["account", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_sale_return_product_id_occurred_at", ["product_id", "occurred_at"], unique=False
        )

    op.create_table(
        "plan_target",
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("revenue", shared.types.Amount(), nullable=False),
        sa.Column("margin", shared.types.Amount(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["financial_plan.id"], name=op.f("fk_plan_target_plan_id_financial_plan")
        ),
        sa.PrimaryKeyConstraint("plan_id", "month", name=op.f("pk_plan_target")),
    )


def downgrade() -> None:
    op.drop_table("plan_target")
    with op.batch_alter_table("sale_return", schema=None) as batch_op:
        batch_op.drop_index("ix_sale_return_product_id_occurred_at")
        batch_op.drop_index("ix_sale_return_account_occurred_at")

    op.drop_table("sale_return")
    op.drop_table("financial_plan")
