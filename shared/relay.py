"""The outbox relay: publishes committed events in order, marks them, retries, prunes.

Delivery is at least once. A send that timed out may still have been written, so it is
sent again and consumers dedupe through their inbox (see docs/delivery.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.broker import ensure_topics
from shared.db import Database
from shared.observability import EVENTS_PUBLISHED, OUTBOX_BACKLOG, RELAY_FAILURES
from shared.settings import Settings
from shared.tables import outbox

log = logging.getLogger(__name__)

_PRUNE_EVERY_S = 300.0


def new_producer(settings: Settings, **overrides: Any) -> AIOKafkaProducer:
    """A producer for the relay: every replica acknowledges, small linger to batch."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "acks": "all",
        # The embedded broker refuses InitProducerId; order and dedupe come from the outbox.
        "enable_idempotence": False,
        "linger_ms": 2,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": int(settings.relay_send_timeout_s * 1000),
        "retry_backoff_ms": 100,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


class OutboxRelay:
    """Publishes one service's outbox. On PostgreSQL, an advisory lock elects one relay."""

    def __init__(self, *, db: Database, settings: Settings, service: str) -> None:
        self._db = db
        self._settings = settings
        self._service = service
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._leader_conn: AsyncConnection | None = None
        self._failures = 0
        self._last_prune = 0.0
        self.last_error: str | None = None
        self.published_total = 0

    def notify(self) -> None:
        """Called after a commit that wrote events: publish now, not at the next poll."""
        self._wake.set()

    async def backlog(self) -> int:
        async with self._db.reader() as session:
            count = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        OUTBOX_BACKLOG.labels(self._service).set(count or 0)
        return count or 0

    async def run(self) -> None:
        """Publish until cancelled; sleeps on the wake-up event or the poll interval."""
        try:
            while True:
                try:
                    await self.drain()
                    self._failures = 0
                    self.last_error = None
                    await self._maybe_prune()
                    delay = self._settings.relay_poll_s
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # broker away, database busy: back off and retry
                    self._failures += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    RELAY_FAILURES.labels(self._service).inc()
                    log.warning("relay attempt failed", extra={"error": self.last_error})
                    await self._drop_producer()
                    delay = self._backoff()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop the producer and give up the relay lock (PostgreSQL)."""
        await self._drop_producer()
        await self._release_leadership()

    async def drain(self) -> int:
        """Publish batches until none is left; returns how many events were published."""
        if not await self._is_leader():
            return 0
        total = 0
        while True:
            self._wake.clear()
            rows = await self._next_batch()
            if not rows:
                return total
            await self._publish(rows)
            total += len(rows)
            if len(rows) < self._settings.relay_batch_size:
                return total

    async def _next_batch(self) -> Sequence[Any]:
        async with self._db.reader() as session:
            result = await session.execute(
                select(
                    outbox.c.seq, outbox.c.topic, outbox.c.key, outbox.c.payload, outbox.c.headers
                )
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.seq)
                .limit(self._settings.relay_batch_size)
            )
            return result.all()

    async def _publish(self, rows: Sequence[Any]) -> None:
        producer = await self._ensure_producer()
        try:
            async with asyncio.timeout(self._settings.relay_send_timeout_s):
                # send() only enqueues; the producer batches per partition and keeps each
                # partition's order, so one key's events arrive in outbox order.
                deliveries = [
                    await producer.send(
                        row.topic,
                        value=row.payload.encode(),
                        key=row.key.encode() if row.key else None,
                        headers=[(k, v.encode()) for k, v in row.headers.items()],
                    )
                    for row in rows
                ]
                results = await asyncio.gather(*deliveries, return_exceptions=True)
        except TimeoutError:
            await self._record_failure(rows[0].seq, "send timed out (delivery unknown)")
            raise
        delivered = [
            row
            for row, res in zip(rows, results, strict=True)
            if not isinstance(res, BaseException)
        ]
        failed = next(
            (
                (row, res)
                for row, res in zip(rows, results, strict=True)
                if isinstance(res, BaseException)
            ),
            None,
        )
        await self._mark_published(delivered)
        if failed is not None:
            row, error = failed
            await self._record_failure(row.seq, f"{type(error).__name__}: {error}")
            await self._create_topics({r.topic for r in rows})
            raise RuntimeError(f"publishing outbox row {row.seq} failed: {error!r}")

    async def _mark_published(self, rows: Sequence[Any]) -> None:
        if not rows:
            return
        now = datetime.now(UTC)
        async with self._db.sessions() as session, session.begin():
            await session.execute(
                update(outbox)
                .where(outbox.c.seq.in_([row.seq for row in rows]))
                .values(published_at=now)
            )
        self.published_total += len(rows)
        for row in rows:
            EVENTS_PUBLISHED.labels(self._service, row.topic).inc()

    async def _record_failure(self, seq: int, error: str) -> None:
        with contextlib.suppress(Exception):
            async with self._db.sessions() as session, session.begin():
                await session.execute(
                    update(outbox)
                    .where(outbox.c.seq == seq)
                    .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
                )

    async def _create_topics(self, topics: set[str]) -> None:
        # A memory-only broker that restarted has lost its topics; recreate them.
        with contextlib.suppress(Exception):
            await ensure_topics(
                self._settings.bootstrap_servers,
                topics,
                partitions=self._settings.topic_partitions,
                timeout_s=5,
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
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await producer.stop()

    def _backoff(self) -> float:
        base = min(self._settings.relay_max_backoff_s, 0.1 * 2 ** min(self._failures, 10))
        return base * random.uniform(0.5, 1.0)

    async def _is_leader(self) -> bool:
        """SQLite has one relay per file by construction; PostgreSQL elects one by lock."""
        if self._db.is_sqlite:
            return True
        if self._leader_conn is not None and not self._leader_conn.closed:
            return True
        conn = await self._db.engine.connect()
        got = await conn.scalar(
            text("SELECT pg_try_advisory_lock(hashtext(:name))"),
            {"name": f"relay:{self._service}"},
        )
        await conn.commit()
        if got:
            self._leader_conn = conn
            return True
        await conn.close()
        return False

    async def _release_leadership(self) -> None:
        conn, self._leader_conn = self._leader_conn, None
        if conn is None:
            return
        try:
            # A session-level lock outlives close(): the connection only goes back to the pool.
            await conn.execute(text("SELECT pg_advisory_unlock_all()"))
            await conn.commit()
            await conn.close()
        except Exception:
            with contextlib.suppress(Exception):
                await conn.invalidate()

    async def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune < _PRUNE_EVERY_S:
            return
        self._last_prune = now
        await self.prune()

    async def prune(self) -> int:
        """Delete rows published longer ago than the retention window."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self._settings.outbox_retention_s)
        async with self._db.sessions() as session, session.begin():
            result = await session.execute(
                delete(outbox)
                .where(outbox.c.published_at.is_not(None))
                .where(outbox.c.published_at < cutoff)
            )
        return result.rowcount or 0
