"""The outbox relay: publishes committed events in order, marks them, retries, prunes.

Delivery is at least once. A send that timed out may still have been written, so it is
sent again and consumers dedupe through their inbox (see docs/delivery.md).

Order per key: each round sends at most one record batch per partition, which Kafka appends
all or nothing, and the next round starts from the oldest row not yet sent. A round that
fails (or leaves a row behind) writes its marks at once, so the next one starts from the
oldest row not yet published: when a write fails, no later row of its key goes out before
it. Marks of whole rounds are written together (`relay_mark_interval_s`).

A row the broker can never take (too large, malformed) is parked: set aside with its error,
counted in `/readyz` and `/metrics`, and the rows after it go on, like a dead letter. An
admin re-queues it (`retry_parked`) or discards it with a reason (`discard_parked`).

A broker that comes back empty (the embedded one keeps data in memory) gets the retained
window again: published rows not yet pruned are re-queued and re-sent in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeAlias

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnsupportedForMessageFormatError,
)
from aiokafka.partitioner import DefaultPartitioner, murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.structs import RecordMetadata
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Delete,
    LargeBinary,
    Select,
    Text,
    Update,
    bindparam,
    cast,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.backoff import Backoff
from shared.broker import ensure_topics, kafka_security
from shared.broker_watch import BrokerWatch
from shared.clock import Clock, utc_now
from shared.db import Database, one_of, rows_affected
from shared.leadership import relay_leadership
from shared.observability import EVENTS_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_PARKED, RELAY_FAILURES
from shared.settings import Settings
from shared.tables import outbox

log = logging.getLogger(__name__)

_PRUNE_EVERY_S = 300.0
# Room beside the largest event for its key, headers and the record and batch framing.
_RECORD_HEADROOM = 64 * 1024
_PARTITIONER = DefaultPartitioner()
_LEGAL_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
# Errors about the record itself: sending it again can never succeed, so it is parked.
# aiokafka marks more errors non-retriable (authorization, timeouts, UnknownError...), but
# those are about the cluster or a setting; parking on them would set every event aside
# until someone fixed it, so they back off and retry like an outage.
_REFUSED_RECORD = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
    InvalidTopicError,
    InvalidTimestampError,
    UnsupportedForMessageFormatError,
)
_PENDING = (outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
_PARKED = (
    outbox.c.published_at.is_(None),
    outbox.c.parked_at.is_not(None),
    outbox.c.discarded_at.is_(None),
)
_INDEX_ORDER = text("SET LOCAL enable_bitmapscan = off")
# What sending one batch came to: where it was written, or the error it failed with.
_Outcome: TypeAlias = RecordMetadata | BaseException | None


def max_request_bytes(settings: Settings) -> int:
    """The producer's `max_request_size`: the largest event, plus its key, headers, framing."""
    return settings.max_event_bytes + _RECORD_HEADROOM


