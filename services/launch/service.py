"""Launch use cases that change state. Each runs in the caller's unit of work: it loads the
plan (locked) and its product's facts from the projections, applies one domain rule, and
saves the plan with its history entry and events (`store.save_plan`). Reads live in
`queries.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from uuid6 import uuid7

from services.launch import domain, manual
from services.launch.events import goals_data
from services.launch.evidence import Goals, QaResult
from services.launch.facts import Facts, Lifecycle
from services.launch.gates import Document, GateTemplate, QaKind, check_template
from services.launch.improvements import Addressee, ChangeStatus
from services.launch.marketing import Phase
from services.launch.plan import LaunchPlan, Outcome
from services.launch.projections import facts_of
from services.launch.status import OPEN_STATUSES, PlanStatus
from services.launch.store import Change, StoredPlan, insert_plan, load_plan, save_plan
from services.launch.tables import gate_template, launch_plan
from shared.auth import Principal
from shared.concurrency import check_version
from shared.uow import UnitOfWork

# A rule applied to the loaded plan, its product's facts and the unit of work's "now".
Rule = Callable[[LaunchPlan, Facts, datetime], Outcome]
_OPEN = [status.value for status in OPEN_STATUSES]
# The source of the changes time makes (a history entry's `data.source`).
SCHEDULER = "scheduler"


# --- planning -----------------------------------------------------------------------------------


async def plan_launch(
    *,
    uow: UnitOfWork,
    product_id: str,
    price_list: str,
    target_date: date,
    owner: str | None,
    actor: Principal,
) -> StoredPlan:
    """A new plan with the default gates and its product type's template, evaluated
    against what launch knows of the product (it may start blocked)."""
    facts = await facts_of(uow.session, product_id)
    template = await _template_for(uow, facts)

    def plan(open_plan_ids: Sequence[str]) -> Outcome:
        return domain.plan_launch(
            launch_id=str(uuid7()),
            product_id=product_id,
            price_list=price_list,
            target_date=target_date,
            actor=actor,
            facts=facts,
            now=uow.clock(),
            owner=owner,
            template=template,
            open_plan_ids=open_plan_ids,
        )

    outcome = plan(await _open_plan_ids(uow, product_id, price_list))
    created = outcome.plan
    change = Change(
        "planned",
        actor.owner,
        data={
            "target_date": created.target_date.isoformat(),
            "price_list": created.price_list,
            "owner": created.owner,
            "gates": [gate.name for gate in created.gates],
        },
    )
    try:
        return await insert_plan(uow, outcome, change=change)
    except IntegrityError:
        # Another request opened a plan for the product on the list meanwhile: the domain
        # refuses it the way it refuses one it can see.
        plan(await _open_plan_ids(uow, product_id, price_list))
        raise


async def _open_plan_ids(uow: UnitOfWork, product_id: str, price_list: str) -> list[str]:
    stmt = select(launch_plan.c.id).where(
        launch_plan.c.product_id == product_id,
        launch_plan.c.price_list == price_list.strip(),
        launch_plan.c.status.in_(_OPEN),
    )
    return list((await uow.session.execute(stmt)).scalars())


async def _template_for(uow: UnitOfWork, facts: Facts) -> GateTemplate | None:
    if facts.product is None or facts.product.product_type is None:
        return None
    row = (
        await uow.session.execute(
            select(gate_template).where(gate_template.c.product_type == facts.product.product_type)
        )
    ).first()
    if row is None:
        return None
    return check_template(product_type=row.product_type, gates=row.gates, qa_kinds=row.qa_kinds)


async def _change(
    uow: UnitOfWork, *, launch_id: str, expected_version: int | None, change: Change, rule: Rule
) -> StoredPlan:
    """Load the plan and its facts, apply `rule`, save with `change` in the history."""
    stored = await load_plan(uow, launch_id)
    check_version(expected_version, stored.version)
    facts = await facts_of(uow.session, stored.plan.product_id)
    outcome = rule(stored.plan, facts, uow.clock())
    return await save_plan(uow, stored, outcome, change=change)


def _then(first: Outcome, second: Callable[[LaunchPlan], Outcome]) -> Outcome:
    after = second(first.plan)
    return Outcome(after.plan, (*first.events, *after.events))


async def update_plan(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    goals: Goals | None,
    set_goals: bool,
    target_date: date | None,
    reason: str | None,
) -> StoredPlan:
    """Set or clear the goals (`set_goals`), and move the target date with a reason."""

    def rule(plan: LaunchPlan, facts: Facts, now: datetime) -> Outcome:
        outcome = Outcome(plan)
        if set_goals:
            outcome = manual.set_goals(plan, goals=goals, actor=actor, facts=facts, now=now)
        if target_date is not None:
            outcome = _then(
                outcome,
                lambda current: domain.reschedule(
                    current,
                    new_date=target_date,
                    reason=reason or "",
                    actor=actor,
                    facts=facts,
                    now=now,
                ),
            )
        return outcome

    stored = await load_plan(uow, launch_id)
    check_version(expected_version, stored.version)
    facts = await facts_of(uow.session, stored.plan.product_id)
    outcome = rule(stored.plan, facts, uow.clock())
    data: dict[str, Any] = {}
    if set_goals:
        data["goals"] = goals_data(goals).model_dump(mode="json") if goals else None
    if target_date is not None:
        data |= {
            "old_date": stored.plan.target_date.isoformat(),
            "new_date": target_date.isoformat(),
        }
        change = Change("rescheduled", actor.owner, reason, data)
    else:
        change = Change(
            "goals_set" if goals is not None else "goals_cleared", actor.owner, data=data
        )
    return await save_plan(uow, stored, outcome, change=change)


# --- manual gates -------------------------------------------------------------------------------


async def sign_off(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    gate: str,
    evidence: str,
    documents: Sequence[Document],
) -> StoredPlan:
    """Vouch for a manual gate with evidence (and documents)."""
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change(
            "signed_off",
            actor.owner,
            evidence,
            {"gate": gate, "documents": [document.title for document in documents]},
        ),
        rule=lambda plan, facts, now: manual.sign_off(
            plan,
            gate=gate,
            evidence=evidence,
            documents=documents,
            actor=actor,
            facts=facts,
            now=now,
        ),
    )


async def revoke_signoff(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    gate: str,
    reason: str,
) -> StoredPlan:
    """Withdraw a gate's sign-off, with the reason."""
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change("signoff_revoked", actor.owner, reason, {"gate": gate}),
        rule=lambda plan, facts, now: manual.revoke_signoff(
            plan, gate=gate, reason=reason, actor=actor, facts=facts, now=now
        ),
    )


