"""Migration 0012 keys triage's records by their event's `seq`: rows stored before it are
matched to their event, also where two storefronts sent the same `event_id`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import column, func, insert, select, table

from services.feedback.tables import (
    customer_event,
    escalation,
    feedback_item,
    finding,
    survey_reading,
)
from shared.db import Database
from shared.migrations import schema_drift, upgrade
from shared.stack.components import load_history

AT = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


def an_event(source: str, event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "source": source,
        "event_id": event_id,
        "kind": "review",
        "occurred_at": AT,
        "product_id": "prod-1",
        "customer_ref": "c-1",
        "ingested_at": AT,
        "ingested_by": f"{source}-key",
        "triage": "done",
        **fields,
    }


# The three tables as revision 0011 made them: keyed by `event_id`.
OLD_ITEM = table(
    "feedback_item",
    *(column(name) for name in ("id", "event_id", "product_id", "kind", "category")),
    *(column(name) for name in ("severity", "sentiment", "safety_hazard", "topic", "quote")),
    *(column(name) for name in ("finding_id", "occurred_at", "triaged_at")),
)
OLD_ESCALATION = table(
    "escalation",
    *(column(name) for name in ("id", "route", "reason", "rule", "product_id", "finding_id")),
    *(column(name) for name in ("event_id", "due_at", "status", "created_at")),
)
OLD_READING = table(
    "survey_reading",
    *(column(name) for name in ("event_id", "category", "severity", "sentiment", "topic")),
    column("triaged_at"),
)


async def test_rows_stored_before_are_matched_to_their_events(db: Database) -> None:
    history = load_history("feedback")
    await upgrade(db, history, "0011_surveys")
    async with db.engine.begin() as conn:
        # Two storefronts' events share an id; the first one's was triaged.
        await conn.execute(
            insert(customer_event),
            [
                an_event("storefront-1", "order-1"),
                an_event("storefront-2", "order-1"),
                an_event("storefront-1", "q-1", kind="question", text="Price for 40?"),
                an_event("storefront-1", "s-1", kind="survey_response", product_id=None),
            ],
        )
        seqs = dict(
            (
                await conn.execute(
                    # The first event of each id: the one triage read.
                    select(customer_event.c.event_id, func.min(customer_event.c.seq)).group_by(
                        customer_event.c.event_id
                    )
                )
            ).all()
        )
        await conn.execute(
            insert(finding).values(
                id="f-1",
                product_id="prod-1",
                kind="defect",
                severity="high",
                status="new",
                item_count=1,
                safety_hazard=False,
                topic="lid",
                representative_quote="cracked",
                representative_event_id="order-1",
                representative_score=1.0,
                embedding_sum=b"",
                regression=False,
                first_seen=AT,
                last_seen=AT,
                version=1,
                created_at=AT,
                updated_at=AT,
            )
        )
        await conn.execute(
            insert(OLD_ITEM).values(
                id="item-1",
                event_id="order-1",
                product_id="prod-1",
                kind="review",
                category="defect",
                severity="high",
                sentiment=-0.5,
                safety_hazard=False,
                topic="lid",
                quote="The lid cracked",
                finding_id="f-1",
                occurred_at=AT,
                triaged_at=AT,
            )
        )
        await conn.execute(
            insert(OLD_ESCALATION).values(
                id="esc-1",
                route="sales",
                reason="price",
                rule="sales_question",
                product_id="prod-1",
                finding_id="f-1",
                event_id="q-1",
                due_at=AT,
                status="open",
                created_at=AT,
            )
        )
        await conn.execute(
            insert(OLD_READING).values(
                event_id="s-1",
                category="other",
                severity="low",
                sentiment=0.0,
                topic="general",
                triaged_at=AT,
            )
        )

    await upgrade(db, history)

    assert await schema_drift(db, history) == []
    async with db.reader() as session:
        item = (await session.execute(select(feedback_item.c.event_seq))).scalar_one()
        raised = (await session.execute(select(escalation.c.event_seq))).scalar_one()
        read = (await session.execute(select(survey_reading.c.event_seq))).scalar_one()
    assert (item, raised, read) == (seqs["order-1"], seqs["q-1"], seqs["s-1"])
