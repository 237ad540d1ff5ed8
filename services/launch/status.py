"""A plan's status, apart from its readiness: planned, approved, launched or cancelled."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from shared.errors import Conflict


class PlanStatus(StrEnum):
    PLANNED = "planned"
    APPROVED = "approved"
    LAUNCHED = "launched"
    CANCELLED = "cancelled"


PLAN_TRANSITIONS: Mapping[PlanStatus, frozenset[PlanStatus]] = MappingProxyType(
    {
        PlanStatus.PLANNED: frozenset({PlanStatus.APPROVED, PlanStatus.CANCELLED}),
        # Rescheduling an approved plan withdraws its approval: the approver agreed to a date.
        PlanStatus.APPROVED: frozenset(
            {PlanStatus.LAUNCHED, PlanStatus.PLANNED, PlanStatus.CANCELLED}
        ),
        PlanStatus.LAUNCHED: frozenset(),
        PlanStatus.CANCELLED: frozenset(),
    }
)
# Plans whose gates, evidence and date people may still change.
OPEN_STATUSES = frozenset({PlanStatus.PLANNED, PlanStatus.APPROVED})


class InvalidPlanTransition(Conflict):
    """A status change the plan's state machine does not allow."""

    title, slug = "Invalid plan transition", "invalid-plan-transition"

    def __init__(self, current: PlanStatus, to: PlanStatus, why: str = "") -> None:
        current, to = PlanStatus(current), PlanStatus(to)
        allowed = [s.value for s in PlanStatus if s in PLAN_TRANSITIONS[current]]
        super().__init__(
            why or f"a {current.value} plan cannot become {to.value}",
            current=current.value,
            to=to.value,
            allowed=allowed,
        )


def transition(current: PlanStatus, to: PlanStatus) -> PlanStatus:
    """The new status, or InvalidPlanTransition."""
    current, to = PlanStatus(current), PlanStatus(to)
    if to not in PLAN_TRANSITIONS[current]:
        raise InvalidPlanTransition(current, to)
    return to