async def accept_improvement(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    finding_id: str,
    addressee: Addressee,
    owner: str,
    due_date: date,
) -> StoredPlan:
    """Accept a recommended improvement: a change request to the vendor or development."""
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change(
            "improvement_accepted",
            actor.owner,
            data={
                "finding_id": finding_id,
                "addressee": str(addressee),
                "owner": owner,
                "due_date": due_date.isoformat(),
            },
        ),
        rule=lambda plan, facts, now: manual.accept_improvement(
            plan,
            finding_id=finding_id,
            addressee=addressee,
            owner=owner,
            due_date=due_date,
            actor=actor,
            facts=facts,
            now=now,
        ),
    )


async def decline_improvement(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    finding_id: str,
    reason: str,
) -> StoredPlan:
    """Decline a recommended improvement, with the reason."""
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change("improvement_declined", actor.owner, reason, {"finding_id": finding_id}),
        rule=lambda plan, facts, now: manual.decline_improvement(
            plan, finding_id=finding_id, reason=reason, actor=actor, facts=facts, now=now
        ),
    )


async def move_change_request(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    finding_id: str,
    to: ChangeStatus,
) -> StoredPlan:
    """Move an accepted improvement's change request along."""
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change(
            "change_request_moved", actor.owner, data={"finding_id": finding_id, "to": str(to)}
        ),
        rule=lambda plan, facts, now: manual.move_change_request(
            plan, finding_id=finding_id, to=to, actor=actor, facts=facts, now=now
        ),
    )


