"""The triage worker: a background job that triages waiting events in batches, oldest first.

The model is CPU-bound and synchronous, so it runs in a thread; ingestion never waits for
it. An event the model fails on is retried after a backoff, and given up (`failed`) after
its tries. The lag (oldest waiting event, how many wait, retry or were given up) is in
`/readyz` and `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import func, select

from services.feedback.findings.escalations import EscalationStatus, Route, Slas
from services.feedback.ingest.service import EventStatus, expire_held, resolve_known
from services.feedback.metrics import (
    ESCALATIONS_OVERDUE,
    TRIAGE_BACKLOG,
    TRIAGE_FAILED,
    TRIAGE_LAG,
    TRIAGE_RETRYING,
    TRIAGED,
    UNRESOLVED_EVENTS,
)
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import customer_event, escalation
from services.feedback.triage import SAME_PROBLEM_THRESHOLD, Triage, TriageResult, similarity
from services.feedback.triage import service as triaging
from services.feedback.triage.domain import RetryPolicy, TriageState
from shared.app import Runtime
from shared.backoff import Backoff
from shared.clock import Clock, utc_now
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

# A failed step (database busy or away) and a model that would not load are retried.
_STEP_RETRY = Backoff(first_s=0.4, cap_s=30.0)
_LOAD_RETRY = Backoff(first_s=1.0, cap_s=30.0)


# The model's reading of one batch: its results by the event's `seq`, and the unreadable.
_Reading = asyncio.Future[tuple[dict[int, TriageResult], list[int]]]


def _forget(reading: _Reading) -> None:
    """A reading nobody will await: take its outcome, so asyncio does not report it."""
    if not reading.cancelled():
        reading.exception()


def _lower_priority(nice: int) -> None:
    """Make the calling thread nicer: Linux schedules threads as tasks, so on shared cores
    the request handlers win over the model and ingestion is not slowed by triage."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


