"""The due-work loop (`shared/due.py`): it works when told and when the next item is due,
retries a failed round, and stops between rounds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from shared.due import DueJob
from tests.support import eventually

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class Schedule:
    """A fake schedule: rounds done, failures still to raise, the next due time."""

    def __init__(self, *, failures: int = 0, due: datetime | None = None) -> None:
        self.rounds = 0
        self.failures = failures
        self.due = due

    async def work(self, runtime: Any) -> int:
        self.rounds += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database away")
        return 1

    async def next_due(self, runtime: Any) -> datetime | None:
        return self.due


RUNTIME = SimpleNamespace(clock=lambda: NOW)


async def test_it_works_when_notified_and_stops_between_rounds() -> None:
    schedule = Schedule()
    job = DueJob(work=schedule.work, next_due=schedule.next_due, poll_s=60)
    running = asyncio.create_task(job.run(RUNTIME))  # type: ignore[arg-type]

    async def rounds(n: int) -> bool:
        return schedule.rounds >= n

    await eventually(lambda: rounds(1), timeout_s=5)
    job.notify()
    await eventually(lambda: rounds(2), timeout_s=5)
    job.stop()
    await asyncio.wait_for(running, timeout=5)
    assert schedule.rounds == 2


async def test_it_wakes_when_the_next_item_is_due_not_at_the_poll() -> None:
    schedule = Schedule(due=NOW + timedelta(milliseconds=50))
    job = DueJob(work=schedule.work, next_due=schedule.next_due, poll_s=60)
    running = asyncio.create_task(job.run(RUNTIME))  # type: ignore[arg-type]

    async def rounds() -> bool:
        return schedule.rounds >= 3

    await eventually(rounds, timeout_s=5)
    job.stop()
    await asyncio.wait_for(running, timeout=5)


async def test_a_failed_round_is_retried_and_the_error_kept_until_then() -> None:
    schedule = Schedule(failures=1)
    job = DueJob(work=schedule.work, next_due=schedule.next_due, poll_s=60)
    running = asyncio.create_task(job.run(RUNTIME))  # type: ignore[arg-type]

    async def failed() -> bool:
        return job.last_error is not None

    await eventually(failed, timeout_s=5)
    assert job.last_error == "ConnectionError: database away"

    async def recovered() -> bool:
        return schedule.rounds >= 2 and job.last_error is None

    await eventually(recovered, timeout_s=5)
    job.stop()
    await asyncio.wait_for(running, timeout=5)