async def record_qa_report(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    kind: QaKind,
    result: QaResult,
    notes: str,
    documents: Sequence[Document],
) -> StoredPlan:
    """Add a test report of kind qa, usability or market viability."""
    report_id = str(uuid7())
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change(
            "qa_report_recorded",
            actor.owner,
            data={"report_id": report_id, "kind": str(kind), "result": str(result)},
        ),
        rule=lambda plan, facts, now: manual.record_qa_report(
            plan,
            report_id=report_id,
            kind=kind,
            result=result,
            notes=notes,
            documents=documents,
            actor=actor,
            facts=facts,
            now=now,
        ),
    )


async def add_task(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    title: str,
    phase: Phase,
    owner: str,
    offset_days: int,
) -> StoredPlan:
    """Add a marketing task due `offset_days` from the target date."""
    task_id = str(uuid7())
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change(
            "task_added",
            actor.owner,
            data={
                "task_id": task_id,
                "title": title,
                "phase": str(phase),
                "offset_days": offset_days,
            },
        ),
        rule=lambda plan, facts, now: manual.add_task(
            plan,
            task_id=task_id,
            title=title,
            phase=phase,
            owner=owner,
            offset_days=offset_days,
            actor=actor,
            facts=facts,
            now=now,
        ),
    )


async def complete_task(
    *, uow: UnitOfWork, launch_id: str, expected_version: int | None, actor: Principal, task_id: str
) -> StoredPlan:
    """Mark a marketing task done."""
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change("task_completed", actor.owner, data={"task_id": task_id}),
        rule=lambda plan, facts, now: manual.complete_task(
            plan, task_id=task_id, actor=actor, facts=facts, now=now
        ),
    )


async def reopen_task(
    *, uow: UnitOfWork, launch_id: str, expected_version: int | None, actor: Principal, task_id: str
) -> StoredPlan:
    """Mark a done marketing task open again."""
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change("task_reopened", actor.owner, data={"task_id": task_id}),
        rule=lambda plan, facts, now: manual.reopen_task(
            plan, task_id=task_id, actor=actor, facts=facts, now=now
        ),
    )


# --- waivers, approval, cancellation ------------------------------------------------------------


async def waive(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    gate: str,
    reason: str,
    expires_at: datetime,
) -> StoredPlan:
    """Let a gate that does not pass count as passing until `expires_at` (four eyes)."""
    waiver_id = str(uuid7())
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change(
            "waived",
            actor.owner,
            reason,
            {"waiver_id": waiver_id, "gate": gate, "expires_at": expires_at.isoformat()},
        ),
        rule=lambda plan, facts, now: domain.waive(
            plan,
            waiver_id=waiver_id,
            gate=gate,
            reason=reason,
            expires_at=expires_at,
            actor=actor,
            facts=facts,
            now=now,
        ),
    )


async def approve(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    monitoring: timedelta,
) -> StoredPlan:
    """Approve a plan whose gates all pass or are waived (four eyes); on or after its target
    date it launches at once, else the scheduler launches it on the date."""
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change("approved", actor.owner),
        rule=lambda plan, facts, now: domain.approve(
            plan, actor=actor, facts=facts, now=now, monitoring=monitoring
        ),
    )


async def cancel(
    *,
    uow: UnitOfWork,
    launch_id: str,
    expected_version: int | None,
    actor: Principal,
    reason: str,
) -> StoredPlan:
    """Cancel an open plan, with the reason."""
    return await _change(
        uow,
        launch_id=launch_id,
        expected_version=expected_version,
        change=Change("cancelled", actor.owner, reason),
        rule=lambda plan, _facts, now: domain.cancel(plan, reason=reason, actor=actor, now=now),
    )


# --- facts and time -----------------------------------------------------------------------------


