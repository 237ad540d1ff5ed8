"""The outbox relay and the inbox consumer against the real embedded broker."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from shared.broker import EmbeddedBroker, ensure_topics
from shared.events import CONTENT_TYPE, decode, encode, kafka_headers, new_event
from shared.tables import inbox
from tests.kernel.sample_service import create_app, seen
from tests.support import auth, eventually, running

pytestmark = pytest.mark.broker

WRITE = auth("catalog:write")


async def read_topic(
    bootstrap: str, topic: str, count: int, timeout_s: float = 30, key: str | None = None
) -> list:
    """Read a topic from the beginning until `count` records (with `key`, if given) arrived."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(r for r in part if key is None or r.key == key.encode())
    finally:
        await consumer.stop()
    return records


async def produce(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(topic, value=value, key=key, headers=kafka_headers())
    finally:
        await producer.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def topic() -> str:
    return unique("sample.events")


async def seen_count(app, subject: str) -> int | None:
    async with app.state.runtime.db.reader() as session:
        return await session.scalar(select(seen.c.count).where(seen.c.subject == subject))


async def test_events_arrive_as_cloudevents_keyed_by_subject(make_settings, broker, database_url):
    app = create_app(make_settings(database_urls={"sample": database_url}))
    note_id = unique("note")
    async with running(app) as client:
        response = await client.post(
            "/v1/notes", json={"id": note_id, "text": "hello"}, headers=WRITE
        )
        assert response.status_code == 201
        assert response.headers["x-request-id"]
        await eventually(lambda: _backlog_is(app, 0))

    mine = await read_topic(broker.bootstrap, "sample.events", 1, key=note_id)
    assert len(mine) == 1, "exactly one record for this note"
    record = mine[0]
    assert dict(record.headers)["content-type"] == CONTENT_TYPE.encode()
    envelope = orjson.loads(record.value)
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "sample.note.created.v1"
    assert envelope["source"] == "/sample"
    assert envelope["subject"] == note_id
    assert envelope["datacontenttype"] == "application/json"
    assert envelope["data"] == {"text": "hello"}
    assert envelope["correlationid"] == response.headers["x-correlation-id"]
    uuid.UUID(envelope["id"])


async def _backlog_is(app, expected: int) -> bool:
    return await app.state.runtime.relay.backlog() == expected


async def test_redelivered_event_changes_nothing(make_settings, broker, topic):
    app = create_app(make_settings(), consumes=[topic])
    event = new_event(
        source="/sample", type="sample.note.created.v1", subject=unique("n"), data={"text": "once"}
    )
    # Sent after the copies under the same key, so consumed after them: once the marker is
    # in, every copy has been through the consumer.
    marker = new_event(
        source="/sample", type="sample.note.created.v1", subject=unique("m"), data={"text": "end"}
    )
    key = event.subject.encode()
    await ensure_topics(broker.bootstrap, [topic], partitions=3)
    # The same event three times, as a retried send or a replayed partition would bring it.
    await produce(broker.bootstrap, topic, [(key, encode(event))] * 3 + [(key, encode(marker))])
    async with running(app) as client:
        await eventually(lambda: _inbox_has(app, marker.id))
        assert await seen_count(app, event.subject) == 1
        ready = (await client.get("/readyz", headers=auth("admin"))).json()
        assert ready["consumer"]["handled"] == 2, "the event and the marker, each once"
        assert ready["consumer"]["lag"] == 0


async def _consumed_at_least(app, count: int) -> bool:
    return app.state.runtime.consumer.handled >= count


async def _relay_failed(app) -> bool:
    return app.state.runtime.relay.last_error is not None


async def _inbox_has(app, event_id: str) -> bool:
    async with app.state.runtime.db.reader() as session:
        found = await session.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id == event_id)
        )
    return found == 1