def new_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    """A producer for the relay: every replica acknowledges, small linger to batch."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        **kafka_security(settings),
        "acks": "all",
        # The embedded broker refuses InitProducerId; order and dedupe come from the outbox.
        "enable_idempotence": False,
        "linger_ms": 2,
        "max_batch_size": 256 * 1024,
        "max_request_size": max_request_bytes(settings),
        "request_timeout_ms": int(settings.relay_send_timeout_s * 1000),
        "retry_backoff_ms": 100,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


@dataclass(frozen=True)
class _Record:
    """An outbox row as the bytes Kafka gets."""

    row: Any
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(cls, row: Any) -> _Record:
        """From a row of `_next_batch`, whose headers are their stored JSON text."""
        key = row.key.encode() if row.key else None
        # A list of its own: aiokafka's record builder takes no other sequence.
        headers = list(_headers(row.headers))
        return cls(row=row, key=key, value=row.payload.encode(), headers=headers)

    @property
    def size(self) -> int:
        size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(
            self.key, self.value, self.headers
        )
        return size


@dataclass
class _PartitionBatch:
    """The rows of one round bound for one partition, as one record batch."""

    partition: TopicPartition
    builder: BatchBuilder
    rows: list[Any] = field(default_factory=list)


class OutboxRelay:
    """Publishes one service's outbox; one relay per database leads (see shared/leadership)."""

    def __init__(
        self, *, db: Database, settings: Settings, service: str, clock: Clock = utc_now
    ) -> None:
        self._db = db
        self._clock = clock
        self._retry = Backoff(first_s=0.1, cap_s=settings.relay_max_backoff_s)
        self._settings = settings
        self._service = service
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._leadership = relay_leadership(db, service)
        self._watch = BrokerWatch(
            settings.bootstrap_servers,
            timeout_s=settings.relay_send_timeout_s,
            security=kafka_security(settings),
        )
        self._batch_query = self._oldest_pending()
        self._batch_after_query = self._oldest_pending(after=bindparam("after"))
        self._window_checked = False
        self._checked_at: float | None = None
        self._ready_topics: set[str] = set()
        # Partitions whose batch the broker refused whole: their rows go one at a time until
        # the refused one is found and parked (value: how many rows are still suspect).
        self._isolating: dict[TopicPartition, int] = {}
        # Rows the broker took whose mark is not written yet. Marks are written together, at
        # most `relay_mark_interval_s` apart and whenever a drain ends: where another process
        # writes to the same SQLite database (an API-only replica ingesting), each write
        # waits for its lock, and one wait per interval instead of one per round keeps the
        # relay up with ingestion (issue 16, bench_ingest). Meanwhile the next rounds read
        # past `_sent_through`, the last row of the rounds since: a round that left a row
        # behind (its partition's batch was full) writes its marks at once, so every pending
        # row up to there is one of `_unmarked`.
        self._unmarked: list[int] = []
        self._sent_through: int | None = None
        self._marked_at = time.monotonic()
        self._failures = 0
        self._last_prune = 0.0
        self.last_error: str | None = None
        self.published_total = 0

    def notify(self) -> None:
        """Called after a commit that wrote events: publish now, not at the next poll."""
        self._wake.set()

    async def backlog(self) -> int:
        """Events waiting to be published (parked ones are not waiting)."""
        async with self._db.reader() as session:
            count = await session.scalar(select(func.count()).select_from(outbox).where(*_PENDING))
        OUTBOX_BACKLOG.labels(self._service).set(count or 0)
        return count or 0

    async def parked(self) -> int:
        """Events set aside as unsendable, waiting for an admin."""
        async with self._db.reader() as session:
            count = await session.scalar(select(func.count()).select_from(outbox).where(*_PARKED))
        OUTBOX_PARKED.labels(self._service).set(count or 0)
        return count or 0

    async def retry_parked(self, event_id: str) -> bool:
        """Put a parked event back in the queue at its place; False if none is parked so.

        Later events of its key may be out already: consumers get it late (and may ignore
        it as stale)."""
        async with self._db.sessions() as session, session.begin():
            result = await session.execute(
                update(outbox).where(outbox.c.id == event_id, *_PARKED).values(parked_at=None)
            )
        if not rows_affected(result):
            return False
        log.info("parked event re-queued", extra={"event_id": event_id})
        await self.parked()
        self.notify()
        return True

    async def discard_parked(self, event_id: str, reason: str) -> bool:
        """Give up on a parked event for good, saying why; False if none is parked so."""
        async with self._db.sessions() as session, session.begin():
            result = await session.execute(
                update(outbox)
                .where(outbox.c.id == event_id, *_PARKED)
                .values(discarded_at=self._clock(), discard_reason=reason)
            )
        if not rows_affected(result):
            return False
        log.warning("parked event discarded", extra={"event_id": event_id, "reason": reason})
        await self.parked()
        return True

    async def run(self) -> None:
        """Publish until cancelled; sleeps on the wake-up event or the poll interval."""
        try:
            while True:
                try:
                    await self.drain()
                    self._failures = 0
                    self.last_error = None
                    await self._maybe_prune()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # broker away, database busy: back off and retry
                    self._failures += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    RELAY_FAILURES.labels(self._service).inc()
                    log.warning("relay attempt failed", extra={"error": self.last_error})
                    await self._drop_producer()
                    # Commits go on during an outage and each one notifies: they must not cut
                    # the backoff short. Their wake-up stays set for the attempt after it.
                    await asyncio.sleep(self._backoff())
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._settings.relay_poll_s):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            await self.close()

    async def close(self) -> None:
        """Write the marks held, stop the producer and give up leadership."""
        if self._unmarked:
            # Best effort: rows left unmarked (database away) are sent again by the next relay.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._settings.relay_send_timeout_s):
                    await self._write_marks()
        await self._drop_producer()
        await self._release_leadership()

    async def drain(self) -> int:
        """Publish batches until none is left, then mark them all published; returns how
        many events were published."""
        total = 0
        while await self._leadership.hold():
            self._wake.clear()
            rows = await self._next_batch()
            if rows:
                total += await self._publish(rows)
            # After a round, not before: during an outage the round fails first, counting an
            # attempt on its rows, and a broker that came back is checked once it answers.
            requeued = await self._check_broker()
            if not rows and not requeued:
                break
        else:
            # Leadership lost: the new leader reads the unmarked rows and sends them again
            # (at least once); this relay may no longer write.
            self._unmarked.clear()
            self._sent_through = None
            return total
        await self._write_marks()
        return total

    async def _next_batch(self) -> Sequence[Any]:
        """The oldest pending rows: at most `relay_batch_size` of them, and at most
        `relay_batch_max_bytes` of payload unless the first row alone is bigger."""
        async with self._db.reader() as session:
            if not self._db.is_sqlite:
                # PostgreSQL cannot know how many rows are pending (a burst, statistics
                # taken when few were) and, guessing few, collects them all with a bitmap
                # scan and sorts them: every round would read the whole backlog, and the
                # dead versions of the rows marked since the last vacuum. Walking the
                # partial index in order stops at the batch, whatever the backlog.
                await session.execute(_INDEX_ORDER)
            if self._sent_through is None:
                result = await session.execute(self._batch_query)
            else:
                result = await session.execute(
                    self._batch_after_query, {"after": self._sent_through}
                )
            return result.all()

    def _oldest_pending(
        self, after: BindParameter[int] | None = None
    ) -> Select[int, str, str | None, str, str]:
        """`_next_batch`'s one statement: the sizes are summed by the database, so a round
        is one query, and payloads past the byte budget are never sent over. `after`: only
        rows past this `seq` (those up to it were sent and wait for their marks)."""
        size = self._payload_bytes()
        pending: list[ColumnElement[bool]] = list(_PENDING)
        if after is not None:
            pending.append(outbox.c.seq > after)
        oldest = (
            select(
                outbox.c.seq,
                outbox.c.topic,
                outbox.c.key,
                outbox.c.payload,
                # As text: rows share a few header sets, decoded once each (`_headers`).
                cast(outbox.c.headers, Text).label("headers"),
                func.sum(size).over(order_by=outbox.c.seq, rows=(None, 0)).label("running"),
                func.row_number().over(order_by=outbox.c.seq).label("place"),
            )
            .where(*pending)
            .order_by(outbox.c.seq)
            .limit(self._settings.relay_batch_size)
            .subquery()
        )
        return (
            select(oldest.c.seq, oldest.c.topic, oldest.c.key, oldest.c.payload, oldest.c.headers)
            .where(
                or_(oldest.c.place == 1, oldest.c.running <= self._settings.relay_batch_max_bytes)
            )
            .order_by(oldest.c.seq)
        )

    def _payload_bytes(self) -> ColumnElement[int]:
        if self._db.is_sqlite:  # SQLite's length() counts characters, but bytes of a blob
            return func.length(cast(outbox.c.payload, LargeBinary))
        return func.octet_length(outbox.c.payload)

    async def _publish(self, rows: Sequence[Any]) -> int:
        """One round: park what can never be sent, send the rest as one batch per
        partition, record the outcome. Returns how many rows were published."""
        limit = max_request_bytes(self._settings)
        parked: list[tuple[Any, str]] = []
        sendable: list[_Record] = []
        for record in map(_Record.of, rows):
            why = _never_sendable(record, limit)
            if why is None:
                sendable.append(record)
            else:
                parked.append((record.row, why))
        batches: list[_PartitionBatch] = []
        outcomes: list[_Outcome] = []
        if sendable:
            producer = await self._ensure_producer()
            async with asyncio.timeout(self._settings.relay_send_timeout_s):
                batches = await self._fill(producer, sendable)
            outcomes = await self._send(producer, batches)
        return await self._settle(batches, outcomes, parked, rows)

    async def _fill(
        self, producer: AIOKafkaProducer, records: Sequence[_Record]
    ) -> list[_PartitionBatch]:
        topics = {record.row.topic for record in records}
        await self._prepare_topics(topics)
        partitions = {topic: sorted(await producer.partitions_for(topic)) for topic in topics}
        batches: dict[TopicPartition, _PartitionBatch] = {}
        # A partition that took its last row this round: its later rows wait for the next
        # round, so they never overtake one that did not fit.
        closed: set[TopicPartition] = set()
        for record in records:
            choices = partitions[record.row.topic]
            tp = TopicPartition(record.row.topic, _partition(record.key, choices))
            if tp in closed:
                continue
            batch = batches.get(tp)
            if batch is None:
                batch = batches[tp] = _PartitionBatch(tp, producer.create_batch())
            elif tp in self._isolating:
                closed.add(tp)
                continue
            taken = batch.builder.append(
                timestamp=None, key=record.key, value=record.value, headers=record.headers
            )
            if taken is None:
                closed.add(tp)
                continue
            batch.rows.append(record.row)
        return list(batches.values())

    async def _send(
        self, producer: AIOKafkaProducer, batches: Sequence[_PartitionBatch]
    ) -> list[_Outcome]:
        """Each batch's RecordMetadata, or the error it failed with."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.relay_send_timeout_s
        sent: list[asyncio.Future[RecordMetadata] | BaseException] = []
        for batch in batches:
            topic, partition = batch.partition
            try:
                async with asyncio.timeout_at(deadline):
                    queued = await producer.send_batch(batch.builder, topic, partition=partition)
                sent.append(queued)
            except Exception as exc:  # not queued, so certainly not written
                sent.append(exc)
        futures = [one for one in sent if isinstance(one, asyncio.Future)]
        if futures:
            await asyncio.wait(futures, timeout=max(0.0, deadline - loop.time()))
        return [_outcome(one) for one in sent]

    async def _settle(
        self,
        batches: Sequence[_PartitionBatch],
        outcomes: Sequence[_Outcome],
        parked: list[tuple[Any, str]],
        rows: Sequence[Any],
    ) -> int:
        """Sort out each batch's outcome and record it; raises if a batch has to be retried."""
        delivered: list[Any] = []
        failed: list[tuple[list[Any], str]] = []
        retry_singly: list[tuple[list[Any], str]] = []
        for batch, outcome in zip(batches, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                delivered.extend(batch.rows)
                if outcome is not None:
                    # Past the batch's first record, at least. Not `+ len(rows)`: Tansu puts a
                    # partition's end right after the last batch's first record.
                    self._watch.wrote(batch.partition, outcome.offset + 1)
                self._clear_suspects(batch.partition, len(batch.rows))
            elif isinstance(outcome, _REFUSED_RECORD) and len(batch.rows) == 1:
                parked.append((batch.rows[0], _describe(outcome)))
                self._isolating.pop(batch.partition, None)
            elif isinstance(outcome, _REFUSED_RECORD):
                # The broker refused the batch for one record in it: find which, one by one.
                self._isolating[batch.partition] = len(batch.rows)
                retry_singly.append((batch.rows, _describe(outcome)))
            else:
                failed.append((batch.rows, _describe(outcome)))
        attempted = [*failed, *retry_singly]
        settled = len(delivered) + len(parked) + sum(len(some) for some, _ in attempted)
        await self._record(
            delivered, parked, attempted, through=rows[-1].seq if settled == len(rows) else None
        )
        if failed:
            rows, error = failed[0]
            raise RuntimeError(f"publishing outbox row {rows[0].seq} failed: {error}")
        return len(delivered)

    async def _record(
        self,
        delivered: Sequence[Any],
        parked: Sequence[tuple[Any, str]],
        attempted: Sequence[tuple[list[Any], str]],
        *,
        through: int | None,
    ) -> None:
        """Note what went out, park what never can, count an attempt on what did not.
        `through`: the round's last `seq` when it settled every row it read; only then may
        its marks wait for a later round's."""
        self._unmarked.extend(row.seq for row in delivered)
        overdue = time.monotonic() - self._marked_at >= self._settings.relay_mark_interval_s
        if parked or attempted or through is None or overdue:
            await self._write_marks(parked, attempted)
        else:
            self._sent_through = through
        self.published_total += len(delivered)
        for topic, count in Counter(row.topic for row in delivered).items():
            EVENTS_PUBLISHED.labels(self._service, topic).inc(count)
        for row, error in parked:
            log.error(
                "outbox event parked: the broker can never take it",
                extra={"seq": row.seq, "topic": row.topic, "error": error},
            )
        if parked:
            await self.parked()

    async def _write_marks(
        self,
        parked: Sequence[tuple[Any, str]] = (),
        attempted: Sequence[tuple[list[Any], str]] = (),
    ) -> None:
        """In one transaction: mark the unmarked rows published, park `parked`, count an
        attempt on `attempted`."""
        if not (self._unmarked or parked or attempted):
            return
        now = self._clock()
        dialect = self._db.dialect
        async with self._leadership.writes() as conn:
            if self._unmarked:
                await conn.execute(
                    update(outbox)
                    .where(one_of(outbox.c.seq, self._unmarked, dialect=dialect))
                    .values(published_at=now)
                )
            for row, error in parked:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.seq == row.seq)
                    .values(parked_at=now, attempts=outbox.c.attempts + 1, last_error=error[:2000])
                )
            for rows, error in attempted:
                await conn.execute(
                    update(outbox)
                    .where(one_of(outbox.c.seq, (row.seq for row in rows), dialect=dialect))
                    .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
                )
        self._unmarked.clear()
        self._sent_through = None
        self._marked_at = time.monotonic()

    def _clear_suspects(self, partition: TopicPartition, sent: int) -> None:
        left = self._isolating.get(partition)
        if left is not None:
            if left <= sent:
                del self._isolating[partition]  # all went through: the refusal was passing
            else:
                self._isolating[partition] = left - sent

    async def _prepare_topics(self, topics: set[str]) -> None:
        # A broker that came back empty, or a Kafka that does not create topics on demand,
        # lacks them; create them (with our partition count) before a send waits on them.
        missing = topics - self._ready_topics
        if missing:
            await ensure_topics(
                self._settings.bootstrap_servers,
                missing,
                partitions=self._settings.topic_partitions,
                timeout_s=self._settings.relay_send_timeout_s,
                security=kafka_security(self._settings),
            )
            self._ready_topics |= missing

    async def _check_broker(self) -> bool:
        """Re-queue the retained window when the broker lost it (checked at most once a
        poll); True when it did."""
        now = time.monotonic()
        if self._checked_at is not None and now - self._checked_at < self._settings.relay_poll_s:
            return False
        # A relay that just started remembers nothing: it checks its retained topics instead.
        must_hold = set() if self._window_checked else await self._retained_topics()
        async with asyncio.timeout(self._settings.relay_send_timeout_s):
            lost = await self._watch.lost_data(must_hold=must_hold)
        self._window_checked = True
        self._checked_at = now
        if not lost:
            return False
        # Marked first, so the rows the broker lost since the last marks are re-queued too.
        await self._write_marks()
        requeued = await self._in_chunks(
            update(outbox).values(published_at=None),
            outbox.c.published_at.is_not(None),
            writes=self._leadership.writes,
        )
        self._watch.forget()
        self._ready_topics.clear()
        log.warning(
            "the broker lost published events (a new, empty broker): re-publishing them",
            extra={"events": requeued},
        )
        return True

    async def _retained_topics(self) -> set[str]:
        async with self._db.reader() as session:
            return set(
                await session.scalars(
                    select(outbox.c.topic).where(outbox.c.published_at.is_not(None)).distinct()
                )
            )

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self._settings)
            try:
                # A producer whose start() failed can hang in send() (aiokafka #759).
                async with asyncio.timeout(self._settings.relay_send_timeout_s):
                    await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        """Forget the broker connections after a failure: the next round starts afresh,
        checks the broker and its topics first."""
        producer, self._producer = self._producer, None
        self._checked_at = None
        self._ready_topics.clear()
        if producer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await producer.stop()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await self._watch.close()

    def _backoff(self) -> float:
        return self._retry.delay(max(self._failures, 1))

    async def _release_leadership(self) -> None:
        await self._leadership.release()

    async def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune < _PRUNE_EVERY_S:
            return
        self._last_prune = now
        await self.prune()

    async def prune(self) -> int:
        """Delete rows published (or discarded) longer ago than the retention window."""
        cutoff = self._clock() - timedelta(seconds=self._settings.outbox_retention_s)
        published = await self._in_chunks(
            delete(outbox), outbox.c.published_at < cutoff, writes=self._db.engine.begin
        )
        discarded = await self._in_chunks(
            delete(outbox),
            outbox.c.published_at.is_(None),
            outbox.c.discarded_at < cutoff,
            writes=self._db.engine.begin,
        )
        return published + discarded

    async def _in_chunks(
        self,
        statement: Update | Delete,
        *where: ColumnElement[bool],
        writes: Callable[[], AbstractAsyncContextManager[AsyncConnection]],
    ) -> int:
        """Apply `statement` to the rows matching `where`, `outbox_chunk_rows` per
        transaction, so SQLite's one writer is never held for long."""
        size = self._settings.outbox_chunk_rows
        done = 0
        while True:
            chunk = select(outbox.c.seq).where(*where).limit(size)
            async with writes() as conn:
                result = await conn.execute(statement.where(outbox.c.seq.in_(chunk)))
            done += result.rowcount or 0
            if (result.rowcount or 0) < size:
                return done


