"""The triage state of a customer event, and when a failed reading is retried. No I/O.

Ingestion stores an event `queued` when it has text to read, `skipped` when it has none (a
purchase, a review without text) and `wait` when its sku is one the catalog has not named yet;
the catalog naming it queues it. The triage worker then marks it `done`. When the model fails
on it, it stays `queued` for another try after a backoff (`after_failure`), and becomes
`failed` once it has had its tries; an admin re-queue puts it back in the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from shared.backoff import Backoff


class TriageState(StrEnum):
    QUEUED = "queued"
    WAIT = "wait"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


TRIAGE_TRANSITIONS: Mapping[TriageState, frozenset[TriageState]] = MappingProxyType(
    {
        TriageState.WAIT: frozenset({TriageState.QUEUED}),
        TriageState.QUEUED: frozenset({TriageState.DONE, TriageState.FAILED}),
        TriageState.DONE: frozenset(),
        TriageState.SKIPPED: frozenset(),
        # Given up, until an admin re-queues it.
        TriageState.FAILED: frozenset({TriageState.QUEUED}),
    }
)


def states_before(to: TriageState) -> list[str]:
    """The stored states an event may move to `to` from: the guard of the update that moves
    it, so two workers (or a replayed catalog event) never move one event twice."""
    return [state.value for state, targets in TRIAGE_TRANSITIONS.items() if to in targets]


@dataclass(frozen=True)
class RetryPolicy:
    """How patiently triage retries an event the model failed on: `max_attempts` readings in
    all, waiting `first_delay` after the first failure, twice as long after each next one,
    never more than `max_delay`."""

    max_attempts: int
    first_delay: timedelta
    max_delay: timedelta

    def delay(self, failures: int) -> timedelta:
        """The wait after the `failures`-th failure in a row."""
        # No jitter: the wait is a stored `next_attempt_at`, not many processes in step.
        series = Backoff(
            first_s=self.first_delay.total_seconds(),
            cap_s=self.max_delay.total_seconds(),
            jitter=0,
        )
        return timedelta(seconds=series.delay(failures))


@dataclass(frozen=True)
class AfterFailure:
    """An event's triage after a failed reading: `queued` again from `next_attempt_at`, or
    `failed` (given up) once `attempts` reached the policy's tries."""

    state: TriageState
    attempts: int
    next_attempt_at: datetime | None


def after_failure(*, attempts: int, policy: RetryPolicy, now: datetime) -> AfterFailure:
    """What becomes of an event whose reading failed at `now`, after `attempts` failed ones."""
    failures = attempts + 1
    if failures >= policy.max_attempts:
        return AfterFailure(state=TriageState.FAILED, attempts=failures, next_attempt_at=None)
    return AfterFailure(
        state=TriageState.QUEUED,
        attempts=failures,
        next_attempt_at=now + policy.delay(failures),
    )
