"""The unit of work: one transaction holding a use case's state change and its events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.errors import EventTooLarge
from shared.events import CloudEvent, encode, kafka_headers, topic_of
from shared.settings import DEFAULT_MAX_EVENT_BYTES
from shared.tables import outbox


class UnitOfWork:
    """`async with uow:` opens a transaction; leaving it commits, an exception rolls back.

    Events added with `publish` are written to the outbox in the same transaction, and the
    relay is woken right after the commit, so a request never waits on the broker.
    """

    def __init__(
        self,
        db: Database,
        *,
        service: str,
        on_commit: Callable[[], None],
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self._db = db
        self._service = service
        self._on_commit = on_commit
        self._max_event_bytes = max_event_bytes
        self._session: AsyncSession | None = None
        self._pending: list[dict[str, object]] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    @property
    def dialect(self) -> str:
        return self._db.dialect

    def publish(self, event: CloudEvent, *, topic: str | None = None) -> None:
        """Add an event to this transaction's outbox (topic: the service's own by default).

        Raises `EventTooLarge` (413) for an event over `max_event_bytes` once encoded.
        """
        payload = encode(event)
        if len(payload) > self._max_event_bytes:
            raise EventTooLarge(
                f"the {event.type} event would be {len(payload)} bytes; events are limited"
                f" to {self._max_event_bytes} bytes",
                event_type=event.type,
                max_event_bytes=self._max_event_bytes,
            )
        self._pending.append(
            {
                "id": event.id,
                "topic": topic or topic_of(self._service),
                "key": event.subject,
                "type": event.type,
                "payload": payload.decode(),
                "headers": {name: value.decode() for name, value in kafka_headers()},
                "created_at": datetime.now(UTC),
                "attempts": 0,
            }
        )

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._db.sessions()
        self._pending = []
        await self._session.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        published = bool(self._pending)
        try:
            if exc_type is not None:
                await session.rollback()
                return
            if self._pending:
                await session.execute(insert(outbox), self._pending)
            await session.commit()
        finally:
            self._pending = []
            self._session = None
            await session.close()
        if published:
            self._on_commit()
