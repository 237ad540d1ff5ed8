"""The launch plan aggregate and how its gates are evaluated, without I/O.

`LaunchPlan` is a frozen record; every use case (in `domain` and `manual`) returns an
`Outcome`: the plan after the change and the events it causes, in order. `settle`
re-evaluates every gate from the product's `Facts` and the plan's evidence and emits
`launch.gate.changed.v1` for each gate whose status, waiver or reasons changed and, on an
open plan whose readiness changed, `launch.blocked.v1` or `launch.ready.v1`; on a launched
plan within its monitoring window it keeps the at-risk flag instead.

Records rebuilt from database rows may hold enum fields as their plain strings: the rules
compare by value, so they behave the same (tests/launch/test_domain.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from services.launch.errors import GateNotFound, ItemNotFound
from services.launch.events import (
    AtRisk,
    Blocked,
    GateChanged,
    PlanEvent,
    Ready,
    gate_data,
    reason_data,
)
from services.launch.evidence import Goals, QaReport, business_documents_gate, qa_gate, signoff_gate
from services.launch.facts import Facts, catalog_complete, no_critical_defects, price_approved
from services.launch.gates import (
    DEFAULT_QA_KINDS,
    Gate,
    GateKind,
    GateName,
    GateResult,
    GateStatus,
    QaKind,
    Readiness,
    Reason,
    Waiver,
    blocking,
    readiness_of,
    waived_gates,
)
from services.launch.improvements import Improvement, spec_improvements_gate
from services.launch.marketing import MarketingTask, marketing_gate
from services.launch.status import OPEN_STATUSES, PlanStatus
from shared.errors import Conflict


@dataclass(frozen=True)
class Reschedule:
    old_date: date
    new_date: date
    reason: str
    by: str
    at: datetime

    @property
    def days(self) -> int:
        """Positive when the target moved later (a slip)."""
        return (self.new_date - self.old_date).days


@dataclass(frozen=True)
class Cancellation:
    reason: str
    by: str | None
    at: datetime


@dataclass(frozen=True)
class LaunchPlan:
    """A product's launch on one price list: the aggregate every use case returns anew.

    `readiness` and each gate's state are as of the last evaluation (what the last events
    said); `gates` keeps the default gates first, then the template's.
    """

    id: str
    product_id: str
    price_list: str
    owner: str
    target_date: date
    created_by: str
    created_at: datetime
    product_type: str | None = None
    qa_kinds: tuple[QaKind, ...] = DEFAULT_QA_KINDS
    status: PlanStatus = PlanStatus.PLANNED
    readiness: Readiness = Readiness.PENDING
    gates: tuple[Gate, ...] = ()
    goals: Goals | None = None
    improvements: tuple[Improvement, ...] = ()
    qa_reports: tuple[QaReport, ...] = ()
    tasks: tuple[MarketingTask, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    reschedules: tuple[Reschedule, ...] = ()
    approved_by: str | None = None
    approved_at: datetime | None = None
    launch_at: datetime | None = None
    launched_at: datetime | None = None
    monitored_until: datetime | None = None
    at_risk: bool = False
    at_risk_reasons: tuple[Reason, ...] = ()
    cancellation: Cancellation | None = None

    def gate(self, name: str) -> Gate:
        for gate in self.gates:
            if gate.name == name:
                return gate
        raise GateNotFound(f"this plan has no gate {name!r}", gate=name)

    def improvement(self, finding_id: str) -> Improvement | None:
        return next((i for i in self.improvements if i.finding_id == finding_id), None)

    def task(self, task_id: str) -> MarketingTask:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise ItemNotFound(f"this plan has no marketing task {task_id!r}", task_id=task_id)


@dataclass(frozen=True)
class Outcome:
    """A use case's result: the plan to save and the events to publish with it, in order."""

    plan: LaunchPlan
    events: tuple[PlanEvent, ...] = ()


def utc_today(now: datetime) -> date:
    """The UTC date of an aware datetime; a naive one is a programming error."""
    if now.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    return now.astimezone(UTC).date()


# --- evaluation ----------------------------------------------------------------------------------


