"""The outbox relay's failure paths, against the real embedded broker (reliability issue 9)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, NotEnoughReplicasError
from prometheus_client import REGISTRY
from sqlalchemy import event, func, insert, select, update

import shared.relay
from shared.broker import EmbeddedBroker, ensure_topics, free_port
from shared.db import Database
from shared.events import encode, kafka_headers, new_event
from shared.relay import OutboxRelay
from shared.settings import Settings
from shared.tables import metadata, outbox
from shared.uow import UnitOfWork
from tests.kernel.sample_service import create_app
from tests.support import assert_problem, auth, eventually, running

pytestmark = pytest.mark.broker

WRITE = auth("catalog:write")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sample_event(subject: str, **data: Any) -> Any:
    return new_event(source="/sample", type="sample.note.created.v1", subject=subject, data=data)


async def write_events(db: Database, topic: str, events: Sequence[Any]) -> None:
    """Commit events to the outbox through a unit of work."""
    async with UnitOfWork(db, service="sample", on_commit=lambda: None) as uow:
        for one in events:
            uow.publish(one, topic=topic)


async def write_unchecked(db: Database, topic: str, events: Sequence[Any]) -> None:
    """Outbox rows written past the unit of work's size check, as rows written before the
    check existed (or by a bulk insert) may be."""
    rows = [
        {
            "id": one.id,
            "topic": topic,
            "key": one.subject,
            "type": one.type,
            "payload": encode(one).decode(),
            "headers": {name: value.decode() for name, value in kafka_headers()},
            "created_at": datetime.now(UTC),
            "attempts": 0,
        }
        for one in events
    ]
    async with db.sessions() as session, session.begin():
        await session.execute(insert(outbox), rows)


async def read_data(bootstrap: str, topic: str, count: int, timeout_s: float = 30) -> list[dict]:
    """The `data` of a topic's first `count` records, read from the beginning, in order."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(found) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                found.extend(orjson.loads(r.value)["data"] for r in records)
    finally:
        await consumer.stop()
    return found[:count]


async def read_keys_until(
    bootstrap: str, topic: str, expected: set[str], timeout_s: float = 30
) -> set[str]:
    """The keys a fresh consumer reads from the beginning, until `expected` all arrived."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + timeout_s
        while not expected <= seen and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                seen.update(r.key.decode() for r in records if r.key)
    finally:
        await consumer.stop()
    return seen


@contextlib.asynccontextmanager
async def relaying(relay: OutboxRelay) -> AsyncIterator[OutboxRelay]:
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)


async def backlog_is(relay: OutboxRelay, expected: int) -> bool:
    return await relay.backlog() == expected


async def outbox_row(db: Database, event_id: str) -> Any:
    async with db.reader() as session:
        return (await session.execute(select(outbox).where(outbox.c.id == event_id))).one()


class _RecordingBatch:
    """A producer batch that remembers the values it took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.values: list[bytes] = []

    def append(self, *, timestamp: Any, key: Any, value: Any, headers: Any = ()) -> Any:
        taken = self.inner.append(timestamp=timestamp, key=key, value=value, headers=headers)
        if taken is not None:
            self.values.append(value)
        return taken

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Refusals:
    """What the fake broker refuses: the first `times` writes holding `marker`, with `error`."""

    def __init__(self, *, marker: bytes, error: type[KafkaError], times: int) -> None:
        self.marker = marker
        self.error = error
        self.left = times

    def refuse(self, values: Sequence[Any]) -> bool:
        if self.left > 0 and any(self.marker in (value or b"") for value in values):
            self.left -= 1
            return True
        return False


class RefusingProducer:
    """The relay's real producer on the real broker, except that the broker answers an error
    to the writes `refusals` names. A batch holding one fails whole: Kafka appends a record
    batch all or nothing."""

    def __init__(self, inner: AIOKafkaProducer, refusals: Refusals) -> None:
        self._inner = inner
        self._refusals = refusals

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def send(self, topic: str, value: Any = None, key: Any = None, **options: Any) -> Any:
        if self._refusals.refuse([value]):
            return self._refusal()
        return await self._inner.send(topic, value=value, key=key, **options)

    def create_batch(self) -> _RecordingBatch:
        return _RecordingBatch(self._inner.create_batch())

    async def send_batch(self, batch: _RecordingBatch, topic: str, *, partition: int) -> Any:
        if self._refusals.refuse(batch.values):
            return self._refusal()
        return await self._inner.send_batch(batch.inner, topic, partition=partition)

    def _refusal(self) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        future.set_exception(self._refusals.error())
        return future


