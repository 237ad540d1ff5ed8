"""The triage state of a customer event and its retries, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.feedback.triage.domain import (
    TRIAGE_TRANSITIONS,
    RetryPolicy,
    TriageState,
    after_failure,
    states_before,
)

NOW = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=5, first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=60)
)


def test_every_state_has_its_moves() -> None:
    assert set(TRIAGE_TRANSITIONS) == set(TriageState)


def test_an_event_waits_for_the_catalog_then_is_triaged_once() -> None:
    assert states_before(TriageState.QUEUED) == ["wait", "failed"]
    assert states_before(TriageState.DONE) == ["queued"]
    assert states_before(TriageState.FAILED) == ["queued"]


def test_done_and_skipped_are_final_and_failed_only_goes_back_to_the_queue() -> None:
    for state in (TriageState.DONE, TriageState.SKIPPED):
        assert TRIAGE_TRANSITIONS[state] == frozenset()
    assert TRIAGE_TRANSITIONS[TriageState.FAILED] == frozenset({TriageState.QUEUED})
    assert states_before(TriageState.WAIT) == []
    assert states_before(TriageState.SKIPPED) == []


def test_the_backoff_doubles_from_the_first_delay_up_to_its_cap() -> None:
    delays = [POLICY.delay(failures) for failures in range(1, 7)]
    assert delays == [timedelta(seconds=s) for s in (10, 20, 40, 60, 60, 60)]


def test_a_long_run_of_failures_stays_at_the_cap() -> None:
    patient = RetryPolicy(
        max_attempts=50, first_delay=timedelta(seconds=1), max_delay=timedelta(days=1)
    )
    assert patient.delay(10_000) == timedelta(days=1)


def test_a_failed_reading_is_retried_after_its_backoff_until_the_last_try() -> None:
    attempts, due = 0, []
    outcome = after_failure(attempts=attempts, policy=POLICY, now=NOW)
    while outcome.state is TriageState.QUEUED:
        assert outcome.attempts == attempts + 1
        assert outcome.next_attempt_at is not None
        due.append(outcome.next_attempt_at - NOW)
        attempts = outcome.attempts
        outcome = after_failure(attempts=attempts, policy=POLICY, now=NOW)

    assert due == [timedelta(seconds=s) for s in (10, 20, 40, 60)]
    assert outcome.state is TriageState.FAILED
    assert outcome.attempts == POLICY.max_attempts
    assert outcome.next_attempt_at is None


def test_the_backoff_runs_from_the_injected_now() -> None:
    later = NOW + timedelta(hours=3)
    outcome = after_failure(attempts=1, policy=POLICY, now=later)
    assert outcome.next_attempt_at == later + timedelta(seconds=20)


def test_a_single_try_gives_up_at_the_first_failure() -> None:
    once = RetryPolicy(max_attempts=1, first_delay=timedelta(seconds=1), max_delay=timedelta(1))
    outcome = after_failure(attempts=0, policy=once, now=NOW)
    assert (outcome.state, outcome.attempts) == (TriageState.FAILED, 1)
