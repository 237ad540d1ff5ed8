"""Use cases of the manual gates: sign-offs, goals, improvements and their change requests,
QA reports and marketing tasks. Each returns an `Outcome` like those in `domain`.

Evidence is changed while the plan is open (planned or approved); change requests and
marketing tasks go on after launch, since a vendor's fix or a T+7 campaign may land later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from services.launch.errors import WRITE, ItemNotFound, require_scope, required_text
from services.launch.evidence import (
    Goals,
    QaReport,
    QaResult,
    check_goals,
    check_report,
    check_signoff,
)
from services.launch.facts import Facts
from services.launch.gates import Document, Gate, QaKind, Revocation, SignOff
from services.launch.improvements import (
    Addressee,
    ChangeStatus,
    Improvement,
    accept,
    decline,
    move,
    recommended,
    undecided,
)
from services.launch.marketing import MarketingTask, Phase, complete, new_task, reopen
from services.launch.plan import LaunchPlan, Outcome, require_alive, require_open, settle, utc_today
from shared.auth import Principal
from shared.errors import Conflict


def _with_gate(plan: LaunchPlan, changed: Gate) -> LaunchPlan:
    return replace(plan, gates=tuple(changed if g.name == changed.name else g for g in plan.gates))


def sign_off(
    plan: LaunchPlan,
    *,
    gate: str,
    evidence: str,
    actor: Principal,
    facts: Facts,
    now: datetime,
    documents: Sequence[Document] = (),
) -> Outcome:
    """Record who vouches for a manual gate, when and on what (see `evidence.check_signoff`)."""
    require_scope(actor, WRITE)
    require_open(plan, "be signed off")
    current = plan.gate(gate)
    text, checked = check_signoff(
        current,
        evidence=evidence,
        documents=documents,
        goals=plan.goals,
        undecided=[f.finding_id for f in undecided(facts.findings, plan.improvements)],
    )
    signed = replace(current, signoff=SignOff(actor.owner, now, text, checked), revocation=None)
    return settle(_with_gate(plan, signed), facts=facts, now=now)


def revoke_signoff(
    plan: LaunchPlan, *, gate: str, reason: str, actor: Principal, facts: Facts, now: datetime
) -> Outcome:
    """Withdraw a sign-off, with the reason the gate then shows."""
    require_scope(actor, WRITE)
    require_open(plan, "have a sign-off revoked")
    current = plan.gate(gate)
    if current.signoff is None:
        raise Conflict(f"{gate} is not signed off", gate=gate)
    reason = required_text("reason", reason)
    revoked = replace(
        current, signoff=None, revocation=Revocation(actor.owner, now, reason, current.signoff)
    )
    return settle(_with_gate(plan, revoked), facts=facts, now=now)


def set_goals(
    plan: LaunchPlan, *, goals: Goals | None, actor: Principal, facts: Facts, now: datetime
) -> Outcome:
    """Set (or clear) the goals for the first 90 days, which `business_documents` needs."""
    require_scope(actor, WRITE)
    require_open(plan, "change its goals")
    checked = check_goals(goals) if goals is not None else None
    return settle(replace(plan, goals=checked), facts=facts, now=now)


def _decided(plan: LaunchPlan, improvement: Improvement) -> LaunchPlan:
    others = tuple(i for i in plan.improvements if i.finding_id != improvement.finding_id)
    return replace(plan, improvements=(*others, improvement))


def _listed(plan: LaunchPlan, finding_id: str, facts: Facts) -> Improvement | None:
    existing = plan.improvement(finding_id)
    if existing is None and finding_id not in {f.finding_id for f in recommended(facts.findings)}:
        raise ItemNotFound(
            f"finding {finding_id} is not a recommended improvement of this product",
            finding_id=finding_id,
        )
    return existing


def accept_improvement(
    plan: LaunchPlan,
    *,
    finding_id: str,
    addressee: Addressee,
    owner: str,
    due_date: date,
    actor: Principal,
    facts: Facts,
    now: datetime,
) -> Outcome:
    """Accept a recommended improvement: it becomes a change request to `addressee`."""
    require_scope(actor, WRITE)
    require_open(plan, "decide improvements")
    existing = _listed(plan, finding_id, facts)
    accepted = accept(
        finding_id,
        addressee=addressee,
        owner=owner,
        due_date=due_date,
        by=actor.owner,
        now=now,
        today=utc_today(now),
        existing=existing,
    )
    return settle(_decided(plan, accepted), facts=facts, now=now)


def decline_improvement(
    plan: LaunchPlan,
    *,
    finding_id: str,
    reason: str,
    actor: Principal,
    facts: Facts,
    now: datetime,
) -> Outcome:
    """Decline a recommended improvement, with the reason."""
    require_scope(actor, WRITE)
    require_open(plan, "decide improvements")
    existing = _listed(plan, finding_id, facts)
    declined = decline(finding_id, reason=reason, by=actor.owner, now=now, existing=existing)
    return settle(_decided(plan, declined), facts=facts, now=now)


def move_change_request(
    plan: LaunchPlan,
    *,
    finding_id: str,
    to: ChangeStatus,
    actor: Principal,
    facts: Facts,
    now: datetime,
) -> Outcome:
    """Move an accepted improvement's change request along its transition map; this goes on
    after launch, since a vendor's fix may land later."""
    require_scope(actor, WRITE)
    require_alive(plan, "track change requests")
    existing = plan.improvement(finding_id)
    if existing is None:
        raise ItemNotFound(
            f"no decided improvement for finding {finding_id}", finding_id=finding_id
        )
    return settle(_decided(plan, move(existing, to, now=now)), facts=facts, now=now)