@pytest.fixture
def refusing_broker(monkeypatch: pytest.MonkeyPatch) -> Callable[[Refusals], None]:
    """Gives the relay producers whose broker refuses some writes (see RefusingProducer)."""
    real = shared.relay.new_producer

    def install(refusals: Refusals) -> None:
        def build(settings: Settings, **overrides: Any) -> RefusingProducer:
            return RefusingProducer(real(settings, **overrides), refusals)

        monkeypatch.setattr(shared.relay, "new_producer", build)

    return install


# 1. One oversized event must not stop a service's relay.


async def test_an_event_over_the_size_limit_is_refused_where_it_is_made(make_settings):
    app = create_app(make_settings(max_event_bytes=4096), handlers={})
    note_id = unique("huge")
    async with running(app) as client:
        response = await client.post(
            "/v1/notes", json={"id": note_id, "text": "x" * 5000}, headers=WRITE
        )
        body = assert_problem(response, 413, detail_has="4096")
        assert body["max_event_bytes"] == 4096
        assert body["event_type"] == "sample.note.created.v1"
        async with app.state.runtime.db.reader() as session:
            written = await session.scalar(select(func.count()).select_from(outbox))
        assert written == 0, "the whole transaction rolled back"
        ok = await client.post("/v1/notes", json={"id": unique("n"), "text": "x"}, headers=WRITE)
        assert ok.status_code == 201


async def test_an_event_too_large_to_send_is_parked_and_the_rest_flow(
    make_settings, broker, database_url, topic
):
    app = create_app(make_settings(database_urls={"sample": database_url}), handlers={})
    before, after, other = sample_event("a", n=0), sample_event("a", n=2), sample_event("b", n=3)
    huge = sample_event("a", n=1, text="x" * 1_200_000)
    async with running(app) as client:
        runtime = app.state.runtime
        await write_unchecked(runtime.db, topic, [before, huge, after, other])
        runtime.relay.notify()
        await eventually(lambda: backlog_is(runtime.relay, 0), timeout_s=20)

        parked = await outbox_row(runtime.db, huge.id)
        assert parked.parked_at is not None
        assert parked.published_at is None
        assert "bytes" in parked.last_error
        ready = (await client.get("/readyz", headers=auth("admin"))).json()
        assert ready["outbox_parked"] == 1
        assert ready["outbox_backlog"] == 0
        metrics = (await client.get("/metrics")).text
        assert 'productops_outbox_parked{service="sample"} 1.0' in metrics

    published = await read_data(broker.bootstrap, topic, 3)
    assert [data["n"] for data in published] == [0, 2, 3], "each once, in order, none stuck"


async def test_a_record_the_broker_refuses_is_parked_and_its_key_goes_on(
    make_settings, broker, db, topic, refusing_broker
):
    refusing_broker(Refusals(marker=b"refuse-me", error=MessageSizeTooLargeError, times=1_000))
    relay = OutboxRelay(db=db, settings=make_settings(), service=unique("svc"))
    events = [sample_event("k", n=n) for n in range(4)]
    events[1] = sample_event("k", n=1, text="refuse-me")
    await write_events(db, topic, events)
    async with relaying(relay):
        await eventually(lambda: backlog_is(relay, 0), timeout_s=20)
    assert await relay.parked() == 1
    row = await outbox_row(db, events[1].id)
    assert row.parked_at is not None
    assert "MessageSizeTooLargeError" in row.last_error
    assert [data["n"] for data in await read_data(broker.bootstrap, topic, 3)] == [0, 2, 3]


async def test_a_row_for_an_illegal_topic_is_parked(make_settings, broker, db, topic):
    relay = OutboxRelay(db=db, settings=make_settings(), service=unique("svc"))
    stray = sample_event("t", n=0)
    await write_events(db, "not a topic!", [stray])
    await write_events(db, topic, [sample_event("t", n=1)])
    try:
        assert await relay.drain() == 1
    finally:
        await relay.close()
    assert "InvalidTopicError" in (await outbox_row(db, stray.id)).last_error
    assert [data["n"] for data in await read_data(broker.bootstrap, topic, 1)] == [1]


