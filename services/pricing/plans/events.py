"""Plan events on `pricing.events`, subject = the plan's product id or account.

They carry no `sequence`: a plan's change does not change its product, and a sequence here
would make consumers tracking the product's price events drop the next one as stale. The
plan's own `version` is in `data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.pricing.events import SOURCE, registry
from services.pricing.plans.domain import PlanKind, PlanSource, Target
from shared.events import CloudEvent, EventPayload, event_for
from shared.money import format_amount
from shared.periods import month_text


class TargetData(EventPayload):
    """One month's target; amounts are decimal strings in the plan's currency."""

    month: str
    units: int
    revenue: str
    margin: str


class PlanEvent(EventPayload):
    """A plan's state after the change: every monthly target, not only the changed ones."""

    plan_id: str
    kind: PlanKind
    subject: str
    currency: str
    source: PlanSource
    launch_id: str | None
    targets: list[TargetData]
    version: int
    by: str


@registry.register("pricing.plan.created.v1")
class PlanCreated(PlanEvent):
    """A plan was made by a person (`source` manual) or from a launch's goals (`launch`)."""


@registry.register("pricing.plan.targets_changed.v1")
class PlanTargetsChanged(PlanEvent):
    """`changed` names the months (`YYYY-MM`) whose target was set or replaced."""

    changed: list[str]


def target_data(target: Target, currency: str) -> TargetData:
    return TargetData(
        month=month_text(target.month),
        units=target.units,
        revenue=format_amount(target.revenue, currency),
        margin=format_amount(target.margin, currency),
    )


def plan_event(
    row: Any, targets: Sequence[Target], *, by: str, changed: Sequence[Target] | None = None
) -> CloudEvent:
    """The event for a `financial_plan` row and its targets: created, or with `changed`,
    the targets changed."""
    fields: dict[str, Any] = {
        "plan_id": row.id,
        "kind": PlanKind(row.kind),
        "subject": row.subject,
        "currency": row.currency,
        "source": PlanSource(row.source),
        "launch_id": row.launch_id,
        "targets": [target_data(t, row.currency) for t in targets],
        "version": row.version,
        "by": by,
    }
    payload: PlanEvent
    if changed is None:
        payload = PlanCreated(**fields)
    else:
        payload = PlanTargetsChanged(**fields, changed=[month_text(t.month) for t in changed])
    return event_for(payload, source=SOURCE, subject=row.subject)
