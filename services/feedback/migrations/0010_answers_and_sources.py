"""Answering customers and the product team's suggestions (issue 14, 1b and 1d).

An escalation may be forwarded to sales or answered (its status widens to hold
`forwarded`), and `answer` keeps each answer, the current one per source and the ones it
superseded, as the product's known questions and answers. Customer events, items and
findings say who wrote them (`origin`, `source`, `sources`): every row stored before was a
customer's."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.types

revision = "0010_answers_and_sources"
down_revision = "0009_customer_event_account"
branch_labels = None
depends_on = None

_CURRENT = sa.text("superseded_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "answer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(length=255), nullable=False),
        sa.Column("answered_at", shared.types.UtcDateTime(), nullable=False),
        sa.Column("replaces", sa.String(length=36), nullable=True),
        sa.Column("superseded_at", shared.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer")),
    )
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_answer_current_product",
            ["product_id", "answered_at", "id"],
            unique=False,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        )
        batch_op.create_index(
            "ix_answer_current_source",
            ["source_kind", "source_id"],
            unique=True,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        )

    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=8),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("forwarded_at", shared.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("forwarded_by", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("forward_note", sa.String(length=1000), nullable=True))

    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=16), server_default="customer", nullable=False)
        )
    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="customer", nullable=False)
        )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sources", sa.String(length=64), server_default="customer", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_column("sources")
    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.drop_column("source")
    with op.batch_alter_table("customer_event", schema=None) as batch_op:
        batch_op.drop_column("origin")

    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_column("forward_note")
        batch_op.drop_column("forwarded_by")
        batch_op.drop_column("forwarded_at")
    # Forwarded escalations were open ones still waiting for an answer, and answered ones are
    # done, as the older states say it.
    op.execute("UPDATE escalation SET status = 'open' WHERE status = 'forwarded'")
    op.execute("UPDATE escalation SET status = 'done' WHERE status = 'answered'")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=16),
            type_=sa.String(length=8),
            existing_nullable=False,
        )

    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_answer_current_source", sqlite_where=_CURRENT, postgresql_where=_CURRENT
        )
        batch_op.drop_index(
            "ix_answer_current_product", sqlite_where=_CURRENT, postgresql_where=_CURRENT
        )

    op.drop_table("answer")
