"""Feedback against the real embedded broker: accepted events and findings on their topics,
a redelivered catalog event changing nothing, and ingestion while the broker is frozen."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from services.feedback.app import create_app
from services.feedback.tables import product
from shared.broker import EmbeddedBroker, ensure_topics
from shared.events import CONTENT_TYPE, encode, kafka_headers, new_event
from shared.settings import Settings
from shared.tables import inbox
from tests.feedback.conftest import FAST, READ, event, ingest, known_product, triaged
from tests.feedback.fakes import FakeTriage
from tests.support import caught_up, consumed, eventually, running

pytestmark = pytest.mark.broker


async def records(
    bootstrap: str, topic: str, match: Callable[[Any], bool], count: int, timeout_s: float = 30
) -> list[Any]:
    """Read `topic` from the start until `count` records match (or the time is up), then on
    to the end the topic had at that moment, so a copy already published is seen too.
    Callers let the relay drain first: then everything it sent is before that end."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_s
        ends: dict[Any, int] | None = None
        while time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(r for r in batch if match(r))
            if ends is None and len(found) >= count:
                ends = await consumer.end_offsets(list(consumer.assignment()))
            if ends is not None and all(
                [await consumer.position(tp) >= end for tp, end in ends.items()]
            ):
                break
    finally:
        await consumer.stop()
    return found


async def drained(app: Any) -> None:
    """Wait until the app's relay has published everything in its outbox."""

    async def empty() -> bool:
        return await app.state.runtime.relay.backlog() == 0

    await eventually(empty, timeout_s=60)


def data_of(record: Any) -> dict[str, Any]:
    return orjson.loads(record.value)["data"]


async def test_accepted_events_and_findings_reach_their_topics(
    make_settings: Callable[..., Settings], broker: EmbeddedBroker, database_url: str
) -> None:
    app = create_app(
        make_settings(feedback_database_url=database_url, run_consumers=False),
        feedback=FAST,
        triage=FakeTriage,
    )
    product_id = f"p-{uuid.uuid4().hex[:8]}"
    burn = event("review", rating=1, text="The lid burned my hand", product_id=product_id)
    bought = event("purchase", product_id=product_id)
    async with running(app) as client:
        await known_product(app, product_id, f"SKU-{product_id}")
        await ingest(client, burn, bought)
        await triaged(client, burn["event_id"])
        await drained(app)

        accepted = await records(
            broker.bootstrap,
            "storefront.customer-events",
            lambda r: r.key == product_id.encode(),
            2,
        )
        assert [data_of(r)["event_id"] for r in accepted] == [burn["event_id"], bought["event_id"]]
        assert dict(accepted[0].headers)["content-type"] == CONTENT_TYPE.encode()
        assert data_of(accepted[1])["unit_price"] == {"amount": "19.99", "currency": "EUR"}

        findings = await records(
            broker.bootstrap, "feedback.events", lambda r: r.key == product_id.encode(), 2
        )
        envelopes = [orjson.loads(r.value) for r in findings]
        assert [e["type"] for e in envelopes] == [
            "feedback.finding.opened.v1",
            "feedback.escalation.created.v1",
        ]
        opened = envelopes[0]["data"]
        assert (opened["kind"], opened["severity"], opened["status"], opened["item_count"]) == (
            "defect",
            "critical",
            "open",
            1,
        )
        assert envelopes[0]["source"] == "/feedback"
        assert envelopes[0]["subject"] == product_id


async def in_inbox(app: Any, event_id: str) -> bool:
    """Whether the app's consumer has taken this event through its inbox."""
    async with app.state.runtime.db.reader() as session:
        found = await session.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id == event_id)
        )
    return found == 1


