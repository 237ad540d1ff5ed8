"""Launch's first schema: plans and their history, gate templates, the event counter,
the projections of products, prices and findings, and the kernel's tables."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.types
from shared.kernel_revisions import (
    create_kernel_tables,
    drop_dead_letters,
    drop_kernel_tables,
    keep_dead_letters,
    park_outbox_rows,
    unpark_outbox_rows,
)

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The kernel's tables as every service's history has them now.
    create_kernel_tables()
    park_outbox_rows()
    keep_dead_letters()
    op.create_table(
        "event_sequence",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_event_sequence")),
    )
    op.create_table(
        "finding",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding")),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index("ix_finding_product_id", ["product_id"], unique=False)

    op.create_table(
        "gate_template",
        sa.Column("product_type", sa.String(length=64), nullable=False),
        sa.Column(
            "gates", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "qa_kinds", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("product_type", name=op.f("pk_gate_template")),
    )
    op.create_table(
        "launch_plan",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("price_list", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("product_type", sa.String(length=64), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("readiness", sa.String(length=16), nullable=False),
        sa.Column("at_risk", sa.Boolean(), nullable=False),
        sa.Column("monitored_until", shared.types.UtcDateTime(), nullable=True),
        sa.Column("wake_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column(
            "state", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_launch_plan")),
    )
    with op.batch_alter_table("launch_plan", schema=None) as batch_op:
        batch_op.create_index(
            "ix_launch_plan_owner_target_date", ["owner", "target_date"], unique=False
        )
        batch_op.create_index(
            "ix_launch_plan_product_id_status", ["product_id", "status"], unique=False
        )
        batch_op.create_index("ix_launch_plan_target_date_id", ["target_date", "id"], unique=False)
        batch_op.create_index("ix_launch_plan_wake_at", ["wake_at"], unique=False)
        batch_op.create_index(
            "uq_launch_plan_open_product_id_price_list",
            ["product_id", "price_list"],
            unique=True,
            sqlite_where=sa.text("status IN ('approved', 'planned')"),
            postgresql_where=sa.text("status IN ('approved', 'planned')"),
        )

    op.create_table(
        "price",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("price_list", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("valid_from", shared.types.UtcDateTime(), nullable=False),
        sa.Column("valid_to", shared.types.UtcDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price")),
    )
    with op.batch_alter_table("price", schema=None) as batch_op:
        batch_op.create_index("ix_price_product_id", ["product_id"], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("lifecycle", sa.String(length=16), nullable=True),
        sa.Column("completeness", sa.Integer(), nullable=True),
        sa.Column(
            "missing", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("product_type", sa.String(length=64), nullable=True),
        sa.Column("catalog_version", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decision_number", sa.Integer(), nullable=True),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
    )
    op.create_table(
        "plan_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("launch_id", sa.String(length=36), nullable=False),
        sa.Column("changed_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column(
            "events", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["launch_id"], ["launch_plan.id"], name=op.f("fk_plan_history_launch_id_launch_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_history")),
    )
    with op.batch_alter_table("plan_history", schema=None) as batch_op:
        batch_op.create_index("ix_plan_history_launch_id_id", ["launch_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_history", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_history_launch_id_id")

    op.drop_table("plan_history")
    op.drop_table("product")
    with op.batch_alter_table("price", schema=None) as batch_op:
        batch_op.drop_index("ix_price_product_id")

    op.drop_table("price")
    with op.batch_alter_table("launch_plan", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_launch_plan_open_product_id_price_list",
            sqlite_where=sa.text("status IN ('approved', 'planned')"),
            postgresql_where=sa.text("status IN ('approved', 'planned')"),
        )
        batch_op.drop_index("ix_launch_plan_wake_at")
        batch_op.drop_index("ix_launch_plan_target_date_id")
        batch_op.drop_index("ix_launch_plan_product_id_status")
        batch_op.drop_index("ix_launch_plan_owner_target_date")

    op.drop_table("launch_plan")
    op.drop_table("gate_template")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_product_id")

    op.drop_table("finding")
    op.drop_table("event_sequence")
    drop_dead_letters()
    unpark_outbox_rows()
    drop_kernel_tables()
