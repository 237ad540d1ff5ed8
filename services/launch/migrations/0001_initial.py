"""Launch's first schema: plans and their history, gate templates, the event counter,
the projections of products, prices and findings, and the kernel's tables."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.types

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consumer", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column(
            "headers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("error_type", sa.String(length=255), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
        sa.UniqueConstraint("consumer", "event_id", name=op.f("uq_dead_letter_consumer_event_id")),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("principal", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name=op.f("pk_idempotency_key")),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_processed_at", ["processed_at"], unique=False)

    op.create_table(
        "outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column(
            "headers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("published_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("parked_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("discarded_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("discard_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_published_at", ["published_at"], unique=False)
        batch_op.create_index(
            "ix_outbox_unpublished",
            ["seq"],
            unique=False,
            sqlite_where=sa.text("published_at IS NULL"),
            postgresql_where=sa.text("published_at IS NULL"),
        )

    op.create_table(
        "subject_position",
        sa.Column("consumer", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "source", "subject", name=op.f("pk_subject_position")),
    )
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
    op.drop_table("subject_position")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_unpublished",
            sqlite_where=sa.text("published_at IS NULL"),
            postgresql_where=sa.text("published_at IS NULL"),
        )
        batch_op.drop_index("ix_outbox_published_at")

    op.drop_table("outbox")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_processed_at")

    op.drop_table("inbox")
    op.drop_table("idempotency_key")
    op.drop_table("dead_letter")
