"""The unit of work: one transaction holding a use case's state change and its events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock, utc_now
from shared.db import Database
from shared.errors import EventTooLarge
from shared.events import HEADERS, CloudEvent, EncodedEvent, encoded, topic_of
from shared.inserts import insert_rows
from shared.settings import DEFAULT_MAX_EVENT_BYTES
from shared.tables import outbox


class UnitOfWork:
    """`async with uow:` opens a transaction; leaving it commits, an exception rolls back.

    Events added with `publish` or `publish_many` are written to the outbox in the same
    transaction, and the relay is woken once right after the commit, so a request never
    waits on the broker. `clock` is the runtime's: use cases and handlers read "now" from it.
    """

    def __init__(
        self,
        db: Database,
        *,
        service: str,
        on_commit: Callable[[], None],
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        clock: Clock = utc_now,
    ) -> None:
        self._db = db
        self._service = service
        self._on_commit = on_commit
        self._max_event_bytes = max_event_bytes
        self.clock = clock
        self._session: AsyncSession | None = None
        self._pending: list[dict[str, object]] = []
        self._after_commit: list[Callable[[], None]] = []
        # One object for every row: the bulk insert converts it once.
        self._headers = dict(HEADERS)

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    @property
    def dialect(self) -> str:
        return self._db.dialect

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction has committed, never if it rolls back.

        For waking a worker of this process that reads what the transaction wrote: woken
        before the commit, it would find nothing, and sleep until its next poll."""
        self._after_commit.append(callback)

    def publish(self, event: CloudEvent, *, topic: str | None = None) -> None:
        """Add an event to this transaction's outbox (topic: the service's own by default).

        Raises `EventTooLarge` (413) for an event over `max_event_bytes` once encoded.
        """
        self.publish_many((event,), topic=topic)

    def publish_many(
        self, events: Iterable[CloudEvent | EncodedEvent], *, topic: str | None = None
    ) -> None:
        """Add events to this transaction's outbox in their order (topic: the service's own
        by default): CloudEvents, or events already in wire form (`encode_new_events`, the
        bulk path). All of a transaction's events go in with one insert at the commit.

        Raises `EventTooLarge` (413) for an event over `max_event_bytes` once encoded: a
        broker would refuse it, and it is refused here, where the request can be told.
        """
        target = topic or topic_of(self._service)
        created_at = self.clock()
        for event in map(encoded, events):
            self._check_size(event)
            self._pending.append(
                {
                    "id": event.id,
                    "topic": target,
                    "key": event.subject,
                    "type": event.type,
                    "payload": event.value,
                    "headers": self._headers,
                    "created_at": created_at,
                    "attempts": 0,
                }
            )

    def _check_size(self, event: EncodedEvent) -> None:
        # UTF-8 takes at most 4 bytes a character: most events are surely small enough
        # without being encoded again.
        if len(event.value) * 4 <= self._max_event_bytes:
            return
        size = len(event.value.encode())
        if size > self._max_event_bytes:
            raise EventTooLarge(
                f"the {event.type} event would be {size} bytes; events are limited"
                f" to {self._max_event_bytes} bytes",
                event_type=event.type,
                max_event_bytes=self._max_event_bytes,
            )

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._db.sessions()
        self._pending = []
        self._after_commit = []
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
        callbacks = self._after_commit
        try:
            if exc_type is not None:
                await session.rollback()
                return
            await insert_rows(session, outbox, self._pending)
            await session.commit()
        finally:
            self._pending = []
            self._after_commit = []
            self._session = None
            await session.close()
        if published:
            self._on_commit()
        for callback in callbacks:
            callback()