class TriageWorker:
    """Loads the model once, then triages until cancelled. One per service process."""

    def __init__(
        self,
        *,
        factory: Callable[[], Triage],
        settings: FeedbackSettings,
        threshold: float = SAME_PROBLEM_THRESHOLD,
        clock: Clock = utc_now,
    ) -> None:
        self._factory = factory
        self.settings = settings
        self.clock = clock
        self.retry = RetryPolicy(
            max_attempts=settings.triage_max_attempts,
            first_delay=timedelta(seconds=settings.triage_retry_first_s),
            max_delay=timedelta(seconds=settings.triage_retry_max_s),
        )
        self.matcher = triaging.Matcher(
            similarity=similarity, threshold=threshold, review_below=settings.review_below
        )
        self.slas = Slas(
            critical_defect=timedelta(hours=settings.critical_defect_sla_h),
            urgent_ticket=timedelta(hours=settings.urgent_ticket_sla_h),
            sales_question=timedelta(hours=settings.sales_question_sla_h),
        )
        self._wake = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        # "not started" stays in a process that runs no background jobs (an API replica).
        self.model_state = "not started"
        self.triaged = 0
        self.last_error: str | None = None
        # None: the first round sweeps at once, however long ago the machine booted.
        self._last_refresh: float | None = None

    def notify(self) -> None:
        """New events were committed: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, runtime: Runtime) -> None:
        """The background job (see `ServiceSpec.background`)."""
        self.model_state = "loading"
        # One thread of its own for the model, at a lower CPU priority than the web server.
        self._executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="triage",
            initializer=_lower_priority,
            initargs=(self.settings.triage_nice,),
        )
        try:
            await self._loop(runtime, await self._load())
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _in_thread(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call, *args)

    async def _loop(self, runtime: Runtime, model: Triage) -> None:
        failures = 0
        while True:
            try:
                done = await self.drain(runtime, model)
                failures = 0
                # Events the sweep resolved are queued now: take them before sleeping.
                done += await self._refresh(runtime)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database busy or away: back off, never die
                failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("triage step failed", extra={"error": self.last_error})
                await asyncio.sleep(_STEP_RETRY.delay(failures))
                continue
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.triage_poll_s):
                        await self._wake.wait()
                self._wake.clear()

    async def _load(self) -> Triage:
        failures = 0
        while True:
            try:
                model = await self._in_thread(self._factory)
            except Exception as exc:
                self.model_state = f"failed: {type(exc).__name__}: {exc}"
                log.error("triage model failed to load", extra={"error": self.model_state})
                failures += 1
                await asyncio.sleep(_LOAD_RETRY.delay(failures))
                continue
            self.model_state = "ready"
            return model

    async def drain(self, runtime: Runtime, model: Triage, *, batches: int | None = None) -> int:
        """Triage waiting events batch after batch, oldest first, until none waits (or after
        `batches`); returns how many events were taken. With `triage_read_ahead` the model
        reads the next batch while the one before is applied, so its thread and the database
        work overlap instead of taking turns (the model does not read the database: a
        batch's results do not depend on the one before it having been applied)."""
        ahead = self.settings.triage_read_ahead
        taken = read = 0
        rows, reading = await self._next(runtime, model, after=None)
        try:
            while reading is not None:
                results, failed = await reading
                read += 1
                more = batches is None or read < batches
                following: list[Any] = []
                reading = None
                if more and ahead:
                    following, reading = await self._next(runtime, model, after=rows[-1].seq)
                await self._finish(runtime, rows, results, failed)
                if more and not ahead:
                    following, reading = await self._next(runtime, model, after=rows[-1].seq)
                taken += len(rows)
                rows = following
                await self._refresh(runtime)
        finally:
            if reading is not None:
                # Its events are read again later: on SQLite by the next pass, on
                # PostgreSQL once their lease is over, as if this worker had died.
                reading.cancel()
                reading.add_done_callback(_forget)
        return taken

    async def _take(self, runtime: Runtime, *, after: int | None) -> list[Any]:
        """The next batch waiting, of events after `after` (the last of the batch in hand)."""
        size, now = self.settings.triage_batch_size, self.clock()
        if runtime.db.is_sqlite:
            # One writer: the model reads outside any transaction, and the apply's claim
            # keeps a batch read twice from being applied twice.
            async with runtime.db.reader() as session:
                return await triaging.next_batch(session=session, size=size, now=now, after=after)
        # Taken for a while in a transaction of its own, not locked while the model reads:
        # other workers on this database read the next batch, and read this one again if
        # this worker dies before applying it.
        until = now + timedelta(seconds=self.settings.triage_lease_s)
        async with runtime.uow() as uow:
            return await triaging.lease_batch(
                session=uow.session, size=size, now=now, until=until, after=after
            )

    async def _next(
        self, runtime: Runtime, model: Triage, *, after: int | None
    ) -> tuple[list[Any], _Reading | None]:
        """The next batch, and the model's reading of it started (None: nothing waits)."""
        rows = await self._take(runtime, after=after)
        return rows, asyncio.ensure_future(self._triage(model, rows)) if rows else None

    async def _finish(
        self,
        runtime: Runtime,
        rows: Sequence[Any],
        results: dict[int, TriageResult],
        failed: list[int],
    ) -> None:
        async with runtime.uow() as uow:
            applied, failures = await self._apply(uow, rows, results, failed)
        self.triaged += applied.items + applied.search_misses
        service = runtime.spec.name
        TRIAGED.labels(service, "triaged").inc(applied.items)
        TRIAGED.labels(service, "search_miss").inc(applied.search_misses)
        TRIAGED.labels(service, "retried").inc(failures.retried)
        TRIAGED.labels(service, "failed").inc(failures.gave_up)

    async def _apply(
        self,
        uow: UnitOfWork,
        rows: Sequence[Any],
        results: dict[int, TriageResult],
        failed: list[int],
    ) -> tuple[triaging.Applied, triaging.Failures]:
        unreadable = set(failed)
        applied = await triaging.apply(
            uow=uow,
            rows=[row for row in rows if row.seq not in unreadable],
            results=results,
            matcher=self.matcher,
            slas=self.slas,
        )
        failures = await triaging.record_failures(
            uow=uow,
            rows=[row for row in rows if row.seq in unreadable],
            policy=self.retry,
            now=self.clock(),
        )
        return applied, failures

    async def _triage(
        self, model: Triage, rows: Sequence[Any]
    ) -> tuple[dict[int, TriageResult], list[int]]:
        """The model's results by the event's `seq` (search misses are not read); a batch
        that fails is retried one by one, so one unreadable text cannot hold up the rest."""
        rows = [row for row in rows if row.kind != "search_miss"]
        if not rows:
            return {}, []
        inputs = [triaging.triage_input(row) for row in rows]
        try:
            results = await self._in_thread(model.triage, inputs)
            return {row.seq: res for row, res in zip(rows, results, strict=True)}, []
        except Exception as exc:
            log.warning("triage batch failed; trying one by one", extra={"error": repr(exc)})
        by_seq: dict[int, TriageResult] = {}
        failed: list[int] = []
        for row, single in zip(rows, inputs, strict=True):
            try:
                (by_seq[row.seq],) = await self._in_thread(model.triage, [single])
            except Exception as exc:
                log.error(
                    "event could not be triaged",
                    extra={"event_id": row.event_id, "error": repr(exc)},
                )
                failed.append(row.seq)
        return by_seq, failed

    async def _refresh(self, runtime: Runtime) -> int:
        """Sweep late-resolvable events, expire those held too long, and refresh the gauges,
        at most every few seconds; returns how many events the sweep queued for triage."""
        now = time.monotonic()
        if (
            self._last_refresh is not None
            and now - self._last_refresh < self.settings.metrics_refresh_s
        ):
            return 0
        self._last_refresh = now
        async with runtime.uow() as uow:
            resolved = await resolve_known(uow=uow)
            await expire_held(uow=uow, hold=timedelta(days=runtime.settings.ingest_hold_days))
        await self.report(runtime)
        return resolved

    async def report(self, runtime: Runtime) -> dict[str, Any]:
        """Triage lag for `/readyz` (informative: ingestion works while triage lags)."""
        service = runtime.spec.name
        now = runtime.clock()
        events = customer_event.c
        async with runtime.db.reader() as session:
            # Each count is served by a partial index: the table itself may be huge.
            backlog, oldest, retrying = (
                await session.execute(
                    select(
                        func.count(),
                        func.min(events.ingested_at),
                        func.count().filter(events.triage_attempts > 0),
                    ).where(events.triage == TriageState.QUEUED.value)
                )
            ).one()
            waiting = await session.scalar(
                select(func.count()).where(events.status == EventStatus.HELD.value)
            )
            failed = await session.scalar(
                select(func.count()).where(events.triage == TriageState.FAILED.value)
            )
            overdue: dict[str, int] = dict(
                (
                    await session.execute(
                        select(escalation.c.route, func.count())
                        .where(escalation.c.status == EscalationStatus.OPEN.value)
                        .where(escalation.c.due_at < now)
                        .group_by(escalation.c.route)
                    )
                ).all()
            )
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        lag_s = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        TRIAGE_BACKLOG.labels(service).set(backlog)
        TRIAGE_LAG.labels(service).set(lag_s)
        TRIAGE_RETRYING.labels(service).set(retrying)
        TRIAGE_FAILED.labels(service).set(failed or 0)
        UNRESOLVED_EVENTS.labels(service).set(waiting or 0)
        for route in Route:
            ESCALATIONS_OVERDUE.labels(service, route).set(overdue.get(route, 0))
        return {
            "triage": {
                "model": self.model_state,
                "backlog": backlog,
                "oldest_waiting_s": round(lag_s, 1),
                "retrying": retrying,
                "waiting_for_catalog": waiting or 0,
                "failed": failed or 0,
                "triaged": self.triaged,
                "last_error": self.last_error,
            },
            "escalations_overdue": {route.value: overdue.get(route, 0) for route in Route},
        }


async def _app_worker(request: Request) -> TriageWorker:
    return request.app.state.feedback_worker


# The app's worker, for routes that wake it when they queue events.
WorkerDep = Annotated[TriageWorker, Depends(_app_worker)]
