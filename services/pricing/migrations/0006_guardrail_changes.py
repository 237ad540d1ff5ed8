"""Guardrail changes with who asked, why and who approved; prices keep the violations they
had when proposed.

An earlier price gets the violations it was last checked with: for a proposal those are
its proposal's, for a decided price the approval's, the best record there is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.types

revision = "0006_guardrail_changes"
down_revision = "0005_revoked_api_keys"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "guardrail_change",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("price_list", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("previous", JSON, nullable=False),
        sa.Column("guardrails", JSON, nullable=False),
        sa.Column("loosens", JSON, nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_by_name", sa.String(length=255), nullable=False),
        sa.Column("requested_by_owner", sa.String(length=255), nullable=False),
        sa.Column("requested_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_by_name", sa.String(length=255), nullable=True),
        sa.Column("decided_by_owner", sa.String(length=255), nullable=True),
        sa.Column("decided_at", shared.types.UtcDateTime(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["price_list"],
            ["price_list.code"],
            name=op.f("fk_guardrail_change_price_list_price_list"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardrail_change")),
    )
    with op.batch_alter_table("guardrail_change", schema=None) as batch_op:
        batch_op.create_index("ix_guardrail_change_price_list_id", ["price_list", "id"])

    # Added nullable, filled, then made NOT NULL: existing rows need a value first.
    op.add_column("price", sa.Column("violations_at_proposal", JSON, nullable=True))
    op.execute("UPDATE price SET violations_at_proposal = guardrail_violations")
    with op.batch_alter_table("price", schema=None) as batch_op:
        batch_op.alter_column("violations_at_proposal", existing_type=JSON, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("price", schema=None) as batch_op:
        batch_op.drop_column("violations_at_proposal")
    with op.batch_alter_table("guardrail_change", schema=None) as batch_op:
        batch_op.drop_index("ix_guardrail_change_price_list_id")
    op.drop_table("guardrail_change")
