"""A background job that does what has come due, durably: the schedule is the service's
database, so a restart does whatever came due while it was down.

A service gives it two functions: `work(runtime)` does everything due now, in transactions
of its own, each claiming its item with a guarded change (`UPDATE ... WHERE due <= now`)
so that competing processes never do an item twice; `next_due(runtime)` says when the next
item is due. The job wakes then (and at least every `poll_s`, to notice items other
processes scheduled) or when `notify` says something was scheduled; a failed round is
retried with backoff; `stop` lets the current round finish its transaction. Run it with
`ServiceSpec(background=[job.run], on_stop=[job.stop])`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from shared.backoff import Backoff

if TYPE_CHECKING:
    from shared.app import Runtime

log = logging.getLogger(__name__)

_MIN_SLEEP_S = 0.01
# A failed round (database away) is retried at these intervals.
_RETRY = Backoff(first_s=0.4, cap_s=10.0)


class DueJob:
    """Runs `work` whenever something is due; see the module's docstring."""

    def __init__(
        self,
        *,
        work: Callable[[Runtime], Awaitable[int]],
        next_due: Callable[[Runtime], Awaitable[datetime | None]],
        poll_s: float = 1.0,
    ) -> None:
        self._work = work
        self._next_due = next_due
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._stopping = False
        self.last_error: str | None = None

    def notify(self) -> None:
        """Something was scheduled: look at the schedule now."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the current round, then return from `run`.

        Stopping between transactions, rather than cancelling one midway, leaves no
        connection (and on SQLite no write lock) behind.
        """
        self._stopping = True
        self._wake.set()

    async def run(self, runtime: Runtime) -> None:
        """Work until stopped; a failed round (database away) is retried with backoff."""
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                await self._work(runtime)
                delay = await self._delay(runtime)
                failures, self.last_error = 0, None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("due work failed; retrying", extra={"error": self.last_error})
                delay = _RETRY.delay(failures)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _delay(self, runtime: Runtime) -> float:
        due = await self._next_due(runtime)
        if due is None:
            return self.poll_s
        # Never zero: an item another process holds would make this spin.
        return min(self.poll_s, max(_MIN_SLEEP_S, (due - runtime.clock()).total_seconds()))