async def test_parked_events_can_be_retried_or_discarded(make_settings, broker, db, topic):
    strict = OutboxRelay(db=db, settings=make_settings(max_event_bytes=16_384), service="s1")
    big = sample_event("p", n=1, text="x" * 100_000)
    bigger = sample_event("p", n=2, text="y" * 100_000)
    await write_events(db, topic, [big, bigger])
    try:
        assert await strict.drain() == 0
        assert await strict.parked() == 2
    finally:
        await strict.close()

    roomy = OutboxRelay(db=db, settings=make_settings(outbox_retention_s=0), service="s1")
    try:
        assert await roomy.retry_parked(big.id) is True
        assert await roomy.retry_parked(big.id) is False, "already back in the queue"
        assert await roomy.drain() == 1
        assert (await outbox_row(db, big.id)).published_at is not None

        assert await roomy.discard_parked(bigger.id, reason="superseded by n=3") is True
        assert await roomy.parked() == 0
        discarded = await outbox_row(db, bigger.id)
        assert discarded.discarded_at is not None
        assert discarded.discard_reason == "superseded by n=3"
        assert await roomy.retry_parked(bigger.id) is False, "a discarded event stays discarded"
        assert await roomy.discard_parked(unique("nope"), reason="unknown id") is False
        assert await roomy.drain() == 0
        assert await roomy.prune() == 2, "published and discarded rows both age out"
    finally:
        await roomy.close()
    assert [data["n"] for data in await read_data(broker.bootstrap, topic, 1)] == [1]


# 2. A failed write holds back the rest of its key.


async def test_a_failed_write_holds_back_the_rest_of_its_key(
    make_settings, broker, db, topic, refusing_broker
):
    refusing_broker(Refusals(marker=b"refuse-me", error=NotEnoughReplicasError, times=1))
    relay = OutboxRelay(
        db=db, settings=make_settings(relay_max_backoff_s=0.2), service=unique("svc")
    )
    events = [sample_event("k", n=n) for n in range(6)]
    events[1] = sample_event("k", n=1, text="refuse-me")
    await write_events(db, topic, events)
    async with relaying(relay):
        await eventually(lambda: backlog_is(relay, 0), timeout_s=20)
    published = await read_data(broker.bootstrap, topic, 6)
    assert [data["n"] for data in published] == list(range(6))
    assert await relay.parked() == 0, "a retryable refusal parks nothing"


# 3. Commits during an outage do not cut the backoff short.


async def test_commits_during_an_outage_do_not_cut_the_backoff_short(make_settings, db, topic):
    port = free_port()  # nothing listens here yet: the broker is away
    service = unique("svc")
    relay = OutboxRelay(
        db=db,
        settings=make_settings(
            kafka_bootstrap=f"127.0.0.1:{port}", relay_max_backoff_s=2.0, relay_poll_s=3600
        ),
        service=service,
    )

    def failures() -> float:
        value = REGISTRY.get_sample_value("productops_relay_failures_total", {"service": service})
        return value or 0.0

    async def failed_at_least(count: int) -> bool:
        return failures() >= count

    await write_events(db, topic, [sample_event("o", n=0)])
    async with relaying(relay):
        await eventually(lambda: failed_at_least(1))
        # Commits keep coming, far faster than any backoff, and each one notifies the relay.
        # Counts, not durations: were a wake-up an attempt, the failures would follow the
        # commits into the hundreds; the relay retries once per backoff (a few in all).
        before = failures()
        for _ in range(10_000):
            relay.notify()
            await asyncio.sleep(0)
        assert failures() - before < 20, failures() - before

        # The wake-ups were remembered: once the broker is back, the event goes out after the
        # current backoff, not at the next poll (an hour away).
        with EmbeddedBroker(port) as back:
            await eventually(lambda: backlog_is(relay, 0), timeout_s=30)
            assert [d["n"] for d in await read_data(back.bootstrap, topic, 1)] == [0]


# 4. A broker that comes back empty gets the retained outbox window again.


async def test_a_broker_that_comes_back_empty_gets_the_retained_events_again(
    make_settings, database_url
):
    with EmbeddedBroker() as first:
        settings = make_settings(
            kafka_bootstrap=first.bootstrap,
            database_urls={"sample": database_url},
            relay_max_backoff_s=0.5,
            relay_send_timeout_s=2.0,
        )
        app = create_app(settings, handlers={})
        async with running(app) as client:
            before = [unique("before") for _ in range(3)]
            for note_id in before:
                response = await client.post(
                    "/v1/notes", json={"id": note_id, "text": "b"}, headers=WRITE
                )
                assert response.status_code == 201
            await eventually(lambda: backlog_is(app.state.runtime.relay, 0))

            first.stop()
            with EmbeddedBroker(first.port) as second:
                after = unique("after")
                response = await client.post(
                    "/v1/notes", json={"id": after, "text": "a"}, headers=WRITE
                )
                assert response.status_code == 201
                wanted = {*before, after}
                seen = await read_keys_until(second.bootstrap, "sample.events", wanted)
                assert wanted <= seen