async def test_failing_handler_dead_letters_and_next_event_flows(make_settings, broker, topic):
    app = create_app(make_settings(consumer_max_attempts=3), consumes=[topic])
    subject = unique("n")
    bad = new_event(
        source="/sample", type="sample.note.created.v1", subject=subject, data={"fail": True}
    )
    good = new_event(
        source="/sample", type="sample.note.created.v1", subject=subject, data={"text": "after"}
    )
    await ensure_topics(broker.bootstrap, [topic], partitions=3)
    await produce(
        broker.bootstrap, topic, [(subject.encode(), encode(bad)), (subject.encode(), encode(good))]
    )
    async with running(app):
        await eventually(lambda: _consumed_at_least(app, 1))
        assert await seen_count(app, subject) == 1
        assert app.state.runtime.consumer.dead_lettered == 1

    dead = await read_topic(broker.bootstrap, "dlq.sample", 1, key=subject)
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert decode(dead[0].value).id == bad.id
    assert headers["dlq-error-type"] == b"RuntimeError"
    assert headers["dlq-error-message"] == b"told to fail"
    assert headers["dlq-original-topic"] == topic.encode()
    assert headers["dlq-attempts"] == b"3"
    assert headers["content-type"] == CONTENT_TYPE.encode()


async def test_unknown_types_are_skipped_and_stale_events_ignored(make_settings, broker, topic):
    app = create_app(make_settings(), consumes=[topic])
    subject = unique("n")

    def versioned(text: str, sequence: int, kind: str = "sample.note.created.v1"):
        return new_event(
            source="/sample", type=kind, subject=subject, data={"text": text}, sequence=sequence
        )

    newer, older = versioned("v2", 2), versioned("v1", 1)
    unknown = versioned("??", 3, kind="sample.note.exploded.v9")
    marker = versioned("v3", 3)
    await ensure_topics(broker.bootstrap, [topic], partitions=3)
    await produce(
        broker.bootstrap,
        topic,
        [(subject.encode(), encode(e)) for e in (newer, older, unknown, marker)],
    )
    async with running(app):
        await eventually(lambda: _inbox_has(app, marker.id))
        async with app.state.runtime.db.reader() as session:
            row = (await session.execute(select(seen).where(seen.c.subject == subject))).one()
    assert row.count == 2, "v2 and v3 applied; the stale v1 and the unknown type were not"
    assert row.last_text == "v3"


async def test_writes_succeed_while_broker_is_paused_and_nothing_is_lost(
    make_settings, database_url
):
    """SIGSTOP the broker longer than a send timeout: every write succeeds, its event waits
    in the outbox, and all arrive once the broker is back. How fast the writes answer
    meanwhile is a figure: tests/perf/bench_paused_broker.py prints it."""
    with EmbeddedBroker() as own_broker:
        settings = make_settings(
            kafka_bootstrap=own_broker.bootstrap,
            database_urls={"sample": database_url},
            relay_send_timeout_s=1.0,
            relay_max_backoff_s=0.5,
        )
        app = create_app(settings, handlers={})
        ids = [unique("paused") for _ in range(20)]
        async with running(app) as client:
            await client.post("/v1/notes", json={"id": unique("warm"), "text": "w"}, headers=WRITE)
            await eventually(lambda: _backlog_is(app, 0))
            own_broker.pause()
            try:
                for note_id in ids:
                    response = await client.post(
                        "/v1/notes", json={"id": note_id, "text": "p"}, headers=WRITE
                    )
                    assert response.status_code == 201
                # The relay failed meanwhile: a send or a producer start timed out (which one
                # comes first depends on the machine's load, so no row's attempts are counted).
                await eventually(lambda: _relay_failed(app))
                assert await app.state.runtime.relay.backlog() == len(ids)
            finally:
                own_broker.resume()
            await eventually(lambda: _backlog_is(app, 0), timeout_s=60)
        records = await read_topic(own_broker.bootstrap, "sample.events", len(ids) + 1)
        arrived = {r.key.decode() for r in records}
        assert set(ids) <= arrived


async def test_relay_keeps_order_per_key(make_settings, broker, database_url):
    app = create_app(
        make_settings(database_urls={"sample": database_url}, relay_batch_size=7), handlers={}
    )
    subject = unique("ordered")
    async with running(app):
        for n in range(25):
            async with app.state.runtime.uow() as uow:
                uow.publish(
                    new_event(
                        source="/sample",
                        type="sample.note.created.v1",
                        subject=subject,
                        data={"n": n},
                    ),
                    topic="sample.events",
                )
        await eventually(lambda: _backlog_is(app, 0))
    records = await read_topic(broker.bootstrap, "sample.events", 25, key=subject)
    assert [orjson.loads(r.value)["data"]["n"] for r in records] == list(range(25))