async def test_a_redelivered_catalog_event_resolves_waiting_events_once(
    make_settings: Callable[..., Settings], broker: EmbeddedBroker, database_url: str
) -> None:
    app = create_app(
        make_settings(feedback_database_url=database_url), feedback=FAST, triage=FakeTriage
    )
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    product_id = f"p-{uuid.uuid4().hex[:8]}"
    waiting = [
        event("question", product_id=None, sku=sku, text="Is the lid loose?"),
        event("purchase", product_id=None, sku=sku),
    ]
    created = new_event(
        source="/catalog",
        type="catalog.product.created.v1",
        subject=product_id,
        data={"product_id": product_id, "sku": sku, "name": "Kettle", "product_type": "kettle"},
        sequence=1,
    )
    # The next event of the product, on the same key: consumed after every copy.
    marker = new_event(
        source="/catalog",
        type="catalog.product.updated.v1",
        subject=product_id,
        data={"product_id": product_id, "sku": sku, "changes": []},
        sequence=2,
    )
    async with running(app) as client:
        # Metrics are the process's: let the group handle what earlier tests left on the
        # topic first, so that only this test's copies are counted below.
        await eventually(
            lambda: caught_up(broker.bootstrap, "feedback", ["catalog.events"]), timeout_s=60
        )
        duplicates_before = await consumed(
            client, group="feedback", topic="catalog.events", outcome="duplicate"
        )
        await ingest(client, *waiting)
        await ensure_topics(broker.bootstrap, ["catalog.events"], partitions=3)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            # The same event three times, as a retried send or a replayed partition brings it.
            for sent in (created, created, created, marker):
                await producer.send_and_wait(
                    "catalog.events",
                    encode(sent),
                    key=product_id.encode(),
                    headers=kafka_headers(),
                )
        finally:
            await producer.stop()

        await eventually(lambda: in_inbox(app, marker.id))
        # The inbox, not only the product's sequence, turned the two copies away.
        duplicates = await consumed(
            client, group="feedback", topic="catalog.events", outcome="duplicate"
        )
        assert duplicates - duplicates_before == 2
        await triaged(client, waiting[0]["event_id"])
        resolved = (
            await client.get(f"/v1/customer-events/{waiting[1]['event_id']}", headers=READ)
        ).json()
        assert resolved["product_id"] == product_id

        mine = {e["event_id"] for e in waiting}
        await drained(app)
        published = await records(
            broker.bootstrap,
            "storefront.customer-events",
            lambda r: data_of(r)["event_id"] in mine,
            2,
        )
        assert sorted(data_of(r)["event_id"] for r in published) == sorted(mine)
        assert {r.key for r in published} == {product_id.encode()}

        async with app.state.runtime.db.reader() as session:
            handled = await session.scalar(
                select(func.count()).select_from(inbox).where(inbox.c.event_id == created.id)
            )
            known = (await session.execute(select(product).where(product.c.sku == sku))).all()
        assert handled == 1
        assert [(row.product_id, row.name, row.product_type) for row in known] == [
            (product_id, "Kettle", "kettle")
        ]


async def test_ingestion_succeeds_while_the_broker_is_frozen_and_nothing_is_lost(
    make_settings: Callable[..., Settings], tmp_path: Any
) -> None:
    # How fast the batch is accepted meanwhile is a figure: tests/perf/bench_paused_broker.py.
    with EmbeddedBroker() as frozen:
        settings = make_settings(
            feedback_database_url=f"sqlite+aiosqlite:///{tmp_path / 'frozen.db'}",
            kafka_bootstrap=frozen.bootstrap,
            relay_send_timeout_s=2,
            relay_max_backoff_s=1,
            run_consumers=False,
        )
        app = create_app(settings, feedback=FAST, triage=FakeTriage)
        batch = [event("purchase", event_id=f"frozen-{i}") for i in range(300)]
        async with running(app) as client:
            await known_product(app)
            await ensure_topics(frozen.bootstrap, ["storefront.customer-events"], partitions=3)
            frozen.pause()
            try:
                body = await ingest(client, *batch)
                assert body["accepted"] == 300
                assert await app.state.runtime.relay.backlog() == 300

                async def relay_failed() -> bool:
                    return app.state.runtime.relay.last_error is not None

                await eventually(relay_failed)  # it tried, timed out, and backs off
                assert await app.state.runtime.relay.backlog() == 300
            finally:
                frozen.resume()

            await drained(app)
            arrived = await records(
                frozen.bootstrap,
                "storefront.customer-events",
                lambda r: data_of(r)["event_id"].startswith("frozen-"),
                300,
            )
        assert {data_of(r)["event_id"] for r in arrived} == {e["event_id"] for e in batch}