async def test_a_relay_starting_against_an_empty_broker_republishes_its_window(
    make_settings, db, topic
):
    with EmbeddedBroker() as first:
        settings = make_settings(kafka_bootstrap=first.bootstrap)
        await ensure_topics(first.bootstrap, [topic], partitions=1)
        events = [sample_event("w", n=n) for n in range(3)]
        await write_events(db, topic, events)
        earlier = OutboxRelay(db=db, settings=settings, service="sample")
        try:
            assert await earlier.drain() == 3
        finally:
            await earlier.close()
        first.stop()
        # A new process and a new, empty broker: the window is the only copy left.
        with EmbeddedBroker(first.port) as second:
            later = OutboxRelay(db=db, settings=settings, service="sample")
            try:
                assert await later.drain() == 3
            finally:
                await later.close()
            published = await read_data(second.bootstrap, topic, 3)
    assert [data["n"] for data in published] == [0, 1, 2]


# 5. One relay per SQLite file (PostgreSQL: tests/kernel/test_postgres_relay.py).


async def test_one_relay_leads_a_sqlite_file(make_settings, broker, tmp_path, topic):
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first, second = Database(url), Database(url)
    await first.create_all([metadata])
    settings = make_settings()
    relays = [OutboxRelay(db=db, settings=settings, service="sample") for db in (first, second)]
    try:
        await write_events(first, topic, [sample_event("l", n=n) for n in range(5)])
        counts = await asyncio.gather(*(relay.drain() for relay in relays))
        assert sorted(counts) == [0, 5], "one relay published, the other stood by"
        leader, follower = relays if counts[0] == 5 else relays[::-1]

        await write_events(first, topic, [sample_event("l", n=5)])
        assert await follower.drain() == 0
        await leader.close()  # gives up the file lock
        assert await follower.drain() == 1, "the follower takes over"
    finally:
        for relay in relays:
            await relay.close()
        await first.dispose()
        await second.dispose()
    published = await read_data(broker.bootstrap, topic, 6)
    assert [data["n"] for data in published] == list(range(6))


# 6. Bounded batches and pruning; the broker's log file.


async def test_a_batch_is_bounded_by_bytes_as_well_as_rows(make_settings, db, topic):
    relay = OutboxRelay(db=db, settings=make_settings(relay_batch_max_bytes=4096), service="s")
    await write_events(db, topic, [sample_event("b", n=n, text="x" * 1000) for n in range(10)])
    rows = await relay._next_batch()
    assert 1 <= len(rows) < 10
    assert sum(len(row.payload.encode()) for row in rows) <= 4096

    async with db.sessions() as session, session.begin():
        await session.execute(outbox.delete())
    await write_events(db, topic, [sample_event("b", n=0, text="x" * 6000), sample_event("b")])
    assert len(await relay._next_batch()) == 1, "a row over the bound still goes, alone"


async def test_prune_deletes_in_bounded_chunks(
    make_settings: Callable[..., Settings], db: Database, topic: str
) -> None:
    await write_events(db, topic, [sample_event("old", n=n) for n in range(25)])
    async with db.sessions() as session, session.begin():
        await session.execute(update(outbox).values(published_at=datetime.now(UTC) - timedelta(2)))
    deletes: list[int] = []

    def count_deletes(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(cursor.rowcount)

    relay = OutboxRelay(
        db=db, settings=make_settings(outbox_retention_s=86_400, outbox_chunk_rows=10), service="s"
    )
    event.listen(db.engine.sync_engine, "after_cursor_execute", count_deletes)
    try:
        assert await relay.prune() == 25
    finally:
        event.remove(db.engine.sync_engine, "after_cursor_execute", count_deletes)
    assert max(deletes) <= 10, deletes
    assert sum(deletes) == 25


def test_the_broker_log_file_is_closed_across_restarts(tmp_path):
    log_path = tmp_path / "broker.log"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        broker = EmbeddedBroker(log_path=log_path)
        for _ in range(2):
            broker.start()
            broker.stop()
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]
    assert log_path.exists()
