"""The schema as it stood before migrations: what `metadata.create_all` made."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.types
from shared.kernel_revisions import create_kernel_tables, drop_kernel_tables

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()
    op.create_table(
        "customer_event",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("customer_ref", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("query", sa.String(length=500), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("unit_price_amount", shared.types.Amount(), nullable=True),
        sa.Column("unit_price_currency", sa.String(length=3), nullable=True),
        sa.Column("ingested_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("ingested_by", sa.String(length=255), nullable=False),
        sa.Column("triage", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_customer_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_customer_event_event_id")),
    )
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_event_failed",
            ["seq"],
            unique=False,
            sqlite_where=sa.text("triage = 'failed'"),
            postgresql_where=sa.text("triage = 'failed'"),
        )
        batch_op.create_index(
            "ix_customer_event_queued",
            ["seq"],
            unique=False,
            sqlite_where=sa.text("triage = 'queued'"),
            postgresql_where=sa.text("triage = 'queued'"),
        )
        batch_op.create_index(
            "ix_customer_event_unresolved_sku",
            ["sku"],
            unique=False,
            sqlite_where=sa.text("product_id IS NULL"),
            postgresql_where=sa.text("product_id IS NULL"),
        )

    op.create_table(
        "finding",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("safety_hazard", sa.Boolean(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("representative_quote", sa.Text(), nullable=False),
        sa.Column("representative_event_id", sa.String(length=128), nullable=False),
        sa.Column("representative_score", sa.Float(), nullable=False),
        sa.Column("embedding_sum", sa.LargeBinary(), nullable=False),
        sa.Column("regression", sa.Boolean(), nullable=False),
        sa.Column("first_seen", shared.types.UtcDateTime(), nullable=False),
        sa.Column("last_seen", shared.types.UtcDateTime(), nullable=False),
        sa.Column("status_note", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding")),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index("ix_finding_product_id_kind", ["product_id", "kind"], unique=False)
        batch_op.create_index("ix_finding_status_id", ["status", "id"], unique=False)

    op.create_table(
        "product",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("product_type", sa.String(length=64), nullable=True),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_product")),
        sa.UniqueConstraint("sku", name=op.f("uq_product_sku")),
    )
    op.create_table(
        "search_miss_cluster",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("normalized_query", sa.String(length=500), nullable=False),
        sa.Column("sample_query", sa.String(length=500), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_seen", shared.types.UtcDateTime(), nullable=False),
        sa.Column("last_seen", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_miss_cluster")),
        sa.UniqueConstraint(
            "normalized_query", name=op.f("uq_search_miss_cluster_normalized_query")
        ),
    )
    op.create_table(
        "escalation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("route", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("finding_id", sa.String(length=36), nullable=True),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("due_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("done_at", shared.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["finding.id"], name=op.f("fk_escalation_finding_id_finding")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation")),
        sa.UniqueConstraint("event_id", "rule", name=op.f("uq_escalation_event_id_rule")),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index("ix_escalation_finding_id", ["finding_id"], unique=False)
        batch_op.create_index("ix_escalation_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "feedback_item",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=False),
        sa.Column("safety_hazard", sa.Boolean(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("finding_id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("triaged_at", shared.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["finding.id"], name=op.f("fk_feedback_item_finding_id_finding")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_item")),
        sa.UniqueConstraint("event_id", name=op.f("uq_feedback_item_event_id")),
    )
    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_item_category_id", ["category", "id"], unique=False)
        batch_op.create_index(
            "ix_feedback_item_finding_id_occurred_at", ["finding_id", "occurred_at"], unique=False
        )
        batch_op.create_index("ix_feedback_item_product_id_id", ["product_id", "id"], unique=False)

    op.create_table(
        "finding_status_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("finding_id", sa.String(length=36), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("changed_by", sa.String(length=255), nullable=False),
        sa.Column("changed_at", shared.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["finding.id"], name=op.f("fk_finding_status_change_finding_id_finding")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_status_change")),
    )
    with op.batch_alter_table("finding_status_change", schema=None) as batch_op:
        batch_op.create_index("ix_finding_status_change_finding_id", ["finding_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("finding_status_change", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_status_change_finding_id")

    op.drop_table("finding_status_change")
    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_item_product_id_id")
        batch_op.drop_index("ix_feedback_item_finding_id_occurred_at")
        batch_op.drop_index("ix_feedback_item_category_id")

    op.drop_table("feedback_item")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_status_due_at")
        batch_op.drop_index("ix_escalation_finding_id")

    op.drop_table("escalation")
    op.drop_table("search_miss_cluster")
    op.drop_table("product")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_status_id")
        batch_op.drop_index("ix_finding_product_id_kind")

    op.drop_table("finding")
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_customer_event_unresolved_sku",
            sqlite_where=sa.text("product_id IS NULL"),
            postgresql_where=sa.text("product_id IS NULL"),
        )
        batch_op.drop_index(
            "ix_customer_event_queued",
            sqlite_where=sa.text("triage = 'queued'"),
            postgresql_where=sa.text("triage = 'queued'"),
        )
        batch_op.drop_index(
            "ix_customer_event_failed",
            sqlite_where=sa.text("triage = 'failed'"),
            postgresql_where=sa.text("triage = 'failed'"),
        )

    op.drop_table("customer_event")
    drop_kernel_tables()