def record_qa_report(
    plan: LaunchPlan,
    *,
    report_id: str,
    kind: QaKind,
    result: QaResult,
    notes: str,
    actor: Principal,
    facts: Facts,
    now: datetime,
    documents: Sequence[Document] = (),
) -> Outcome:
    """Add a test report; `qa_signoff` reads the latest of each required kind."""
    require_scope(actor, WRITE)
    require_open(plan, "take QA reports")
    report = check_report(
        QaReport(report_id, kind, result, notes, actor.owner, now, tuple(documents))
    )
    return settle(replace(plan, qa_reports=(*plan.qa_reports, report)), facts=facts, now=now)


def add_task(
    plan: LaunchPlan,
    *,
    task_id: str,
    title: str,
    phase: Phase,
    owner: str,
    offset_days: int,
    actor: Principal,
    facts: Facts,
    now: datetime,
) -> Outcome:
    """Add a marketing task due `offset_days` from the target date."""
    require_scope(actor, WRITE)
    require_alive(plan, "take marketing tasks")
    if any(task.id == task_id for task in plan.tasks):
        raise Conflict(f"the plan already has a task {task_id!r}", task_id=task_id)
    task = new_task(task_id=task_id, title=title, phase=phase, owner=owner, offset_days=offset_days)
    return settle(replace(plan, tasks=(*plan.tasks, task)), facts=facts, now=now)


def _with_task(plan: LaunchPlan, changed: MarketingTask) -> LaunchPlan:
    return replace(plan, tasks=tuple(changed if t.id == changed.id else t for t in plan.tasks))


def complete_task(
    plan: LaunchPlan, *, task_id: str, actor: Principal, facts: Facts, now: datetime
) -> Outcome:
    """Mark a marketing task done."""
    require_scope(actor, WRITE)
    require_alive(plan, "change marketing tasks")
    done = complete(plan.task(task_id), by=actor.owner, now=now)
    return settle(_with_task(plan, done), facts=facts, now=now)


def reopen_task(
    plan: LaunchPlan, *, task_id: str, actor: Principal, facts: Facts, now: datetime
) -> Outcome:
    """Mark a done marketing task open again."""
    require_scope(actor, WRITE)
    require_alive(plan, "change marketing tasks")
    return settle(_with_task(plan, reopen(plan.task(task_id))), facts=facts, now=now)
