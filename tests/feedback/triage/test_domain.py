"""The triage state of a customer event, without I/O."""

from __future__ import annotations

from services.feedback.triage.domain import TRIAGE_TRANSITIONS, TriageState, states_before


def test_every_state_has_its_moves() -> None:
    assert set(TRIAGE_TRANSITIONS) == set(TriageState)


def test_an_event_waits_for_the_catalog_then_is_triaged_once() -> None:
    assert states_before(TriageState.QUEUED) == ["wait"]
    assert states_before(TriageState.DONE) == ["queued"]
    assert states_before(TriageState.FAILED) == ["queued"]


def test_done_skipped_and_failed_are_final() -> None:
    for state in (TriageState.DONE, TriageState.SKIPPED, TriageState.FAILED):
        assert TRIAGE_TRANSITIONS[state] == frozenset()
    assert states_before(TriageState.WAIT) == []
    assert states_before(TriageState.SKIPPED) == []
