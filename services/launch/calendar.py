"""The launch calendar: days left and the flags that ask for attention.

- `behind`: an open plan whose target is at most `behind_within` days away (or already
  past) and that is not ready.
- `slipped`: the target moved later; how often and by how many days in all, from the
  plan's reschedules (moves to an earlier date are not slips).
- `conflict`: another launch in the same ISO week with the same owner or the same product
  type, as the `ConflictRule` says. Cancelled plans never conflict.
- overdue change requests and marketing tasks, so monitoring sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from services.launch.domain import LaunchPlan, Reschedule
from services.launch.gates import Readiness
from services.launch.improvements import overdue
from services.launch.marketing import TaskStatus
from services.launch.status import OPEN_STATUSES, PlanStatus

BEHIND_WITHIN_DAYS = 7


@dataclass(frozen=True)
class ConflictRule:
    """Which shared trait makes two launches in one ISO week a conflict."""

    same_owner: bool = True
    same_product_type: bool = True


@dataclass(frozen=True)
class Slip:
    """How often and by how many days in all the target moved later."""

    times: int = 0
    days: int = 0


@dataclass(frozen=True)
class Clash:
    """Another launch in the same week, and what the two share (`owner`, `product_type`)."""

    launch_id: str
    shared: tuple[str, ...]


@dataclass(frozen=True)
class CalendarEntry:
    plan: LaunchPlan
    days_left: int
    behind: bool
    slip: Slip
    conflicts: tuple[Clash, ...]
    overdue_change_requests: tuple[str, ...]
    overdue_tasks: tuple[str, ...]

    @property
    def slipped(self) -> bool:
        return self.slip.times > 0

    @property
    def conflict(self) -> bool:
        return bool(self.conflicts)


def days_left(plan: LaunchPlan, today: date) -> int:
    """Days until the target date; negative once it has passed."""
    return (plan.target_date - today).days


def is_behind(plan: LaunchPlan, today: date, *, within: int = BEHIND_WITHIN_DAYS) -> bool:
    """An open plan, not ready, whose target is at most `within` days away."""
    return (
        plan.status in OPEN_STATUSES
        and plan.readiness != Readiness.READY
        and days_left(plan, today) <= within
    )


def slip_of(reschedules: Iterable[Reschedule]) -> Slip:
    later = [move.days for move in reschedules if move.days > 0]
    return Slip(len(later), sum(later))


def iso_week(day: date) -> tuple[int, int]:
    """(ISO year, ISO week): 2029-12-31 is in week 1 of 2030."""
    year, week, _ = day.isocalendar()
    return year, week


def clashes(
    plan: LaunchPlan, others: Iterable[LaunchPlan], rule: ConflictRule
) -> tuple[Clash, ...]:
    """The other launches of `plan`'s ISO week that share what the rule names."""
    if plan.status == PlanStatus.CANCELLED:
        return ()
    week, found = iso_week(plan.target_date), []
    for other in others:
        if (
            other.id == plan.id
            or other.status == PlanStatus.CANCELLED
            or iso_week(other.target_date) != week
        ):
            continue
        shared = []
        if rule.same_owner and other.owner == plan.owner:
            shared.append("owner")
        if (
            rule.same_product_type
            and plan.product_type is not None
            and other.product_type == plan.product_type
        ):
            shared.append("product_type")
        if shared:
            found.append(Clash(other.id, tuple(shared)))
    return tuple(found)


def overdue_tasks(plan: LaunchPlan, today: date) -> tuple[str, ...]:
    return tuple(
        task.id
        for task in plan.tasks
        if task.status == TaskStatus.OPEN and today > task.due_date(plan.target_date)
    )


def calendar(
    plans: Sequence[LaunchPlan],
    *,
    today: date,
    rule: ConflictRule = ConflictRule(),
    behind_within: int = BEHIND_WITHIN_DAYS,
) -> tuple[CalendarEntry, ...]:
    """One entry per plan, by target date. Conflicts are found among `plans` only, so pass
    every plan of the ISO weeks the requested range touches."""
    return tuple(
        CalendarEntry(
            plan=plan,
            days_left=days_left(plan, today),
            behind=is_behind(plan, today, within=behind_within),
            slip=slip_of(plan.reschedules),
            conflicts=clashes(plan, plans, rule),
            overdue_change_requests=tuple(i.finding_id for i in overdue(plan.improvements, today)),
            overdue_tasks=overdue_tasks(plan, today),
        )
        for plan in sorted(plans, key=lambda p: (p.target_date, p.id))
    )
