"""Feedback's requirement events through the real broker into the catalog's consumer.

Each test uses its own texts and product ids: the broker and the consumer group `catalog` live
for the whole session. Each waits until the group has committed past its events, so no later
app in the group gets them again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import func, select

from services.catalog.app import create_app
from services.catalog.requirements.domain import recommendation_id, requirement_key
from services.catalog.requirements.events import REQUIREMENT_IDENTIFIED
from services.catalog.requirements.tables import recommendation, requirement
from shared.broker import EmbeddedBroker, ensure_topics
from shared.events import CloudEvent, decode, encode, kafka_headers, new_event
from shared.tables import inbox
from tests.catalog.conftest import READ
from tests.support import running

pytestmark = pytest.mark.broker

TOPIC = "feedback.events"


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 60) -> None:
    """Wait, in a bounded loop, until `check` holds (joining the group alone takes seconds)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout_s}s")


async def produce(bootstrap: str, events: list[CloudEvent], *, topic: str = TOPIC) -> None:
    await ensure_topics(bootstrap, [topic], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for event in events:
            assert event.subject is not None
            await producer.send_and_wait(
                topic, value=encode(event), key=event.subject.encode(), headers=kafka_headers()
            )
    finally:
        await producer.stop()


async def all_committed(bootstrap: str, group: str, topic: str) -> bool:
    """Whether `group` has committed every partition of `topic` up to its end."""
    # Assigned by hand, this reader fetches the group's offsets without joining the group.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        committed = {tp: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()
    return all(end == 0 or (committed[tp] or 0) >= end for tp, end in ends.items())


def identified(text: str, **data: Any) -> CloudEvent:
    body = {
        "kind": "requirement",
        "text": text,
        "occurrences": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        **data,
    }
    subject = body.get("product_id") or f"query:{requirement_key(text)}"
    return new_event(source="/feedback", type=REQUIREMENT_IDENTIFIED, subject=subject, data=body)


async def handled(app: FastAPI, event_id: str) -> bool:
    async with app.state.runtime.db.reader() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(inbox)
            .where(inbox.c.consumer == "catalog", inbox.c.event_id == event_id)
        )
    return found == 1


async def requirements_with(app: FastAPI, key: str) -> list[Any]:
    async with app.state.runtime.db.reader() as session:
        return list(
            (await session.execute(select(requirement).where(requirement.c.key == key))).all()
        )


async def test_a_redelivered_event_does_not_double_the_count(
    make_settings: Any, broker: EmbeddedBroker, database_url: str
) -> None:
    word = uuid.uuid4().hex[:10]
    text = f"kettle with {word} control"
    key = requirement_key(text)
    product_id = str(uuid.uuid4())  # a product this catalog does not know: still recorded
    first = identified(
        text,
        product_id=product_id,
        occurrences=3,
        quote="it must keep my tea at 70",
        requirement_id="finding-1",
        severity="medium",  # a field this reader does not know: ignored
    )
    more = identified(text, product_id=product_id, occurrences=2, requirement_id="finding-1")
    # Another requirement of the product, so on the same key: consumed after the copies.
    marker = identified(f"marker {uuid.uuid4().hex[:10]}", product_id=product_id)
    # The same event twice, as a retried send or a replayed partition would bring it.
    await produce(broker.bootstrap, [first, first, more, marker])

    app = create_app(make_settings(catalog_database_url=database_url))
    async with running(app) as client:
        await eventually(lambda: handled(app, marker.id))
        (row,) = await requirements_with(app, key)
        assert row.count == 5, "the duplicate was not counted"
        assert row.version == 2
        assert row.product_id == product_id
        assert row.quotes == ["it must keep my tea at 70"]
        assert row.feedback_refs == ["finding-1"]
        assert row.origin == "feedback"
        async with app.state.runtime.db.reader() as session:
            idea = (
                await session.execute(
                    select(recommendation).where(recommendation.c.id == recommendation_id(key))
                )
            ).one()
        assert (idea.count, idea.unmet_count, idea.requirement_count) == (5, 5, 1)
        resp = await client.get(f"/v1/recommendations/{idea.id}", headers=READ)
        assert resp.json()["score"] == pytest.approx(5, rel=1e-3)
        assert app.state.runtime.consumer.handled >= 2
        await eventually(lambda: all_committed(broker.bootstrap, "catalog", TOPIC))


async def test_an_unreadable_event_is_dead_lettered_and_the_next_flows(
    make_settings: Any, broker: EmbeddedBroker
) -> None:
    word = uuid.uuid4().hex[:10]
    text = f"teapot {word}"
    bad = identified(text, occurrences=0)
    good = identified(text, occurrences=4, kind="search_miss")
    await produce(broker.bootstrap, [bad, good])

    app = create_app(make_settings(consumer_max_attempts=2))
    async with running(app):
        await eventually(lambda: handled(app, good.id))
        (row,) = await requirements_with(app, requirement_key(text))
        assert (row.count, row.kind) == (4, "search_miss")
        assert not await handled(app, bad.id)
        await eventually(lambda: all_committed(broker.bootstrap, "catalog", TOPIC))

    dead = await read_dead_letters(broker.bootstrap, bad.subject or "")
    assert [decode(record.value).id for record in dead] == [bad.id]
    headers = dict(dead[0].headers)
    assert headers["dlq-error-type"] == b"InvalidEvent"
    assert b"occurrences" in headers["dlq-error-message"]
    assert headers["dlq-original-topic"] == TOPIC.encode()


async def read_dead_letters(bootstrap: str, key: str, timeout_s: float = 30) -> list[Any]:
    consumer = AIOKafkaConsumer(
        "dlq.catalog", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_s
        while not records and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records += [r for r in part if r.key == key.encode()]
    finally:
        await consumer.stop()
    return records
