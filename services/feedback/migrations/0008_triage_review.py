"""Triage confidence, items for review and people's labels (issue 15): each item keeps the
model's confidence, whether it waits for a person, its embedding (to move it between
findings) and who labelled it; `triage_label` keeps each correction with its text."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.types

revision = "0008_triage_review"
down_revision = "0007_customer_event_source"
branch_labels = None
depends_on = None

_REVIEW = sa.text("needs_review")


def upgrade() -> None:
    op.create_table(
        "triage_label",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("hazard", sa.Boolean(), nullable=False),
        sa.Column("labelled_by", sa.String(length=255), nullable=False),
        sa.Column("labelled_at", shared.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["feedback_item.id"], name=op.f("fk_triage_label_item_id_feedback_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_label")),
    )
    with op.batch_alter_table("triage_label", schema=None) as batch_op:
        batch_op.create_index("ix_triage_label_item_id", ["item_id"], unique=False)

    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confidence", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("needs_review", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("embedding", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("labelled_by", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("labelled_at", shared.types.UtcDateTime(), nullable=True))
        batch_op.create_index(
            "ix_feedback_item_needs_review",
            ["id"],
            unique=False,
            sqlite_where=_REVIEW,
            postgresql_where=_REVIEW,
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_feedback_item_needs_review", sqlite_where=_REVIEW, postgresql_where=_REVIEW
        )
        batch_op.drop_column("labelled_at")
        batch_op.drop_column("labelled_by")
        batch_op.drop_column("embedding")
        batch_op.drop_column("needs_review")
        batch_op.drop_column("confidence")

    with op.batch_alter_table("triage_label", schema=None) as batch_op:
        batch_op.drop_index("ix_triage_label_item_id")

    op.drop_table("triage_label")