def evaluate(plan: LaunchPlan, gate: Gate, facts: Facts, now: datetime) -> GateResult:
    """One gate's status and reasons from the facts and the plan's evidence."""
    today = utc_today(now)
    match gate.name:
        case GateName.CATALOG_COMPLETE:
            return catalog_complete(facts.product, product_id=plan.product_id)
        case GateName.PRICE_APPROVED:
            return price_approved(
                facts.prices, price_list=plan.price_list, target_date=plan.target_date, now=now
            )
        case GateName.NO_CRITICAL_DEFECTS:
            return no_critical_defects(facts.findings)
        case GateName.SPEC_IMPROVEMENTS:
            return spec_improvements_gate(
                gate, findings=facts.findings, improvements=plan.improvements, today=today
            )
        case GateName.BUSINESS_DOCUMENTS:
            return business_documents_gate(gate, plan.goals)
        case GateName.QA_SIGNOFF:
            return qa_gate(plan.qa_reports, required=plan.qa_kinds)
        case GateName.MARKETING_PLAN:
            return marketing_gate(gate, tasks=plan.tasks, target_date=plan.target_date, today=today)
        case _:
            # regulatory_compliance and every template gate pass on a sign-off alone.
            return signoff_gate(gate)


def evaluated_gates(plan: LaunchPlan, facts: Facts, now: datetime) -> tuple[Gate, ...]:
    waived = waived_gates(plan.waivers, now)
    gates = []
    for gate in plan.gates:
        result = evaluate(plan, gate, facts, now)
        new = replace(
            gate, status=result.status, reasons=result.reasons, waived=gate.name in waived
        )
        # Details such as a finding's item count refresh silently; updated_at marks changes.
        changed = gate.updated_at is None or not new.same_state(gate)
        gates.append(replace(new, updated_at=now) if changed else new)
    return tuple(gates)


def plan_fields(plan: LaunchPlan) -> dict[str, Any]:
    return {
        "launch_id": plan.id,
        "product_id": plan.product_id,
        "price_list": plan.price_list,
        "owner": plan.owner,
        "target_date": plan.target_date,
        "status": plan.status,
        "readiness": plan.readiness,
    }


def waived_names(plan: LaunchPlan) -> list[str]:
    return [gate.name for gate in plan.gates if gate.waived and gate.status != GateStatus.PASS]


def readiness_event(plan: LaunchPlan) -> PlanEvent | None:
    if plan.readiness == Readiness.BLOCKED:
        failing = [g for g in blocking(plan.gates) if g.status == GateStatus.FAIL]
        return Blocked(**plan_fields(plan), blocking=[gate_data(gate) for gate in failing])
    if plan.readiness == Readiness.READY:
        return Ready(**plan_fields(plan), waived=waived_names(plan))
    return None


def watch(plan: LaunchPlan) -> Outcome:
    """A launched plan is at risk while an automatic gate fails, waived or not: a waiver
    let it launch, it does not make the product safe to sell."""
    failing = [g for g in plan.gates if g.kind == GateKind.AUTO and g.status == GateStatus.FAIL]
    reasons = tuple(reason for gate in failing for reason in gate.reasons)
    watched = replace(plan, at_risk=bool(failing), at_risk_reasons=reasons)
    # A new failing finding while already at risk is news too; a changed item count is not.
    if watched.at_risk == plan.at_risk and [r.key for r in reasons] == [
        r.key for r in plan.at_risk_reasons
    ]:
        return Outcome(watched)
    event = AtRisk(
        **plan_fields(watched), at_risk=watched.at_risk, reasons=[reason_data(r) for r in reasons]
    )
    return Outcome(watched, (event,))


def settle(plan: LaunchPlan, *, facts: Facts, now: datetime) -> Outcome:
    """Re-evaluate the gates and say what changed. A cancelled plan, and a launched one past
    its monitoring window, no longer change."""
    if plan.status == PlanStatus.CANCELLED or (
        plan.status == PlanStatus.LAUNCHED
        and plan.monitored_until is not None
        and now >= plan.monitored_until
    ):
        return Outcome(plan)
    gates = evaluated_gates(plan, facts, now)
    new = replace(plan, gates=gates, readiness=readiness_of(gates))
    events: list[PlanEvent] = [
        GateChanged(
            **plan_fields(new),
            gate=gate_data(gate),
            previous_status=old.status,
            previous_waived=old.waived,
        )
        for old, gate in zip(plan.gates, gates, strict=True)
        if not gate.same_state(old)
    ]
    if new.status in OPEN_STATUSES and new.readiness != plan.readiness:
        announced = readiness_event(new)
        if announced is not None:
            events.append(announced)
    if new.status == PlanStatus.LAUNCHED:
        watched = watch(new)
        return Outcome(watched.plan, (*events, *watched.events))
    return Outcome(new, tuple(events))


# --- guards --------------------------------------------------------------------------------------


def require_open(plan: LaunchPlan, doing: str) -> None:
    if plan.status not in OPEN_STATUSES:
        raise Conflict(f"a {plan.status} plan cannot {doing}", status_now=str(plan.status))


def require_alive(plan: LaunchPlan, doing: str) -> None:
    if plan.status == PlanStatus.CANCELLED:
        raise Conflict(f"a cancelled plan cannot {doing}", status_now=str(plan.status))
