"""Marketing before, during and after the launch, and the `marketing_plan` gate.

A task's due date is a day offset from the plan's target date (T-14 is -14, T is 0, T+7 is
7), so moving the target date moves every task with it. The gate passes when it is signed
off, or when the plan has "before" tasks and every one of them is done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from services.launch.errors import field_error, required_text
from services.launch.gates import PASSED, Gate, GateResult, Reason, ReasonCode, result_of
from shared.errors import Conflict

MAX_OFFSET_DAYS = 365
MAX_TITLE = 200


class Phase(StrEnum):
    BEFORE = "before"
    DURING = "during"
    AFTER = "after"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True)
class MarketingTask:
    """A task due `offset_days` from the target date."""

    id: str
    title: str
    phase: Phase
    owner: str
    offset_days: int
    status: TaskStatus = TaskStatus.OPEN
    done_by: str | None = None
    done_at: datetime | None = None

    def due_date(self, target_date: date) -> date:
        return target_date + timedelta(days=self.offset_days)


def new_task(
    *, task_id: str, title: str, phase: Phase, owner: str, offset_days: int
) -> MarketingTask:
    """An open task, or a 422: a "before" task is due on or before the target date, an
    "after" task on or after it, and none more than a year away."""
    title = required_text("title", title)
    if len(title) > MAX_TITLE:
        raise field_error("title", f"title has at most {MAX_TITLE} characters")
    owner = required_text("owner", owner)
    phase = Phase(phase)
    if isinstance(offset_days, bool) or not isinstance(offset_days, int):
        raise field_error("offset_days", "offset_days is a whole number of days")
    if abs(offset_days) > MAX_OFFSET_DAYS:
        raise field_error("offset_days", f"offset_days is within ±{MAX_OFFSET_DAYS}")
    if phase == Phase.BEFORE and offset_days > 0:
        raise field_error("offset_days", "a task before the launch is due on T or earlier")
    if phase == Phase.AFTER and offset_days < 0:
        raise field_error("offset_days", "a task after the launch is due on T or later")
    return MarketingTask(task_id, title, phase, owner, offset_days)


def complete(task: MarketingTask, *, by: str, now: datetime) -> MarketingTask:
    if task.status == TaskStatus.DONE:
        raise Conflict(f"task {task.id} is already done", task_id=task.id)
    return replace(task, status=TaskStatus.DONE, done_by=by, done_at=now)


def reopen(task: MarketingTask) -> MarketingTask:
    if task.status == TaskStatus.OPEN:
        raise Conflict(f"task {task.id} is not done", task_id=task.id)
    return replace(task, status=TaskStatus.OPEN, done_by=None, done_at=None)


def marketing_gate(
    gate: Gate, *, tasks: Iterable[MarketingTask], target_date: date, today: date
) -> GateResult:
    """Passes when signed off, or when every "before" task (at least one) is done."""
    if gate.signoff is not None:
        return PASSED
    before = [task for task in tasks if task.phase == Phase.BEFORE]
    if not before:
        return result_of(
            pending=[
                Reason(
                    ReasonCode.NO_MARKETING_TASKS,
                    Phase.BEFORE.value,
                    "the plan has no marketing task before the launch; add them or sign "
                    "the marketing plan off",
                )
            ]
        )
    reasons = []
    for task in before:
        if task.status == TaskStatus.DONE:
            continue
        due = task.due_date(target_date)
        reasons.append(
            Reason(
                ReasonCode.MARKETING_TASK_OPEN,
                task.id,
                f"marketing task {task.title!r} ({task.owner}) due {due} is not done",
                {
                    "title": task.title,
                    "owner": task.owner,
                    "due_date": due,
                    "offset_days": task.offset_days,
                    "overdue": today > due,
                },
            )
        )
    return result_of(pending=reasons)
