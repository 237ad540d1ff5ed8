"""The event consumer: one consumer group per service, inbox dedupe, retries, dead letters.

Each event is handled in its own transaction that also records `(consumer, event_id)` in
the inbox, so a redelivered event changes nothing. Offsets are committed after that
transaction, only for partitions this member still owns; a failed commit just means the
event comes again (aiokafka #933, #929). A handler that keeps failing sends its event to
`dlq.<group>` with the error in headers, and the partition moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from shared.broker import ensure_topics
from shared.events import CloudEvent, decode, dlq_topic
from shared.observability import (
    CONSUMER_LAG,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    causation_id_var,
    correlation_id_var,
)
from shared.relay import new_producer
from shared.settings import Settings
from shared.tables import inbox, subject_position
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[CloudEvent, UnitOfWork], Awaitable[None]]


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def claim(
    uow: UnitOfWork, *, consumer: str, event: CloudEvent, record: ConsumerRecord
) -> bool:
    """Record the event in the inbox; False when this consumer has already handled it."""
    result = await uow.session.execute(
        _insert(uow.dialect, inbox)
        .values(
            consumer=consumer,
            event_id=event.id,
            type=event.type,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            processed_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
    )
    return result.rowcount == 1


async def advance_position(uow: UnitOfWork, *, consumer: str, event: CloudEvent) -> bool:
    """Move the subject's applied sequence forward; False when the event is stale.

    An equal sequence counts as already applied: a subject's version names one state, so a
    second event carrying it (a republished snapshot, `shared/republish.py`) has nothing new.
    """
    sequence = event.sequence_number
    if sequence is None or event.subject is None:
        return True
    key = (
        (subject_position.c.consumer == consumer)
        & (subject_position.c.source == event.source)
        & (subject_position.c.subject == event.subject)
    )
    current = await uow.session.scalar(select(subject_position.c.sequence).where(key))
    if current is None:
        await uow.session.execute(
            _insert(uow.dialect, subject_position).values(
                consumer=consumer, source=event.source, subject=event.subject, sequence=sequence
            )
        )
        return True
    if sequence <= current:
        return False
    await uow.session.execute(update(subject_position).where(key).values(sequence=sequence))
    return True


class ConsumerStalled(RuntimeError):
    """Raised to rebuild a consumer whose lag stopped falling."""


def _tp_of(label: str) -> TopicPartition:
    topic, _, partition = label.rpartition("/")
    return TopicPartition(topic, int(partition))


class EventConsumer:
    """Consumes `topics` as group `group` and dispatches known types to their handlers."""

    def __init__(
        self,
        *,
        group: str,
        topics: list[str],
        handlers: Mapping[str, Handler],
        uow_factory: Callable[[], UnitOfWork],
        settings: Settings,
    ) -> None:
        self.group = group
        self.topics = topics
        self._handlers = dict(handlers)
        self._uow_factory = uow_factory
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: Any = None
        self.lag: dict[str, int] = {}
        self.handled = 0
        self.dead_lettered = 0
        self.last_progress = time.monotonic()
        self.last_error: str | None = None

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    async def run(self) -> None:
        """Consume until cancelled, rebuilding the client after any failure."""
        failures = 0
        while True:
            try:
                await self._start()
                failures = 0
                await self._poll_forever()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "consumer restarting", extra={"group": self.group, "error": self.last_error}
                )
                await asyncio.sleep(min(10.0, 0.2 * 2 ** min(failures, 6)))
            finally:
                await self._stop()

    async def _start(self) -> None:
        await ensure_topics(
            self._settings.bootstrap_servers,
            [*self.topics, dlq_topic(self.group)],
            partitions=self._settings.topic_partitions,
            timeout_s=10,
        )
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self._settings.bootstrap_servers,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=300_000,
            session_timeout_ms=self._settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=1_000,
            metadata_max_age_ms=30_000,
        )
        self._consumer = consumer
        async with asyncio.timeout(30):
            await consumer.start()

    async def _stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        for client in (consumer, producer):
            if client is not None:
                # A consumer still joining its group holds stop() until the join ends (~3 s
                # on Tansu); it owns nothing yet, so it need not leave politely.
                grace = 5.0 if client is producer or client.assignment() else 0.5
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(grace):
                        await client.stop()

    async def _poll_forever(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        self.last_progress = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=200)
            for tp, records in batches.items():
                for record in records:
                    await self._process(record)
                    self.last_progress = time.monotonic()
                await self._commit(tp, records[-1].offset + 1)
            await self._update_lag()
            self._check_progress()

    def _check_progress(self) -> None:
        """Events wait but nothing arrives: the client is stuck (aiokafka #1154, #983)."""
        if self.total_lag == 0:
            self.last_progress = time.monotonic()
            return
        stalled_s = time.monotonic() - self.last_progress
        if stalled_s > self._settings.consumer_stall_s:
            raise ConsumerStalled(f"lag {self.total_lag} with no progress for {stalled_s:.0f}s")

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        consumer = self._consumer
        assert consumer is not None
        if tp not in consumer.assignment():
            return  # rebalanced away: the new owner starts from the last committed offset
        try:
            await consumer.commit({tp: offset})
        except (CommitFailedError, KafkaError) as exc:
            log.warning("commit failed; events will be redelivered", extra={"error": str(exc)})

    async def _update_lag(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        assigned = consumer.assignment()
        self.lag = {k: v for k, v in self.lag.items() if _tp_of(k) in assigned}
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            lag = max(0, highwater - await consumer.position(tp))
            self.lag[f"{tp.topic}/{tp.partition}"] = lag
            CONSUMER_LAG.labels(self.group, tp.topic, str(tp.partition)).set(lag)

    async def _process(self, record: ConsumerRecord) -> None:
        try:
            event = decode(record.value)
        except ValueError as exc:
            await self._dead_letter(record, exc, attempts=0)
            return
        handler = self._handlers.get(event.type)
        if handler is None:
            EVENTS_CONSUMED.labels(self.group, record.topic, "skipped").inc()
            return
        outcome = await self._handle_with_retries(record, event, handler)
        EVENTS_CONSUMED.labels(self.group, record.topic, outcome).inc()

    async def _handle_with_retries(
        self, record: ConsumerRecord, event: CloudEvent, handler: Handler
    ) -> str:
        settings = self._settings
        correlation = correlation_id_var.set(event.correlationid or event.id)
        causation = causation_id_var.set(event.id)
        try:
            for attempt in range(1, settings.consumer_max_attempts + 1):
                try:
                    async with asyncio.timeout(settings.consumer_handler_timeout_s):
                        return await self._handle_once(record, event, handler)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    if attempt == settings.consumer_max_attempts:
                        await self._dead_letter(record, exc, attempts=attempt)
                        return "dead_lettered"
                    log.info(
                        "handler failed; retrying", extra={"event_id": event.id, "attempt": attempt}
                    )
                    await asyncio.sleep(settings.consumer_backoff_s * 2 ** (attempt - 1))
            return "dead_lettered"
        finally:
            correlation_id_var.reset(correlation)
            causation_id_var.reset(causation)

    async def _handle_once(
        self, record: ConsumerRecord, event: CloudEvent, handler: Handler
    ) -> str:
        async with self._uow_factory() as uow:
            if not await claim(uow, consumer=self.group, event=event, record=record):
                return "duplicate"
            if not await advance_position(uow, consumer=self.group, event=event):
                return "stale"
            await handler(event, uow)
        self.handled += 1
        return "handled"

    async def _dead_letter(
        self, record: ConsumerRecord, error: BaseException, attempts: int
    ) -> None:
        if self._producer is None:
            producer = new_producer(self._settings)
            async with asyncio.timeout(10):
                await producer.start()
            self._producer = producer
        headers = [
            *list(record.headers or ()),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
            ("dlq-consumer-group", self.group.encode()),
            ("dlq-attempts", str(attempts).encode()),
            ("dlq-error-type", type(error).__name__.encode()),
            ("dlq-error-message", str(error)[:1000].encode()),
        ]
        # If the dead-letter write fails, this raises: the offset stays uncommitted and the
        # event is tried again after the consumer restarts. Nothing is dropped.
        async with asyncio.timeout(15):
            await self._producer.send_and_wait(
                dlq_topic(self.group), value=record.value, key=record.key, headers=headers
            )
        self.dead_lettered += 1
        EVENTS_DEAD_LETTERED.labels(self.group, record.topic).inc()
        log.error(
            "event dead-lettered",
            extra={"topic": record.topic, "offset": record.offset, "error": str(error)},
        )
