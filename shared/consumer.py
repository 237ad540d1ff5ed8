"""The event consumer: one consumer group per service, inbox dedupe, retries, dead letters.

Each event is applied through the inbox (`shared/inbox.py`), so a redelivered event changes
nothing. Offsets are committed after that transaction, every few events and after each dead
letter, only for partitions this member still owns; a failed commit just means the event
comes again (aiokafka #933, #929).

A failure is sorted first (`shared/faults.py`, reliability issue 9). While the database is
away the partition is paused and retried with capped backoff until the database answers; the
loop keeps polling, so the group keeps this member. An event that is itself wrong goes to
the dead-letter store and `dlq.<group>` at once; any other failure is retried a few times
first. A broker that lost its memory (a new cluster id, topics gone, nothing assigned) makes
the consumer rebuild itself, and it reports not ready until it owns partitions again. The
offsets committed to the new broker before the loss was noticed are not trusted: a member
frozen across the restart commits its old positions there (Tansu accepts them, as Kafka does
for a group it does not know), and they would skip the start of every re-published partition.
So each partition is read from its beginning until this process commits it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError, MessageSizeTooLargeError
from sqlalchemy import text

from shared.backoff import Backoff, rebuild_until_cancelled
from shared.broker import ensure_topics, group_members, kafka_security
from shared.broker_watch import BrokerWatch
from shared.dead_letters import DeadLetter, is_dead_lettered, record_dead_letter, value_id
from shared.events import (
    CloudEvent,
    Origin,
    UntrustedOrigin,
    check_origin,
    decode,
    dlq_topic,
    origins_of,
)
from shared.faults import is_event_error, is_transient
from shared.inbox import DEAD_LETTERED_BEFORE, HANDLED, Handler, apply_event
from shared.observability import CONSUMER_LAG, EVENTS_CONSUMED, EVENTS_DEAD_LETTERED
from shared.relay import new_producer
from shared.settings import Settings
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

__all__ = ["ConsumerLost", "ConsumerStalled", "EventConsumer", "Handler"]

SKIPPED = "skipped"
DEAD_LETTERED = "dead_lettered"
# Commit at least this often within a batch: a member that loses its group mid-batch then
# redoes little, and what it redoes the inbox and the dead-letter store absorb.
_COMMIT_EVERY = 50
_COMMIT_INTERVAL_S = 1.0
_MEMBERSHIP_CHECK_S = 5.0


class ConsumerStalled(RuntimeError):
    """Raised to rebuild a consumer whose lag stopped falling."""


class ConsumerLost(RuntimeError):
    """Raised to rebuild a consumer the broker no longer knows: the cluster id changed, its
    topics are gone, or it owns nothing while its group has partitions to spare (a restarted
    memory-only broker)."""


class _DatabaseAway(Exception):
    """The database failed, not the event: the partition waits and the event comes again."""


@contextlib.contextmanager
def _database_may_be_away() -> Iterator[None]:
    try:
        yield
    except _DatabaseAway:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise _DatabaseAway(f"{type(exc).__name__}: {exc}") from exc
        raise


def _tp_of(label: str) -> TopicPartition:
    topic, _, partition = label.rpartition("/")
    return TopicPartition(topic, int(partition))


class EventConsumer:
    """Consumes `topics` as group `group` and dispatches known types to their handlers.

    A handled type is taken only from its origin (`origins`; by default its owner's own
    topic and source, `shared.events.origin_of`): anything else is dead-lettered at once.
    """

    def __init__(
        self,
        *,
        group: str,
        topics: list[str],
        handlers: Mapping[str, Handler],
        uow_factory: Callable[[], UnitOfWork],
        settings: Settings,
        origins: Mapping[str, Origin] | None = None,
    ) -> None:
        self.group = group
        self.topics = topics
        self._handlers = dict(handlers)
        self._origins = {**origins_of(handlers), **(origins or {})}
        self._uow_factory = uow_factory
        self._settings = settings
        # Rebuilding the client after a failure, and waiting for the database to answer.
        self._restart = Backoff(first_s=0.4, cap_s=10.0)
        first = max(settings.consumer_backoff_s, 0.05)
        self._database_retry = Backoff(
            first_s=first, cap_s=max(first, settings.consumer_max_backoff_s), jitter=0
        )
        # A failing handler's own retries, before its event is dead-lettered.
        self._handler_retry = Backoff(
            first_s=settings.consumer_backoff_s,
            cap_s=max(settings.consumer_backoff_s, settings.consumer_max_backoff_s),
            jitter=0,
        )
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: Any = None
        self.lag: dict[str, int] = {}
        self.handled = 0
        self.dead_lettered = 0
        self.last_progress = time.monotonic()
        self.last_error: str | None = None
        # Why the consumer is being rebuilt; None once it owns partitions again.
        self.rebuilding: str | None = None
        # Partitions paused until the database answers, and when to try it next.
        self.waiting: set[TopicPartition] = set()
        self._retry_database_at = 0.0
        # Failed tries against the database since an event last went through.
        self.database_failures = 0
        self._last_membership_check = 0.0
        self._unassigned_since: float | None = None
        self._watch = BrokerWatch(
            settings.bootstrap_servers, timeout_s=10, security=kafka_security(settings)
        )
        # Set once the broker was seen to be a new one: the partitions this process has not
        # committed since are read from their beginning when it is assigned them.
        self._commits_distrusted = False
        self._committed_since_new_broker: set[TopicPartition] = set()

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    @property
    def ready(self) -> bool:
        return self.rebuilding is None

    @property
    def state(self) -> str:
        if self.rebuilding is not None:
            return "rebuilding"
        return "waiting for the database" if self.waiting else "running"

    @property
    def partitions(self) -> int:
        return len(self._consumer.assignment()) if self._consumer is not None else 0

    async def run(self) -> None:
        """Consume until cancelled, rebuilding the client after any failure."""
        await rebuild_until_cancelled(
            start=self._start,
            serve=self._poll_forever,
            stop=self._stop,
            backoff=self._restart,
            failed=self._restarting,
        )

    def _restarting(self, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.rebuilding = self.last_error
        log.warning("consumer restarting", extra={"group": self.group, "error": self.last_error})

    async def _start(self) -> None:
        async with asyncio.timeout(10):
            # Learnt before the client connects, so a restart after this look is a change.
            await self._notice_new_broker()
        await ensure_topics(
            self._settings.bootstrap_servers,
            [*self.topics, dlq_topic(self.group)],
            partitions=self._settings.topic_partitions,
            timeout_s=10,
            security=kafka_security(self._settings),
        )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            **kafka_security(self._settings),
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=self._settings.consumer_max_poll_interval_ms,
            session_timeout_ms=self._settings.consumer_session_timeout_ms,
            fetch_max_wait_ms=self._settings.consumer_fetch_max_wait_ms,
            heartbeat_interval_ms=1_000,
            metadata_max_age_ms=30_000,
        )
        consumer.subscribe(self.topics, listener=_ReadUntrustedFromBeginning(self, consumer))
        self._consumer = consumer
        self._unassigned_since = None
        async with asyncio.timeout(30):
            await consumer.start()

    async def _stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        self.waiting.clear()  # pauses belong to the client being stopped
        await self._watch.close()  # it keeps the cluster id it learned
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
        # A member that does not poll within max_poll_interval leaves its group, and its
        # batch is redone by whoever gets the partition (aiokafka #848): stop well before.
        budget_s = self._settings.consumer_max_poll_interval_ms / 1000 / 3
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=200)
            budget_ends = time.monotonic() + budget_s
            for tp, records in batches.items():
                if self.waiting:
                    # The database is shared: once it is away, the other partitions wait too.
                    self._hold(tp, records[0].offset)
                    continue
                await self._consume(tp, records, budget_ends)
            await self._retry_waiting()
            await self._update_lag()
            self._check_progress()
            await self._check_membership()

    async def _consume(
        self, tp: TopicPartition, records: list[ConsumerRecord], budget_ends: float
    ) -> None:
        """Process one partition's records in order, committing as it goes."""
        uncommitted: int | None = None
        since_commit = 0
        last_commit = time.monotonic()
        for record in records:
            if time.monotonic() >= budget_ends:
                self._rewind(tp, record.offset)  # the rest is fetched again after a poll
                break
            try:
                outcome = await self._process(record)
            except _DatabaseAway as away:
                self._database_away(str(away))
                self._hold(tp, record.offset)
                break
            self.last_progress = time.monotonic()
            uncommitted, since_commit = record.offset + 1, since_commit + 1
            if (
                outcome == DEAD_LETTERED
                or since_commit >= _COMMIT_EVERY
                or time.monotonic() - last_commit >= _COMMIT_INTERVAL_S
            ):
                await self._commit(tp, uncommitted)
                uncommitted, since_commit, last_commit = None, 0, time.monotonic()
        if uncommitted is not None:
            await self._commit(tp, uncommitted)

    def _rewind(self, tp: TopicPartition, offset: int) -> None:
        consumer = self._consumer
        assert consumer is not None
        if tp in consumer.assignment():
            consumer.seek(tp, offset)

    def _database_away(self, error: str) -> None:
        self.last_error = error
        self.database_failures += 1
        self._retry_database_at = time.monotonic() + self._database_backoff()
        log.warning(
            "database unavailable; partitions wait", extra={"group": self.group, "error": error}
        )

    def _hold(self, tp: TopicPartition, offset: int) -> None:
        """Pause the partition at `offset` until `_retry_waiting` finds the database back."""
        consumer = self._consumer
        assert consumer is not None
        if tp not in consumer.assignment():
            return  # rebalanced away: the new owner starts from the last committed offset
        consumer.seek(tp, offset)
        consumer.pause(tp)
        self.waiting.add(tp)

    def _database_backoff(self) -> float:
        return self._database_retry.delay(self.database_failures + 1)

    async def _retry_waiting(self) -> None:
        """Once the database answers again, resume the partitions that waited for it."""
        consumer = self._consumer
        assert consumer is not None
        if not self.waiting or time.monotonic() < self._retry_database_at:
            return
        try:
            with _database_may_be_away():
                async with asyncio.timeout(self._settings.consumer_handler_timeout_s):
                    await self._probe_database()
        except _DatabaseAway as away:
            self._database_away(str(away))
            return
        assigned = consumer.assignment()
        for tp in self.waiting & assigned:
            consumer.resume(tp)
        self.waiting.clear()

    async def _probe_database(self) -> None:
        # A unit of work, not a bare ping: on SQLite it takes the write lock, as handlers do.
        async with self._uow_factory() as uow:
            await uow.session.execute(text("SELECT 1"))

    def _check_progress(self) -> None:
        """Events wait but nothing arrives: the client is stuck (aiokafka #1154, #983)."""
        if self.total_lag == 0 or self.waiting:
            # Waiting for the database is not a stuck client; rebuilding would not help.
            self.last_progress = time.monotonic()
            return
        stalled_s = time.monotonic() - self.last_progress
        if stalled_s > self._settings.consumer_stall_s:
            raise ConsumerStalled(f"lag {self.total_lag} with no progress for {stalled_s:.0f}s")

    async def _notice_new_broker(self) -> bool:
        """True when the broker's cluster id changed since the last look: a new broker, so
        from now on the offsets committed to it are not trusted (see the module's doc)."""
        if not await self._watch.cluster_changed():
            return False
        self._commits_distrusted = True
        self._committed_since_new_broker.clear()
        log.warning("the broker is a new one; uncommitted partitions are read from the start")
        return True

    def distrusted(self, assigned: set[TopicPartition]) -> set[TopicPartition]:
        """The partitions of `assigned` whose committed offset is not to be trusted."""
        if not self._commits_distrusted:
            return set()
        return assigned - self._committed_since_new_broker

    async def _check_membership(self) -> None:
        """A restarted memory-only broker has lost the topics and the group; the client may
        not notice and sit idle with lag 0, or go on from its old positions. Look, and raise
        `ConsumerLost` to rebuild."""
        consumer = self._consumer
        assert consumer is not None
        now = time.monotonic()
        if self.ready and now - self._last_membership_check < _MEMBERSHIP_CHECK_S:
            return
        self._last_membership_check = now
        try:
            async with asyncio.timeout(10):
                present = await consumer.topics()  # all topics: this never auto-creates one
                new_broker = await self._notice_new_broker()
        except (KafkaError, TimeoutError):
            # A broker that does not answer is no proof of loss. The client reconnects; the
            # watch connects afresh at its next look.
            await self._watch.close()
            return
        if new_broker:
            raise ConsumerLost("the broker's cluster id changed: a new, empty broker")
        missing = sorted({*self.topics, dlq_topic(self.group)} - present)
        if missing:
            raise ConsumerLost(f"topics missing on the broker: {', '.join(missing)}")
        if consumer.assignment():
            self._unassigned_since = None
            self.rebuilding = None
            return
        if self._unassigned_since is None:
            self._unassigned_since = now
        grace_s = 2 * self._settings.consumer_session_timeout_ms / 1000
        if now - self._unassigned_since < grace_s:
            return
        partitions = sum(len(consumer.partitions_for_topic(t) or ()) for t in self.topics)
        try:
            members = await group_members(
                self._settings.bootstrap_servers,
                self.group,
                security=kafka_security(self._settings),
            )
        except (KafkaError, TimeoutError):
            return
        if members <= partitions:
            raise ConsumerLost(
                f"no partitions assigned although {partitions} are shared by {members} members"
            )
        self.rebuilding = None  # more members than partitions: idle is this member's share

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        consumer = self._consumer
        assert consumer is not None
        if tp not in consumer.assignment():
            return  # rebalanced away: the new owner starts from the last committed offset
        try:
            await consumer.commit({tp: offset})
        except (CommitFailedError, KafkaError) as exc:
            log.warning("commit failed; events will be redelivered", extra={"error": str(exc)})
            return
        self._committed_since_new_broker.add(tp)

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

    async def _process(self, record: ConsumerRecord) -> str:
        """One record's outcome; raises `_DatabaseAway` when it must wait and come again."""
        try:
            event = decode(record.value)
        except ValueError as exc:
            # Not JSON, or not a CloudEvent: no retry can change the bytes.
            return await self._dead_letter(
                record,
                event_id=value_id(record.topic, record.value),
                event_type=None,
                error=exc,
                attempts=0,
            )
        handler = self._handlers.get(event.type)
        if handler is None:
            outcome = SKIPPED
        else:
            try:
                check_origin(event, topic=record.topic, expected=self._origins[event.type])
            except UntrustedOrigin as exc:
                # Forged or misrouted: the inbox and the handler never see it.
                self.last_error = str(exc)
                outcome = await self._dead_letter(
                    record, event_id=event.id, event_type=event.type, error=exc, attempts=0
                )
            else:
                outcome = await self._handle(record, event, handler)
        EVENTS_CONSUMED.labels(self.group, record.topic, outcome).inc()
        return outcome

    async def _handle(self, record: ConsumerRecord, event: CloudEvent, handler: Handler) -> str:
        settings = self._settings
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(settings.consumer_handler_timeout_s):
                    outcome = await apply_event(
                        self._uow_factory,
                        consumer=self.group,
                        record=record,
                        event=event,
                        handler=handler,
                    )
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                if is_event_error(exc) or not (
                    is_transient(exc) or attempt < settings.consumer_max_attempts
                ):
                    return await self._dead_letter(
                        record,
                        event_id=event.id,
                        event_type=event.type,
                        error=exc,
                        attempts=attempt,
                    )
                if is_transient(exc):
                    raise _DatabaseAway(self.last_error) from exc
                log.info(
                    "handler failed; retrying", extra={"event_id": event.id, "attempt": attempt}
                )
                await asyncio.sleep(self._handler_retry.delay(attempt))
                continue
            self.database_failures = 0
            if outcome == HANDLED:
                self.handled += 1
            return outcome

    async def _dead_letter(
        self,
        record: ConsumerRecord,
        *,
        event_id: str,
        event_type: str | None,
        error: BaseException,
        attempts: int,
    ) -> str:
        """Keep the record in the dead-letter store and send a copy to `dlq.<group>`."""
        letter = DeadLetter(
            consumer=self.group,
            event_id=event_id,
            type=event_type,
            record=record,
            error=error,
            attempts=attempts,
        )
        with _database_may_be_away():
            async with self._uow_factory() as uow:
                if await is_dead_lettered(uow.session, consumer=self.group, event_id=event_id):
                    return DEAD_LETTERED_BEFORE
        # The topic first: if the store write then fails, the record comes again and the
        # topic may get a second copy, but the store never holds a letter the topic lacks.
        await self._send_to_dead_letter_topic(record, error, attempts)
        with _database_may_be_away():
            async with self._uow_factory() as uow:
                await record_dead_letter(
                    uow.session, dialect=uow.dialect, letter=letter, now=uow.clock()
                )
        self.dead_lettered += 1
        EVENTS_DEAD_LETTERED.labels(self.group, record.topic).inc()
        log.error(
            "event dead-lettered",
            extra={"topic": record.topic, "offset": record.offset, "error": str(error)},
        )
        return DEAD_LETTERED

    async def _send_to_dead_letter_topic(
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
        # If this send fails, it raises: the offset stays uncommitted and the event is tried
        # again after the consumer restarts. Nothing is dropped.
        async with asyncio.timeout(15):
            try:
                await self._producer.send_and_wait(
                    dlq_topic(self.group), value=record.value, key=record.key, headers=headers
                )
            except MessageSizeTooLargeError:
                # Bigger than the producer sends (a record the broker took from someone
                # else): failing here would jam the partition on every restart. The copy
                # goes without its value, which the dead-letter store keeps whole.
                omitted = f"{len(record.value or b'')} bytes, kept in the dead-letter store"
                await self._producer.send_and_wait(
                    dlq_topic(self.group),
                    value=None,
                    key=record.key,
                    headers=[*headers, ("dlq-value-omitted", omitted.encode())],
                )


class _ReadUntrustedFromBeginning(ConsumerRebalanceListener):  # type: ignore[misc]
    """Starts the partitions whose committed offset is not trusted at their beginning; the
    inbox absorbs what is read twice."""

    def __init__(self, owner: EventConsumer, consumer: AIOKafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        distrusted = self._owner.distrusted(set(assigned))
        if distrusted:
            await self._consumer.seek_to_beginning(*distrusted)
