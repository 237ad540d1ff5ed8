"""Surveys of the target market (issue 14): the `survey` table, a survey response's survey,
segment and answers on `customer_event`, and `survey_reading`, triage's reading of a
response that names no product."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.types

revision = "0011_surveys"
down_revision = "0010_answers_and_sources"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_RESPONSE = sa.text("survey_id IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("product_type", sa.String(length=64), nullable=True),
        sa.Column("questions", _JSON, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.Column("closed_at", shared.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey")),
    )
    op.create_table(
        "survey_reading",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("triaged_at", shared.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_survey_reading")),
    )
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("survey_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("segment", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("answers", _JSON, nullable=True))
        batch_op.create_index(
            "ix_customer_event_survey_id",
            ["survey_id", "seq"],
            unique=False,
            sqlite_where=_RESPONSE,
            postgresql_where=_RESPONSE,
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_customer_event_survey_id", sqlite_where=_RESPONSE, postgresql_where=_RESPONSE
        )
        batch_op.drop_column("answers")
        batch_op.drop_column("segment")
        batch_op.drop_column("survey_id")
    op.drop_table("survey_reading")
    op.drop_table("survey")
