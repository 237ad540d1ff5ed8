"""The consumer's failure paths against the real broker (reliability issue 9): a database
outage, a batch longer than the poll interval, a broker that lost its memory, events that
fail validation, and a redelivered dead letter."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import select

from shared.broker import ensure_topics, group_members
from shared.events import CloudEvent, dlq_topic, encode, new_event
from shared.tables import dead_letter
from shared.uow import UnitOfWork
from tests.kernel.sample_service import count_note, create_app
from tests.kernel.test_delivery import produce, seen_count, unique
from tests.support import PrivatePostgres, auth, eventually, running

pytestmark = pytest.mark.broker

NOTE = "sample.note.created.v1"


@pytest.fixture
def topic() -> str:
    return unique("sample.events")


def note(subject: str, **data: Any) -> CloudEvent:
    return new_event(source="/sample", type=NOTE, subject=subject, data=data)


async def produce_events(bootstrap: str, topic: str, subject: str, *events: CloudEvent) -> None:
    await produce(bootstrap, topic, [(subject.encode(), encode(event)) for event in events])


async def stored_dead_letters(app: FastAPI) -> list[Any]:
    async with app.state.runtime.db.reader() as session:
        return list((await session.execute(select(dead_letter))).all())


async def read_to_end(bootstrap: str, topic: str, key: str) -> list[Any]:
    """Every record of `topic` with `key`, read up to the topic's current end."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            for part in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(part)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        while time.monotonic() < deadline:
            positions = {tp: await consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                break
            for part in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(part)
    finally:
        await consumer.stop()
    return [record for record in records if record.key == key.encode()]


# --- 1. A database outage holds events; it does not dead-letter them -------------------


async def test_events_consumed_during_a_database_outage_are_applied_after_it(
    make_settings, broker, topic, private_postgres: PrivatePostgres
):
    url = await private_postgres.create_database()
    settings = make_settings(
        database_urls={"sample": url}, consumer_max_attempts=3, consumer_max_backoff_s=0.5
    )
    app = create_app(settings, consumes=[topic])
    subject = unique("outage")
    await ensure_topics(broker.bootstrap, [topic], partitions=3)
    async with running(app) as client:
        consumer = app.state.runtime.consumer
        await produce_events(broker.bootstrap, topic, subject, note(subject, text="before"))
        await eventually(lambda: _seen_is(app, subject, 1))

        private_postgres.stop()
        during = [note(subject, text=f"during-{n}") for n in range(5)]
        await produce_events(broker.bootstrap, topic, subject, *during)
        # Far more failed tries than consumer_max_attempts: the old consumer dead-lettered here.
        await eventually(lambda: _database_failures_at_least(consumer, 6))
        ready = (await client.get("/readyz", headers=auth("admin"))).json()
        assert ready["consumer"]["state"] == "waiting for the database"
        assert ready["consumer"]["waiting_partitions"] == 1

        private_postgres.start()
        await eventually(lambda: _seen_is(app, subject, 6), timeout_s=60)
        assert consumer.dead_lettered == 0
        assert await stored_dead_letters(app) == []
        ready = (await client.get("/readyz", headers=auth("admin"))).json()
        assert ready["consumer"]["state"] == "running"


async def _seen_is(app: FastAPI, subject: str, count: int) -> bool:
    try:
        return await seen_count(app, subject) == count
    except Exception:  # the database is still coming back
        return False


async def _database_failures_at_least(consumer: Any, count: int) -> bool:
    return consumer.database_failures >= count


# --- 2. A batch longer than the poll interval is not redone and dead-lettered again ------


async def test_a_batch_longer_than_the_poll_interval_is_dead_lettered_once(
    make_settings, broker, topic
):
    # 16 failing events at ~0.25 s each take longer than the 3 s poll interval.
    settings = make_settings(
        consumer_max_attempts=2, consumer_backoff_s=0.25, consumer_max_poll_interval_ms=3_000
    )
    app = create_app(settings, consumes=[topic])
    subject = unique("long")
    bad = [note(subject, fail=True, n=n) for n in range(16)]
    marker = note(subject, text="after")
    await ensure_topics(broker.bootstrap, [topic], partitions=3)
    await produce_events(broker.bootstrap, topic, subject, *bad, marker)
    async with running(app):
        await eventually(lambda: _committed_to_the_end(broker.bootstrap, topic), timeout_s=90)
        assert await seen_count(app, subject) == 1
        assert app.state.runtime.consumer.dead_lettered == len(bad)
        stored = await stored_dead_letters(app)
    assert sorted(row.event_id for row in stored) == sorted(event.id for event in bad)
    on_topic = await read_to_end(broker.bootstrap, "dlq.sample", subject)
    assert Counter(orjson.loads(r.value)["id"] for r in on_topic) == Counter(e.id for e in bad)


async def _committed_to_the_end(bootstrap: str, topic: str) -> bool:
    """The group `sample` has committed every record of `topic`."""
    # A client of the group that subscribes to nothing reads its offsets without joining.
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id="sample")
    await reader.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        ends = await reader.end_offsets(partitions)
        committed = {tp: await reader.committed(tp) for tp in partitions}
    finally:
        await reader.stop()
    return all(committed[tp] == end for tp, end in ends.items() if end > 0)


