"""Triage's records name the customer event they read by its `seq`, not its `event_id`.

An `event_id` is unique only within its source (0007): two storefronts may both send
`order-1001`. Feedback items, escalations and survey readings were keyed by `event_id`
alone, so triage applying one storefront's event marked the other's done unread, or failed
on the item's unique `event_id` again and again. Each now carries `event_seq`, the event's
`seq`, as its key; items and escalations keep `event_id` to show.

Rows stored before are matched to their event by `event_id` (and product, where they name
one); where two sources' events share the id, the earlier event is taken, the one triage
read first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_items_keyed_by_event_seq"
down_revision = "0011_surveys"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _event_of(table: str, *, product: bool) -> str:
    """The seq of the event a row of `table` names by its `event_id` (and product)."""
    same_product = f" AND e.product_id = {table}.product_id" if product else ""
    return (
        f"(SELECT min(e.seq) FROM customer_event AS e WHERE e.event_id = {table}.event_id"  # noqa: S608 - our names
        f"{same_product})"
    )


def upgrade() -> None:
    for table in ("feedback_item", "escalation", "survey_reading"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("event_seq", _SEQ, nullable=True))
    for table in ("feedback_item", "escalation"):
        op.execute(
            f"UPDATE {table} SET event_seq = coalesce({_event_of(table, product=True)},"  # noqa: S608 - our names
            f" {_event_of(table, product=False)}) WHERE event_id IS NOT NULL"
        )
    op.execute(
        f"UPDATE survey_reading SET event_seq = {_event_of('survey_reading', product=False)}"  # noqa: S608 - our names
    )

    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.drop_constraint("uq_feedback_item_event_id", type_="unique")
        batch_op.alter_column("event_seq", existing_type=_SEQ, nullable=False)
        batch_op.create_unique_constraint(op.f("uq_feedback_item_event_seq"), ["event_seq"])
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_constraint("uq_escalation_event_id_rule", type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_escalation_event_seq_rule"), ["event_seq", "rule"]
        )
    with op.batch_alter_table("survey_reading", schema=None) as batch_op:
        batch_op.drop_constraint("pk_survey_reading", type_="primary")
        batch_op.drop_column("event_id")
        batch_op.alter_column("event_seq", existing_type=_SEQ, nullable=False)
        batch_op.create_primary_key("pk_survey_reading", ["event_seq"])


def downgrade() -> None:
    with op.batch_alter_table("survey_reading", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.String(length=128), nullable=True))
    op.execute(
        "UPDATE survey_reading SET event_id ="
        " (SELECT e.event_id FROM customer_event AS e WHERE e.seq = survey_reading.event_seq)"
    )
    with op.batch_alter_table("survey_reading", schema=None) as batch_op:
        batch_op.drop_constraint("pk_survey_reading", type_="primary")
        batch_op.drop_column("event_seq")
        batch_op.alter_column("event_id", existing_type=sa.String(length=128), nullable=False)
        batch_op.create_primary_key("pk_survey_reading", ["event_id"])
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_constraint("uq_escalation_event_seq_rule", type_="unique")
        batch_op.create_unique_constraint(op.f("uq_escalation_event_id_rule"), ["event_id", "rule"])
        batch_op.drop_column("event_seq")
    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.drop_constraint("uq_feedback_item_event_seq", type_="unique")
        batch_op.create_unique_constraint(op.f("uq_feedback_item_event_id"), ["event_id"])
        batch_op.drop_column("event_seq")
