"""Group commit of ingestion (`IngestWriter`): batches waiting for the writer are stored in
one transaction, each answered with its own counts; an id two of them share is the first
one's; one batch that cannot be stored fails alone. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.feedback.ingest import service as ingestion
from services.feedback.ingest.writer import MAX_GROUP_ROWS, IngestWriter
from services.feedback.tables import customer_event
from shared.auth import Principal
from shared.errors import EventTooLarge
from shared.settings import Settings
from tests.feedback.conftest import event, known_product
from tests.support import CountedTransactions


def shop(owner: str) -> Principal:
    return Principal(subject=f"{owner}-key", name=owner, scopes=frozenset(), owner=owner)


def prepared(app: FastAPI, owner: str, *event_ids: str, **fields: Any) -> ingestion.Prepared:
    return ingestion.prepare(
        events=[event("review", event_id=event_id, **fields) for event_id in event_ids],
        principal=shop(owner),
        now=app.state.runtime.clock(),
    )


async def stored_ids(app: FastAPI) -> list[tuple[str, str]]:
    async with app.state.runtime.db.reader() as session:
        rows = await session.execute(
            select(customer_event.c.source, customer_event.c.event_id).order_by(
                customer_event.c.seq
            )
        )
    return [(row.source, row.event_id) for row in rows]


async def test_waiting_batches_share_one_transaction_and_each_gets_its_counts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await known_product(app)
    transactions = CountedTransactions(app)
    writer = IngestWriter(unit_of_work=transactions, grouped=True)
    batches = [
        prepared(app, "shop-a", "a-1", "a-2"),
        prepared(app, "shop-a", "a-2", "a-3"),  # a-2 again: the first batch's
        prepared(app, "shop-b", "a-1"),  # another storefront's a-1: its own event
        prepared(app, "shop-a", "a-1"),  # only a replay
    ]

    results = await asyncio.gather(*(writer.store(batch) for batch in batches))

    assert transactions.opened == 1
    assert [(r.accepted, r.duplicates) for r in results] == [(2, 0), (1, 1), (1, 0), (0, 1)]
    assert await stored_ids(app) == [
        ("shop-a", "a-1"),
        ("shop-a", "a-2"),
        ("shop-a", "a-3"),
        ("shop-b", "a-1"),
    ]


async def test_a_group_holds_at_most_its_row_bound(app: FastAPI, client: httpx.AsyncClient) -> None:
    transactions = CountedTransactions(app)
    writer = IngestWriter(unit_of_work=transactions, grouped=True)
    size = MAX_GROUP_ROWS // 2
    batches = [prepared(app, "shop-a", *(f"b{n}-{i}" for i in range(size))) for n in range(3)]

    results = await asyncio.gather(*(writer.store(batch) for batch in batches))

    assert [r.accepted for r in results] == [size] * 3
    assert transactions.opened == 2


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    # Events over 2 KiB are refused (413) when they would be published.
    return make_settings(
        feedback_database_url=database_url, run_consumers=False, max_event_bytes=2048
    )


async def test_a_batch_that_cannot_be_stored_fails_alone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await known_product(app)
    transactions = CountedTransactions(app)
    writer = IngestWriter(unit_of_work=transactions, grouped=True)
    good = [prepared(app, "shop-a", "g-1"), prepared(app, "shop-a", "g-2")]
    too_large = prepared(app, "shop-a", "big-1", text="The lid cracked. " * 200)

    results = await asyncio.gather(
        writer.store(good[0]),
        writer.store(too_large),
        writer.store(good[1]),
        return_exceptions=True,
    )

    assert isinstance(results[1], EventTooLarge)
    assert [r.accepted for r in (results[0], results[2])] == [1, 1]  # type: ignore[union-attr]
    # The group's transaction, then each batch in its own.
    assert transactions.opened == 4
    assert await stored_ids(app) == [("shop-a", "g-1"), ("shop-a", "g-2")]
    async with app.state.runtime.db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(customer_event)) == 2
