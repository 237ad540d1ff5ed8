"""The triage state of a customer event, as plain Python. No I/O.

Ingestion stores an event `queued` when it has text to read, `skipped` when it has none (a
purchase, a review without text) and `wait` when its sku is one the catalog has not named yet;
the catalog naming it queues it. The triage worker then marks it `done`, or `failed` when the
model cannot read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


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
        TriageState.FAILED: frozenset(),
    }
)


def states_before(to: TriageState) -> list[str]:
    """The stored states an event may move to `to` from: the guard of the update that moves
    it, so two workers (or a replayed catalog event) never move one event twice."""
    return [state.value for state, targets in TRIAGE_TRANSITIONS.items() if to in targets]