@functools.lru_cache(maxsize=1024)
def _headers(text: str) -> tuple[tuple[str, bytes], ...]:
    """Stored headers (JSON text) as Kafka's; a service's rows carry a few distinct sets."""
    return tuple((name, value.encode()) for name, value in orjson.loads(text).items())


@functools.lru_cache(maxsize=1024)
def _headers_bytes(text: str) -> int:
    """The headers' raw size, with room for each one's framing (two varints)."""
    return sum(len(name) + len(value) + 20 for name, value in _headers(text))


@functools.lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def _partition(key: bytes | None, partitions: Sequence[int]) -> int:
    """The partition aiokafka's `DefaultPartitioner` picks (the producer's own, which
    consumers and other clients of the topic rely on), with the hash of a key remembered:
    keys repeat (a product's events), and murmur2 in pure Python was a fifth of a round."""
    if key is None:
        return int(_PARTITIONER(None, partitions, partitions))
    return partitions[_key_hash(key) % len(partitions)]


@functools.lru_cache(maxsize=1024)
def _legal_topic(topic: str) -> bool:
    return _LEGAL_TOPIC.fullmatch(topic) is not None


# More than the record and batch framing adds to the raw bytes (varints, attributes,
# the batch header): below it, the exact estimate is not needed.
_FRAMING = 1024


def _never_sendable(record: _Record, limit: int) -> str | None:
    """Why no broker would ever take this record, if none would."""
    if not _legal_topic(record.row.topic):
        return f"InvalidTopicError: {record.row.topic!r} is not a legal topic name"
    raw = len(record.value) + len(record.key or b"") + _headers_bytes(record.row.headers)
    if raw + _FRAMING <= limit:
        return None
    if record.size > limit:
        return (
            f"MessageSizeTooLargeError: the record is {record.size} bytes, over the"
            f" producer's max_request_size of {limit} bytes"
        )
    return None


def _outcome(sent: asyncio.Future[RecordMetadata] | BaseException) -> _Outcome:
    if not isinstance(sent, asyncio.Future):
        return sent
    if not sent.done() or sent.cancelled():
        return TimeoutError("send timed out (delivery unknown)")
    return sent.exception() or sent.result()


def _describe(error: BaseException) -> str:
    text = str(error)
    name = type(error).__name__
    return text if text.startswith(name) else f"{name}: {text}"
