"""The events launch publishes on `launch.events`, subject = product id.

Every event carries the plan's identity, status and readiness after the change, so a reader
needs no call back. `sequence` counts launch's events per product (one product can have
plans on several price lists); the service layer assigns it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from services.launch.evidence import GOALS_PERIOD_DAYS, Goals
from services.launch.gates import Gate, GateKind, GateStatus, Readiness, Reason
from services.launch.status import PlanStatus
from shared.events import CloudEvent, EventPayload, EventRegistry, event_for
from shared.money import format_amount

SOURCE = "/launch"
registry = EventRegistry()


class ReasonData(EventPayload):
    code: str
    ref: str
    detail: str
    data: dict[str, Any] = Field(default_factory=dict)


class GateData(EventPayload):
    name: str
    kind: GateKind
    status: GateStatus
    waived: bool
    reasons: list[ReasonData]
    updated_at: datetime | None


class MoneyData(EventPayload):
    amount: str
    currency: str


class GoalsData(EventPayload):
    """Targets for the first `period_days` after launch."""

    units: int
    revenue: MoneyData
    margin_pct: str
    period_days: int = GOALS_PERIOD_DAYS


class PlanEvent(EventPayload):
    """A plan's identity and state after the change."""

    launch_id: str
    product_id: str
    price_list: str
    owner: str
    target_date: date
    status: PlanStatus
    readiness: Readiness


@registry.register("launch.plan.created.v1")
class PlanCreated(PlanEvent):
    product_type: str | None
    created_by: str
    gates: list[GateData]


@registry.register("launch.gate.changed.v1")
class GateChanged(PlanEvent):
    gate: GateData
    previous_status: GateStatus
    previous_waived: bool


@registry.register("launch.blocked.v1")
class Blocked(PlanEvent):
    """Readiness became blocked; `blocking` are the failing gates no waiver covers."""

    blocking: list[GateData]


@registry.register("launch.ready.v1")
class Ready(PlanEvent):
    """Readiness became ready; `waived` names the gates that pass only by a waiver."""

    waived: list[str]


@registry.register("launch.approved.v1")
class Approved(PlanEvent):
    approved_by: str
    approved_at: datetime
    launch_at: datetime
    waived: list[str]


@registry.register("launch.launched.v1")
class Launched(PlanEvent):
    """The product goes live; the catalog moves it to active."""

    launched_at: datetime
    monitored_until: datetime
    goals: GoalsData | None


@registry.register("launch.at_risk.v1")
class AtRisk(PlanEvent):
    """A launched plan's automatic gate failed (`at_risk`) or passed again within monitoring."""

    at_risk: bool
    reasons: list[ReasonData]


@registry.register("launch.rescheduled.v1")
class Rescheduled(PlanEvent):
    old_date: date
    new_date: date
    reason: str
    by: str
    approval_withdrawn: bool


@registry.register("launch.cancelled.v1")
class Cancelled(PlanEvent):
    """`by` is None when launch cancelled the plan itself (the product was discontinued)."""

    reason: str
    by: str | None
    automatic: bool


def reason_data(reason: Reason) -> ReasonData:
    return ReasonData(
        code=str(reason.code), ref=reason.ref, detail=reason.detail, data=dict(reason.data)
    )


def gate_data(gate: Gate) -> GateData:
    return GateData(
        name=gate.name,
        kind=gate.kind,
        status=gate.status,
        waived=gate.waived,
        reasons=[reason_data(reason) for reason in gate.reasons],
        updated_at=gate.updated_at,
    )


def goals_data(goals: Goals) -> GoalsData:
    revenue = goals.revenue
    return GoalsData(
        units=goals.units,
        revenue=MoneyData(
            amount=format_amount(revenue.amount, revenue.currency), currency=revenue.currency
        ),
        margin_pct=format(goals.margin_pct, "f"),
    )


def launch_event(payload: PlanEvent, *, sequence: int, time: datetime | None = None) -> CloudEvent:
    """An envelope from /launch about the plan's product; `time` is the use case's clock."""
    return event_for(
        payload, source=SOURCE, subject=payload.product_id, sequence=sequence, time=time
    )
