"""Competitor case studies on a product type (issue 14, part 1c)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.types

revision = "0007_competitor_case_studies"
down_revision = "0006_product_search_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_study",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_type", sa.String(length=64), nullable=False),
        sa.Column("competitor", sa.String(length=100), nullable=False),
        sa.Column("competitor_product", sa.String(length=200), nullable=False),
        sa.Column("strengths", sa.Text(), nullable=True),
        sa.Column("weaknesses", sa.Text(), nullable=True),
        sa.Column(
            "sources", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("author_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_by_name", sa.String(length=255), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_type"],
            ["product_type.code"],
            name=op.f("fk_case_study_product_type_product_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_study")),
    )
    with op.batch_alter_table("case_study", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_study_product_type_status_id", ["product_type", "status", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_study", schema=None) as batch_op:
        batch_op.drop_index("ix_case_study_product_type_status_id")
    op.drop_table("case_study")
