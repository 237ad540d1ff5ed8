"""The gateway's own reader of the domain topics, feeding the live feed.

It reads WITHOUT a consumer group: each gateway replica must get every event, and a group
would share the partitions among them. So it commits nothing, starts at the end of each
partition (a live stream, not a history), and runs whatever `PRODUCTOPS_RUN_CONSUMERS`
says, since it changes no state. A broker that goes away or forgets its topics (the
embedded one keeps them in memory) makes it rebuild itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from gateway.live.feed import LiveFeed
from shared.backoff import Backoff, rebuild_until_cancelled
from shared.broker import ensure_topics, kafka_security
from shared.settings import Settings

log = logging.getLogger(__name__)

_RETRY = Backoff(first_s=0.2, cap_s=10.0)
# A consumer that owns no partition this long has lost its topics (a restarted broker).
_UNASSIGNED_LIMIT_S = 5.0


class _Lost(RuntimeError):
    """The consumer owns no partition any more: rebuild it."""


class LiveConsumer:
    """Reads `topics` from their ends and publishes each CloudEvent to `feed`."""

    def __init__(self, *, topics: Sequence[str], feed: LiveFeed, settings: Settings) -> None:
        self.topics = list(topics)
        self._feed = feed
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self.state = "starting"
        self.received = 0
        self.skipped = 0

    @property
    def ready(self) -> bool:
        """Reading from a known position of every partition: what is published now arrives."""
        return self.state == "running"

    @property
    def partitions(self) -> int:
        return len(self._consumer.assignment()) if self._consumer is not None else 0

    async def run(self) -> None:
        """Read until cancelled, rebuilding the client after any failure."""
        await rebuild_until_cancelled(
            start=self._start,
            serve=self._read_forever,
            stop=self._stop,
            backoff=_RETRY,
            failed=self._restarting,
        )

    def _restarting(self, exc: Exception) -> None:
        self.state = f"reconnecting: {type(exc).__name__}"
        log.warning("live feed consumer restarting", extra={"error": repr(exc)})

    async def _start(self) -> None:
        # Created first: a topic that does not exist yet would be assigned only at the next
        # metadata refresh, and what is published before that would be missed.
        await ensure_topics(
            self._settings.bootstrap_servers,
            self.topics,
            partitions=self._settings.topic_partitions,
            timeout_s=10,
            security=kafka_security(self._settings),
        )
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self._settings.bootstrap_servers,
            **kafka_security(self._settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            metadata_max_age_ms=30_000,
        )
        self._consumer = consumer
        async with asyncio.timeout(30):
            await consumer.start()
            # Ask where each partition ends now, so "live" starts here and not at the
            # first fetch, whenever that comes.
            for partition in consumer.assignment():
                await consumer.position(partition)
        self.state = "running"

    async def _stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await consumer.stop()

    async def _read_forever(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        unassigned_since: float | None = None
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    self._publish(record)
            if consumer.assignment():
                unassigned_since = None
            elif unassigned_since is None:
                unassigned_since = time.monotonic()
            elif time.monotonic() - unassigned_since > _UNASSIGNED_LIMIT_S:
                raise _Lost("no partition assigned: the broker lost the topics")

    def _publish(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Hand a record to the feed when it is a CloudEvent; anything else is passed over."""
        try:
            envelope = orjson.loads(record.value or b"")
            event_id, event_type = envelope["id"], envelope["type"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.skipped += 1
            return
        if not _one_line(event_id) or not _one_line(event_type):
            self.skipped += 1
            return
        data = record.value or b""
        if b"\n" in data or b"\r" in data:
            # One `data:` line per event: the same JSON without its line breaks.
            data = orjson.dumps(envelope)
        self.received += 1
        self._feed.publish(event_id=event_id, topic=record.topic, event_type=event_type, data=data)


def _one_line(value: object) -> bool:
    """A string that can stand in an SSE field: one line, no NUL."""
    return isinstance(value, str) and not any(c in value for c in "\r\n\0")
