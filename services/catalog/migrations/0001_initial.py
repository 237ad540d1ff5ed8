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

TRIGRAM_COLUMNS = ("name", "sku", "brand")


def upgrade() -> None:
    create_kernel_tables()
    op.create_table(
        "product_type",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "required_attributes",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_product_type")),
    )
    op.create_table(
        "product",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("product_type", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=100), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "attributes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("cost_amount", shared.types.Amount(), nullable=True),
        sa.Column("cost_currency", sa.String(length=3), nullable=True),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("completeness_score", sa.Integer(), nullable=False),
        sa.Column(
            "completeness_missing",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_type"],
            ["product_type.code"],
            name=op.f("fk_product_product_type_product_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("sku", name=op.f("uq_product_sku")),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index("ix_product_brand_id", ["brand", "id"], unique=False)
        batch_op.create_index("ix_product_lifecycle_id", ["lifecycle", "id"], unique=False)
        batch_op.create_index("ix_product_product_type_id", ["product_type", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # `q` is a substring match: trigram indexes serve it, on PostgreSQL only. pg_trgm is a
        # trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in TRIGRAM_COLUMNS:
            op.create_index(
                f"ix_product_{column}_trgm",
                "product",
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )

    op.create_table(
        "questionnaire",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("product_type", sa.String(length=64), nullable=True),
        sa.Column(
            "questions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_by_name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_type"],
            ["product_type.code"],
            name=op.f("fk_questionnaire_product_type_product_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire")),
    )
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.create_index(
            "ix_questionnaire_product_type_id", ["product_type", "id"], unique=False
        )

    op.create_table(
        "research_criteria_set",
        sa.Column("product_type", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_by_name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_type"],
            ["product_type.code"],
            name=op.f("fk_research_criteria_set_product_type_product_type"),
        ),
        sa.PrimaryKeyConstraint("product_type", name=op.f("pk_research_criteria_set")),
    )
    op.create_table(
        "research_criterion",
        sa.Column("product_type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_type"],
            ["product_type.code"],
            name=op.f("fk_research_criterion_product_type_product_type"),
        ),
        sa.PrimaryKeyConstraint("product_type", "name", name=op.f("pk_research_criterion")),
    )
    op.create_table(
        "benchmark",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_type", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=100), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=True),
        sa.Column("competitor_ref", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=255), nullable=False),
        sa.Column("recorded_by_name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_benchmark_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["product_type"],
            ["product_type.code"],
            name=op.f("fk_benchmark_product_type_product_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benchmark")),
    )
    with op.batch_alter_table("benchmark", schema=None) as batch_op:
        batch_op.create_index("ix_benchmark_product_id", ["product_id"], unique=False)
        batch_op.create_index(
            "ix_benchmark_product_type_brand", ["product_type", "brand"], unique=False
        )
        batch_op.create_index("ix_benchmark_product_type_id", ["product_type", "id"], unique=False)

    op.create_table(
        "product_case",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("stance", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "evidence", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("author_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_case_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_case")),
    )
    with op.batch_alter_table("product_case", schema=None) as batch_op:
        batch_op.create_index("ix_product_case_product_id_id", ["product_id", "id"], unique=False)
        batch_op.create_index(
            "ix_product_case_product_id_stance_id", ["product_id", "stance", "id"], unique=False
        )

    op.create_table(
        "product_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column(
            "old_value", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "new_value", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("changed_by", sa.String(length=255), nullable=False),
        sa.Column("changed_by_name", sa.String(length=255), nullable=False),
        sa.Column("changed_at", shared.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_change_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_change")),
    )
    with op.batch_alter_table("product_change", schema=None) as batch_op:
        batch_op.create_index("ix_product_change_product_id_id", ["product_id", "id"], unique=False)

    op.create_table(
        "product_decision",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=False),
        sa.Column("decided_by_name", sa.String(length=255), nullable=False),
        sa.Column("decided_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("cases_for", sa.Integer(), nullable=False),
        sa.Column("cases_against", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_decision_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_decision")),
        sa.UniqueConstraint(
            "product_id", "number", name=op.f("uq_product_decision_product_id_number")
        ),
    )
    op.create_table(
        "product_term",
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_term_product_id_product")
        ),
        sa.PrimaryKeyConstraint("product_id", "term", name=op.f("pk_product_term")),
    )
    with op.batch_alter_table("product_term", schema=None) as batch_op:
        batch_op.create_index("ix_product_term_term", ["term"], unique=False)

    op.create_table(
        "product_variant",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("axes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("axes_key", sa.String(length=64), nullable=False),
        sa.Column(
            "attributes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_variant_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_variant")),
        sa.UniqueConstraint(
            "product_id", "axes_key", name=op.f("uq_product_variant_product_id_axes_key")
        ),
        sa.UniqueConstraint("sku", name=op.f("uq_product_variant_sku")),
    )
    with op.batch_alter_table("product_variant", schema=None) as batch_op:
        batch_op.create_index(
            "ix_product_variant_product_id_id", ["product_id", "id"], unique=False
        )

    op.create_table(
        "questionnaire_response",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=36), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "answers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("submitted_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_by_name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_questionnaire_response_product_id_product"),
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaire.id"],
            name=op.f("fk_questionnaire_response_questionnaire_id_questionnaire"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_response")),
        sa.UniqueConstraint(
            "questionnaire_id",
            "vendor",
            "product_id",
            name=op.f("uq_questionnaire_response_questionnaire_id_vendor_product_id"),
        ),
    )
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.create_index(
            "ix_questionnaire_response_product_id_id", ["product_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_questionnaire_response_questionnaire_id_id",
            ["questionnaire_id", "id"],
            unique=False,
        )

    op.create_table(
        "recommendation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("term_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("unmet_count", sa.Integer(), nullable=False),
        sa.Column("search_miss_count", sa.Integer(), nullable=False),
        sa.Column("requirement_count", sa.Integer(), nullable=False),
        sa.Column("weight_log2", sa.Double(), nullable=True),
        sa.Column("first_seen", shared.types.UtcDateTime(), nullable=False),
        sa.Column("last_seen", shared.types.UtcDateTime(), nullable=False),
        sa.Column("matched_product_id", sa.String(length=36), nullable=True),
        sa.Column("product_id", sa.String(length=36), nullable=True),
        sa.Column("dismiss_reason", sa.String(length=1000), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_by_name", sa.String(length=255), nullable=True),
        sa.Column("decided_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["matched_product_id"],
            ["product.id"],
            name=op.f("fk_recommendation_matched_product_id_product"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_recommendation_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation")),
        sa.UniqueConstraint("key", name=op.f("uq_recommendation_key")),
    )
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recommendation_matched_product_id", ["matched_product_id"], unique=False
        )
        batch_op.create_index("ix_recommendation_product_id", ["product_id"], unique=False)
        batch_op.create_index(
            "ix_recommendation_weight_log2_id", ["weight_log2", "id"], unique=False
        )

    op.create_table(
        "benchmark_score",
        sa.Column("benchmark_id", sa.String(length=36), nullable=False),
        sa.Column("criterion", sa.String(length=64), nullable=False),
        sa.Column("product_type", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=100), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["benchmark_id"],
            ["benchmark.id"],
            name=op.f("fk_benchmark_score_benchmark_id_benchmark"),
        ),
        sa.PrimaryKeyConstraint("benchmark_id", "criterion", name=op.f("pk_benchmark_score")),
    )
    with op.batch_alter_table("benchmark_score", schema=None) as batch_op:
        batch_op.create_index(
            "ix_benchmark_score_type_brand_criterion",
            ["product_type", "brand", "criterion", "score"],
            unique=False,
        )
        batch_op.create_index(
            "ix_benchmark_score_type_product_criterion",
            ["product_type", "product_id", "criterion", "score"],
            unique=False,
            sqlite_where=sa.text("product_id IS NOT NULL"),
            postgresql_where=sa.text("product_id IS NOT NULL"),
        )

    op.create_table(
        "recommendation_term",
        sa.Column("recommendation_id", sa.String(length=36), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendation.id"],
            name=op.f("fk_recommendation_term_recommendation_id_recommendation"),
        ),
        sa.PrimaryKeyConstraint("recommendation_id", "term", name=op.f("pk_recommendation_term")),
    )
    with op.batch_alter_table("recommendation_term", schema=None) as batch_op:
        batch_op.create_index("ix_recommendation_term_term", ["term"], unique=False)

    op.create_table(
        "requirement",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("recommendation_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=True),
        sa.Column("product_type", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("search_miss_count", sa.Integer(), nullable=False),
        sa.Column("first_seen", shared.types.UtcDateTime(), nullable=False),
        sa.Column("last_seen", shared.types.UtcDateTime(), nullable=False),
        sa.Column(
            "quotes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "feedback_refs",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("weight_log2", sa.Double(), nullable=False),
        sa.Column("met_by_product", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_by_name", sa.String(length=255), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendation.id"],
            name=op.f("fk_requirement_recommendation_id_recommendation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requirement")),
        sa.UniqueConstraint("key", "target", name=op.f("uq_requirement_key_target")),
    )
    with op.batch_alter_table("requirement", schema=None) as batch_op:
        batch_op.create_index("ix_requirement_count_id", ["count", "id"], unique=False)
        batch_op.create_index("ix_requirement_last_seen_id", ["last_seen", "id"], unique=False)
        batch_op.create_index(
            "ix_requirement_product_id_count_id", ["product_id", "count", "id"], unique=False
        )
        batch_op.create_index(
            "ix_requirement_product_type_count_id", ["product_type", "count", "id"], unique=False
        )
        batch_op.create_index(
            "ix_requirement_recommendation_id_count", ["recommendation_id", "count"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("requirement", schema=None) as batch_op:
        batch_op.drop_index("ix_requirement_recommendation_id_count")
        batch_op.drop_index("ix_requirement_product_type_count_id")
        batch_op.drop_index("ix_requirement_product_id_count_id")
        batch_op.drop_index("ix_requirement_last_seen_id")
        batch_op.drop_index("ix_requirement_count_id")

    op.drop_table("requirement")
    with op.batch_alter_table("recommendation_term", schema=None) as batch_op:
        batch_op.drop_index("ix_recommendation_term_term")

    op.drop_table("recommendation_term")
    with op.batch_alter_table("benchmark_score", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_benchmark_score_type_product_criterion",
            sqlite_where=sa.text("product_id IS NOT NULL"),
            postgresql_where=sa.text("product_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_benchmark_score_type_brand_criterion")

    op.drop_table("benchmark_score")
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.drop_index("ix_recommendation_weight_log2_id")
        batch_op.drop_index("ix_recommendation_product_id")
        batch_op.drop_index("ix_recommendation_matched_product_id")

    op.drop_table("recommendation")
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.drop_index("ix_questionnaire_response_questionnaire_id_id")
        batch_op.drop_index("ix_questionnaire_response_product_id_id")

    op.drop_table("questionnaire_response")
    with op.batch_alter_table("product_variant", schema=None) as batch_op:
        batch_op.drop_index("ix_product_variant_product_id_id")

    op.drop_table("product_variant")
    with op.batch_alter_table("product_term", schema=None) as batch_op:
        batch_op.drop_index("ix_product_term_term")

    op.drop_table("product_term")
    op.drop_table("product_decision")
    with op.batch_alter_table("product_change", schema=None) as batch_op:
        batch_op.drop_index("ix_product_change_product_id_id")

    op.drop_table("product_change")
    with op.batch_alter_table("product_case", schema=None) as batch_op:
        batch_op.drop_index("ix_product_case_product_id_stance_id")
        batch_op.drop_index("ix_product_case_product_id_id")

    op.drop_table("product_case")
    with op.batch_alter_table("benchmark", schema=None) as batch_op:
        batch_op.drop_index("ix_benchmark_product_type_id")
        batch_op.drop_index("ix_benchmark_product_type_brand")
        batch_op.drop_index("ix_benchmark_product_id")

    op.drop_table("benchmark")
    op.drop_table("research_criterion")
    op.drop_table("research_criteria_set")
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.drop_index("ix_questionnaire_product_type_id")

    op.drop_table("questionnaire")
    if op.get_bind().dialect.name == "postgresql":
        for column in TRIGRAM_COLUMNS:
            op.drop_index(f"ix_product_{column}_trgm", table_name="product")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index("ix_product_product_type_id")
        batch_op.drop_index("ix_product_lifecycle_id")
        batch_op.drop_index("ix_product_brand_id")

    op.drop_table("product")
    op.drop_table("product_type")
    drop_kernel_tables()