async def test_a_redelivered_dead_letter_is_not_dead_lettered_again(make_settings, broker, topic):
    app = create_app(make_settings(consumer_max_attempts=1), consumes=[topic])
    subject = unique("again")
    bad = note(subject, fail=True)
    marker = note(subject, text="after")
    await ensure_topics(broker.bootstrap, [topic], partitions=3)
    # The same event twice, as a batch redone after a lost group membership brings it.
    await produce_events(broker.bootstrap, topic, subject, bad, bad, marker)
    async with running(app):
        await eventually(lambda: _seen_is(app, subject, 1))
        assert app.state.runtime.consumer.dead_lettered == 1
        stored = await stored_dead_letters(app)
    assert [row.event_id for row in stored] == [bad.id]
    on_topic = await read_to_end(broker.bootstrap, "dlq.sample", subject)
    assert [orjson.loads(r.value)["id"] for r in on_topic] == [bad.id]


# --- 3. A broker that lost its memory: rebuild, and not ready meanwhile -----------------


async def test_a_consumer_rebuilds_after_the_broker_restarts_empty(
    make_settings, topic, broker_to_restart
):
    first, fresh = broker_to_restart
    settings = make_settings(kafka_bootstrap=first.bootstrap)
    app = create_app(settings, consumes=[topic])
    subject = unique("restart")
    await ensure_topics(first.bootstrap, [topic], partitions=3)
    async with running(app) as client:
        consumer = app.state.runtime.consumer
        await produce_events(first.bootstrap, topic, subject, note(subject, text="one"))
        await eventually(lambda: _seen_is(app, subject, 1))

        first.stop()
        fresh.start()  # the same port, no topics, no groups, no offsets
        await eventually(lambda: _readyz_says(client, 503, "rebuilding"), timeout_s=60)
        await eventually(lambda: _readyz_says(client, 200, "running"), timeout_s=60)
        assert consumer.partitions > 0
        admin = AIOKafkaAdminClient(bootstrap_servers=fresh.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics([topic, "dlq.sample"])
        finally:
            await admin.close()
        by_name = {t["topic"]: t for t in described}
        # The broker may have auto-created the consumed topic on a metadata request
        # (Tansu does, with its own partition count); the dead-letter topic is ours.
        assert {by_name[name]["error_code"] for name in (topic, "dlq.sample")} == {0}
        assert len(by_name["dlq.sample"]["partitions"]) == settings.topic_partitions

        await produce_events(fresh.bootstrap, topic, subject, note(subject, text="two"))
        await eventually(lambda: _seen_is(app, subject, 2), timeout_s=60)


async def test_old_positions_committed_to_a_restarted_broker_skip_no_event(
    make_settings, topic, broker_to_restart
):
    """A member frozen across an empty restart of the broker thaws and commits the positions
    it reached on the lost broker into the new one (the fault suite lost 15-30 re-published
    events so). The consumer sees the new cluster id and reads from the partition's
    beginning, so the events below those positions are applied too."""
    first, fresh = broker_to_restart
    settings = make_settings(kafka_bootstrap=first.bootstrap)
    app = create_app(settings, consumes=[topic])
    subject = unique("stale")
    partition = TopicPartition(topic, 0)
    after = [note(subject, text=f"after {n}") for n in range(30)]

    async def fill_behind_its_back() -> None:
        await ensure_topics(fresh.bootstrap, [topic], partitions=1)
        await _commit_as_group(fresh.bootstrap, "sample", partition, offset=20)
        await produce_events(fresh.bootstrap, topic, subject, *after)

    await ensure_topics(first.bootstrap, [topic], partitions=1)
    async with running(app):
        before = [note(subject, text=f"before {n}") for n in range(20)]
        await produce_events(first.bootstrap, topic, subject, *before)
        await eventually(lambda: _seen_is(app, subject, 20))

        # Blocking calls: the app's loop, and its consumer, stand still throughout.
        first.stop()
        fresh.start()  # here, not on another thread: the broker dies with its thread
        _with_this_loop_frozen(fill_behind_its_back)

        await eventually(lambda: _seen_is(app, subject, 50), timeout_s=60)


def _with_this_loop_frozen(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `work` on another thread and block this event loop until it ends: the app's
    consumer stands still meanwhile, as a process stopped with SIGSTOP would."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, work()).result(timeout=60)


async def _commit_as_group(bootstrap: str, group: str, tp: TopicPartition, *, offset: int) -> None:
    """Commit `offset` for `group` from outside it, as a thawed member with a stale member
    id does: a broker that does not know the group takes it."""
    committer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await committer.start()
    try:
        committer.assign([tp])
        await committer.commit({tp: offset})
        assert await committer.committed(tp) == offset
    finally:
        await committer.stop()


async def _readyz_says(client: Any, status: int, consumer_state: str) -> bool:
    response = await client.get("/readyz", headers=auth("admin"))
    body = response.json()
    return (
        response.status_code == status and body.get("consumer", {}).get("state") == consumer_state
    )


async def test_group_members_counts_the_members_the_broker_knows(broker, topic):
    await ensure_topics(broker.bootstrap, [topic], partitions=1)
    group = unique("members")
    members = [
        AIOKafkaConsumer(
            topic, bootstrap_servers=broker.bootstrap, group_id=group, session_timeout_ms=6_000
        )
        for _ in range(2)
    ]
    for member in members:
        await member.start()
    try:

        async def both_joined() -> bool:
            for member in members:
                await member.getmany(timeout_ms=100)
            return await group_members(broker.bootstrap, group) == 2

        await eventually(both_joined, timeout_s=60)
    finally:
        for member in members:
            await member.stop()


# --- 4. An event that fails validation is dead-lettered at once -------------------------


class NoteText(BaseModel):
    text: str


class StrictNoteHandler:
    """count_note behind a payload model; remembers how often it saw each event."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def __call__(self, event: CloudEvent, uow: UnitOfWork) -> None:
        self.calls[event.id] += 1
        NoteText.model_validate(event.data)
        await count_note(event, uow)


async def test_events_that_fail_validation_go_to_the_dead_letters_at_once(
    make_settings, broker, topic
):
    strict = StrictNoteHandler()
    # A retry would wait 30 s: the marker behind the bad events arrives long before.
    settings = make_settings(consumer_max_attempts=5, consumer_backoff_s=30)
    app = create_app(settings, consumes=[topic], handlers={NOTE: strict})
    subject = unique("invalid")
    rejected = note(subject, text=["not", "a", "string"])
    marker = note(subject, text="after")
    await ensure_topics(broker.bootstrap, [topic], partitions=3)
    await produce(
        broker.bootstrap,
        topic,
        [
            (subject.encode(), b"{not json"),
            (subject.encode(), orjson.dumps({"hello": "not a cloudevent"})),
            (subject.encode(), encode(rejected)),
            (subject.encode(), encode(marker)),
        ],
    )
    async with running(app):
        await eventually(lambda: _seen_is(app, subject, 1), timeout_s=20)
        assert strict.calls[rejected.id] == 1
        assert app.state.runtime.consumer.dead_lettered == 3
        stored = sorted(await stored_dead_letters(app), key=lambda row: row.offset)
    assert [(row.type, row.error_type, row.attempts) for row in stored] == [
        (None, "JSONDecodeError", 0),
        (None, "ValidationError", 0),
        (NOTE, "ValidationError", 1),
    ]
    assert stored[2].event_id == rejected.id
    assert stored[0].value == b"{not json"
    assert all(row.status == "open" and row.topic == topic for row in stored)


# --- 6. Records that jammed the dead-letter path, or left no trace -----------------------


async def test_records_the_dead_letter_copy_could_not_carry_go_through(
    make_settings, broker, topic
):
    """Three records hostile to the dead-letter path, then a valid event behind them on the
    same partition. Before: a value over the producer's limit failed the copy to
    `dlq.<group>` and a header without a value failed the stored row, each on every restart
    (the partition jammed); the same bytes on a second topic were taken for a redelivery."""
    other = unique("sample.more")
    # The dead-letter producer sends at most max_event_bytes + 64 KiB: 65 KiB here.
    app = create_app(make_settings(max_event_bytes=1024), consumes=[topic, other])
    subject = unique("jam")
    huge = b"X" * 100_000
    marker = note(subject, text="after")
    await ensure_topics(broker.bootstrap, [topic, other], partitions=3)
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap, enable_idempotence=False, max_request_size=1_000_000
    )
    await producer.start()
    try:
        for target, value, headers in (
            (topic, huge, []),
            (topic, b"null header", [("x-null", None)]),
            (topic, b"same bytes", []),
            (other, b"same bytes", []),
            (topic, encode(marker), []),
        ):
            await producer.send_and_wait(target, value=value, key=subject.encode(), headers=headers)
    finally:
        await producer.stop()

    async with running(app):
        await eventually(lambda: _seen_is(app, subject, 1), timeout_s=30)
        stored = {(row.topic, bytes(row.value)): row for row in await stored_dead_letters(app)}
    assert set(stored) == {
        (topic, huge),
        (topic, b"null header"),
        (topic, b"same bytes"),
        (other, b"same bytes"),
    }
    assert ["x-null", None] in stored[(topic, b"null header")].headers
    copies = await read_to_end(broker.bootstrap, dlq_topic("sample"), subject)
    by_size = {dict(c.headers).get("dlq-value-omitted"): c.value for c in copies}
    assert by_size[b"100000 bytes, kept in the dead-letter store"] is None
    assert len(copies) == 4
