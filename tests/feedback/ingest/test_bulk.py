"""Storage details: the bulk insert of the ingestion path stores values exactly as
SQLAlchemy's own insert, and finding centroids pack to float32."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, text

from services.feedback.ingest.bulk import insert_rows
from services.feedback.tables import customer_event
from services.feedback.tables import metadata as feedback_metadata
from services.feedback.triage.service import pack, unpack
from shared.db import Database
from shared.tables import metadata as kernel_metadata
from shared.tables import outbox
from shared.uow import UnitOfWork


async def test_bulk_rows_read_back_like_orm_rows(database_url: str) -> None:
    db = Database(database_url)
    await db.create_all([kernel_metadata, feedback_metadata])
    moment = datetime(2025, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    row = {
        "event_id": "bulk",
        "kind": "purchase",
        "occurred_at": moment,
        "product_id": "p-1",
        "sku": None,
        "customer_ref": "c-1",
        "text": "line one\nline two",
        "rating": None,
        "reason": None,
        "subject": None,
        "priority": None,
        "query": None,
        "quantity": 3,
        # Money is never a float: 10.10 must stay 10.10, not 10.1 or 10.0999...
        "unit_price_amount": Decimal("10.10"),
        "unit_price_currency": "EUR",
        "ingested_at": moment,
        "ingested_by": "key-1",
        "triage": "skipped",
    }
    try:
        async with UnitOfWork(db, service="feedback", on_commit=lambda: None) as uow:
            await insert_rows(uow, customer_event, [row])
            await uow.session.execute(insert(customer_event), [{**row, "event_id": "orm"}])
            await insert_rows(
                uow,
                outbox,
                [
                    {
                        "id": "o-1",
                        "topic": "t",
                        "key": None,
                        "type": "x",
                        "payload": "{}",
                        "headers": {"content-type": "application/cloudevents+json"},
                        "created_at": moment,
                        "attempts": 0,
                    }
                ],
            )
        async with db.reader() as session:
            bulk, orm = (
                await session.execute(select(customer_event).order_by(customer_event.c.event_id))
            ).all()
            (stored,) = (await session.execute(select(outbox))).all()
            if db.is_sqlite:
                raw = (
                    await session.execute(
                        text("SELECT occurred_at, unit_price_amount FROM customer_event")
                    )
                ).all()
                assert raw[0] == raw[1]
        assert bulk._mapping["occurred_at"] == moment
        assert bulk.unit_price_amount == Decimal("10.10")
        assert str(bulk.unit_price_amount) in {"10.10", "10.1000"}
        assert {k: v for k, v in bulk._mapping.items() if k not in {"seq", "event_id"}} == {
            k: v for k, v in orm._mapping.items() if k not in {"seq", "event_id"}
        }
        assert stored.headers == {"content-type": "application/cloudevents+json"}
        assert stored.created_at == moment
        assert stored.published_at is None
    finally:
        await db.dispose()


def test_embedding_sums_are_stored_as_float32() -> None:
    vector = [0.1, -2.5, 3.25, 1e-3]
    stored = pack(vector)
    assert len(stored) == 4 * len(vector)
    assert unpack(stored) == pytest.approx(vector, rel=1e-6)
