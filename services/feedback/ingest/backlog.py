"""Push-back on ingestion (security issue 12, finding 6): while the triage queue or the
outbox holds more than its bound, a batch is refused with 429 and `Retry-After` rather than
stored, so a storefront (or a leaked key) cannot grow either queue without end. The counts
are read at most every `ingest_backlog_check_s`, so a busy ingest costs two counts a second,
not two a batch."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import func, select

from services.feedback.tables import customer_event
from services.feedback.triage.domain import TriageState
from shared.app import Runtime
from shared.errors import TooManyRequests

# A backlog drains at thousands of events a second (relay) or hundreds (triage): a few
# seconds is a fair first wait.
RETRY_AFTER_S = 5


class IngestBacklog:
    """The triage and relay backlogs as last counted, and the bounds they are held to."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._checked_at: float | None = None
        self.triage = 0
        self.relay = 0

    async def admit(self, runtime: Runtime) -> None:
        """Raise 429 when a backlog is over its bound; recount when the last count is old."""
        settings = runtime.settings
        now = self._monotonic()
        if self._checked_at is None or now - self._checked_at >= settings.ingest_backlog_check_s:
            await self._count(runtime)
            self._checked_at = now
        for name, count, bound in (
            ("triage", self.triage, settings.ingest_max_triage_backlog),
            ("relay", self.relay, settings.ingest_max_relay_backlog),
        ):
            if count > bound:
                raise TooManyRequests(
                    f"the {name} backlog holds {count} events, over its bound of {bound}: "
                    f"retry in {RETRY_AFTER_S} s",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                    retry_after=RETRY_AFTER_S,
                    backlog=name,
                )

    async def _count(self, runtime: Runtime) -> None:
        async with runtime.db.reader() as session:
            # Served by the partial index of the worker's queue.
            queued = await session.scalar(
                select(func.count()).where(customer_event.c.triage == TriageState.QUEUED.value)
            )
        self.triage = queued or 0
        self.relay = await runtime.relay.backlog()


async def _app_backlog(request: Request) -> IngestBacklog:
    return request.app.state.ingest_backlog


BacklogDep = Annotated[IngestBacklog, Depends(_app_backlog)]