async def reevaluate_product(
    *, uow: UnitOfWork, product_id: str, source: str, monitoring: timedelta
) -> int:
    """Bring the product's open and monitored plans up to date with its facts; a
    discontinued product's open plans are cancelled. Returns how many plans changed."""
    now = uow.clock()
    stmt = (
        select(launch_plan)
        .where(
            launch_plan.c.product_id == product_id,
            or_(
                launch_plan.c.status.in_(_OPEN),
                (launch_plan.c.status == PlanStatus.LAUNCHED.value)
                & (launch_plan.c.monitored_until > now),
            ),
        )
        .order_by(launch_plan.c.id)
        .with_for_update()
    )
    rows = (await uow.session.execute(stmt)).all()
    if not rows:
        return 0
    facts = await facts_of(uow.session, product_id)
    discontinued = facts.product is not None and facts.product.lifecycle == Lifecycle.DISCONTINUED
    changed = 0
    for row in rows:
        stored = StoredPlan.of(row)
        change: Change | None
        if discontinued and stored.plan.status in OPEN_STATUSES:
            outcome = domain.cancel(
                stored.plan, reason=domain.PRODUCT_DISCONTINUED, actor=None, now=now
            )
            change = Change("cancelled", None, domain.PRODUCT_DISCONTINUED, {"source": source})
        else:
            outcome = domain.refresh(stored.plan, facts=facts, now=now, monitoring=monitoring)
            change = automatic_change(stored.plan, outcome, now, source=source)
        saved = await save_plan(uow, stored, outcome, change=change)
        changed += saved is not stored
    return changed


def automatic_change(
    before: LaunchPlan, outcome: Outcome, now: datetime, *, source: str
) -> Change | None:
    """The history entry of a change launch made itself, from `source`'s facts or from
    time (`SCHEDULER`); None when nothing worth one happened."""
    after = outcome.plan
    data: dict[str, Any] = {"source": source}
    if after.status == PlanStatus.LAUNCHED and before.status != PlanStatus.LAUNCHED:
        launch_at = after.launch_at.isoformat() if after.launch_at else None
        return Change("launched", data={**data, "launch_at": launch_at})
    lapsed = [
        gate.name
        for gate, was in zip(after.gates, before.gates, strict=True)
        if was.waived and not gate.waived
    ]
    if lapsed:
        return Change("waiver_expired", data={**data, "gates": lapsed})
    if after.status == PlanStatus.LAUNCHED and domain.next_wakeup(after, now) is None:
        return Change("monitoring_ended", data={**data, "at_risk": after.at_risk})
    if not outcome.events:
        return None
    return Change("refreshed" if source == SCHEDULER else "facts_changed", data=data)


# --- gate templates -----------------------------------------------------------------------------


async def put_template(
    *,
    uow: UnitOfWork,
    product_type: str,
    gates: Sequence[str],
    qa_kinds: Sequence[str],
    expected_version: int | None,
    actor: Principal,
) -> tuple[Any, bool]:
    """Create or replace a product type's template; (its row, whether it was created).
    Plans made earlier keep the gates they were made with."""
    template = check_template(product_type=product_type, gates=gates, qa_kinds=qa_kinds)
    stmt = (
        select(gate_template)
        .where(gate_template.c.product_type == template.product_type)
        .with_for_update()
    )
    row = (await uow.session.execute(stmt)).first()
    if row is not None:
        check_version(expected_version, row.version)
    values = {
        "gates": list(template.gates),
        "qa_kinds": [kind.value for kind in template.qa_kinds],
        "updated_by": actor.owner,
        "updated_at": uow.clock(),
    }
    if row is None:
        created = gate_template.insert().values(
            product_type=template.product_type, version=1, **values
        )
        return (await uow.session.execute(created.returning(*gate_template.c))).one(), True
    replaced = (
        gate_template.update()
        .where(gate_template.c.product_type == template.product_type)
        .values(version=row.version + 1, **values)
    )
    return (await uow.session.execute(replaced.returning(*gate_template.c))).one(), False
