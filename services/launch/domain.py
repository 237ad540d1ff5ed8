"""A launch plan's life: planning, refreshing from facts and time, rescheduling, waivers,
approval, launch and cancellation, as pure rules.

No I/O. Every use case is a keyword-only function returning an `Outcome` (see `plan`): the
service layer loads the plan and its product's `Facts` (its projections of catalog, pricing
and feedback events), calls one function, saves `outcome.plan` and publishes
`outcome.events` in the same unit of work; a refused change raises a domain error that
renders as problem+json. Time-driven changes (a waiver expiring, an approved plan's launch
moment) happen in `refresh`, which the durable scheduler calls at `next_wakeup(plan, now)`.
`now` is an aware datetime; "today" is its UTC date. The manual gates' use cases are in
`manual`, the calendar in `calendar`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from services.launch.errors import (
    APPROVE,
    WRITE,
    FourEyes,
    OwnerNotAllowed,
    field_error,
    require_scope,
    required_text,
)
from services.launch.events import (
    Approved,
    Cancelled,
    Launched,
    PlanCreated,
    Rescheduled,
    gate_data,
    goals_data,
)
from services.launch.facts import Facts, Lifecycle, go_live
from services.launch.gates import (
    DEFAULT_QA_KINDS,
    GateStatus,
    GateTemplate,
    Waiver,
    blocking,
    initial_gates,
    readiness_of,
)
from services.launch.plan import (
    Cancellation,
    LaunchPlan,
    Outcome,
    Reschedule,
    evaluated_gates,
    plan_fields,
    readiness_event,
    require_open,
    settle,
    utc_today,
    waived_names,
    watch,
)
from services.launch.status import OPEN_STATUSES, InvalidPlanTransition, PlanStatus, transition
from shared.auth import ADMIN, Principal
from shared.errors import Conflict

MONITORING_WINDOW = timedelta(days=30)
PRODUCT_DISCONTINUED = "the product was discontinued"


class DuplicatePlan(Conflict):
    title, slug = "Duplicate launch plan", "duplicate-plan"


class ProductDiscontinued(Conflict):
    title, slug = "Product discontinued", "product-discontinued"


class NotReady(Conflict):
    """Approval needs every gate passing or waived; the body lists the blocking gates."""

    title, slug = "Launch not ready", "not-ready"


def _four_eyes(plan: LaunchPlan, actor: Principal, verb: str) -> None:
    """A second person decides: neither the plan's owner nor whoever planned it (an admin
    planning in someone else's name), whichever of their keys they call with."""
    require_scope(actor, APPROVE)
    if actor.owner in (plan.owner, plan.created_by):
        role = "own" if actor.owner == plan.owner else "planned"
        raise FourEyes(
            f"you {role} this plan, so you cannot {verb} it: someone else with launch:approve "
            "must decide",
            owner=plan.owner,
            created_by=plan.created_by,
        )


# --- planning ------------------------------------------------------------------------------------


def plan_launch(
    *,
    launch_id: str,
    product_id: str,
    price_list: str,
    target_date: date,
    actor: Principal,
    facts: Facts,
    now: datetime,
    owner: str | None = None,
    template: GateTemplate | None = None,
    open_plan_ids: Sequence[str] = (),
) -> Outcome:
    """A new plan with the default gates and `template`'s, evaluated against `facts`.

    `open_plan_ids` are the planned or approved plans of this product on this price list
    (at most one may be open). The owner is the caller's key owner; only an admin names
    another. Facts known before the plan count: it may start blocked.
    """
    require_scope(actor, WRITE)
    price_list = required_text("price_list", price_list)
    if facts.product is None:
        raise field_error("product_id", f"unknown product {product_id}", product_id=product_id)
    if facts.product.lifecycle == Lifecycle.DISCONTINUED:
        raise ProductDiscontinued(
            f"product {product_id} is discontinued and cannot be launched", product_id=product_id
        )
    if open_plan_ids:
        raise DuplicatePlan(
            f"product {product_id} already has an open launch plan on {price_list}",
            launch_id=open_plan_ids[0],
        )
    if target_date < utc_today(now):
        raise field_error("target_date", f"target_date {target_date} is in the past")
    chosen = (owner or "").strip() or actor.owner
    if chosen != actor.owner and not actor.has(ADMIN):
        raise OwnerNotAllowed("only an admin may plan a launch for another owner", owner=chosen)
    draft = LaunchPlan(
        id=launch_id,
        product_id=product_id,
        price_list=price_list,
        owner=chosen,
        target_date=target_date,
        created_by=actor.owner,
        created_at=now,
        product_type=facts.product.product_type,
        qa_kinds=template.qa_kinds if template else DEFAULT_QA_KINDS,
        gates=initial_gates(template),
    )
    gates = evaluated_gates(draft, facts, now)
    plan = replace(draft, gates=gates, readiness=readiness_of(gates))
    created = PlanCreated(
        **plan_fields(plan),
        product_type=plan.product_type,
        created_by=plan.created_by,
        gates=[gate_data(gate) for gate in gates],
    )
    announced = readiness_event(plan)
    return Outcome(plan, (created,) if announced is None else (created, announced))


def refresh(
    plan: LaunchPlan, *, facts: Facts, now: datetime, monitoring: timedelta = MONITORING_WINDOW
) -> Outcome:
    """Bring the plan up to date with new facts and with time: gates re-evaluated, expired
    waivers dropped from readiness, an approved plan launched once its moment has come, a
    launched plan's at-risk flag kept for `monitoring` after its launch.

    The approval is the decision: a gate failing after it does not hold the launch back
    (the blocked event has warned; rescheduling or cancelling stops it), and the plan then
    launches at risk.
    """
    outcome = settle(plan, facts=facts, now=now)
    due = outcome.plan
    if due.status == PlanStatus.APPROVED and due.launch_at is not None and now >= due.launch_at:
        return _launch(outcome, now=now, monitoring=monitoring)
    return outcome


def next_wakeup(plan: LaunchPlan, now: datetime) -> datetime | None:
    """When `refresh` must run even if no fact arrives: the next waiver expiry of an open
    plan, an approved plan's launch moment, or the end of a launched plan's monitoring
    (from then on facts no longer change it); None when nothing is due."""
    if plan.status == PlanStatus.LAUNCHED:
        end = plan.monitored_until
        return end if end is not None and end > now else None
    if plan.status not in OPEN_STATUSES:
        return None
    moments = [waiver.expires_at for waiver in plan.waivers if waiver.expires_at > now]
    if plan.status == PlanStatus.APPROVED and plan.launch_at is not None:
        moments.append(plan.launch_at)
    return min(moments, default=None)


def reschedule(
    plan: LaunchPlan,
    *,
    new_date: date,
    reason: str,
    actor: Principal,
    facts: Facts,
    now: datetime,
) -> Outcome:
    """Move the target date (and every marketing task with it), keeping the old and new
    date and why. An approved plan goes back to planned: its approver agreed to a date."""
    require_scope(actor, WRITE)
    require_open(plan, "be rescheduled")
    reason = required_text("reason", reason)
    if new_date == plan.target_date:
        raise field_error("target_date", f"the plan already targets {new_date}")
    if new_date < utc_today(now):
        raise field_error("target_date", f"target_date {new_date} is in the past")
    withdrawn = plan.status == PlanStatus.APPROVED
    moved = replace(
        plan,
        target_date=new_date,
        reschedules=(
            *plan.reschedules,
            Reschedule(plan.target_date, new_date, reason, actor.owner, now),
        ),
    )
    if withdrawn:
        moved = replace(
            moved,
            status=transition(plan.status, PlanStatus.PLANNED),
            approved_by=None,
            approved_at=None,
            launch_at=None,
        )
    outcome = settle(moved, facts=facts, now=now)
    event = Rescheduled(
        **plan_fields(outcome.plan),
        old_date=plan.target_date,
        new_date=new_date,
        reason=reason,
        by=actor.owner,
        approval_withdrawn=withdrawn,
    )
    return Outcome(outcome.plan, (event, *outcome.events))


def cancel(plan: LaunchPlan, *, reason: str, actor: Principal | None, now: datetime) -> Outcome:
    """Cancel an open plan: by a person with launch:write, or by launch itself (`actor`
    None, e.g. with PRODUCT_DISCONTINUED when the catalog discontinues the product)."""
    if actor is not None:
        require_scope(actor, WRITE)
    reason = required_text("reason", reason)
    status = transition(plan.status, PlanStatus.CANCELLED)
    by = actor.owner if actor is not None else None
    cancelled = replace(plan, status=status, cancellation=Cancellation(reason, by, now))
    event = Cancelled(**plan_fields(cancelled), reason=reason, by=by, automatic=actor is None)
    return Outcome(cancelled, (event,))


# --- waivers, approval and launch ----------------------------------------------------------------


def waive(
    plan: LaunchPlan,
    *,
    waiver_id: str,
    gate: str,
    reason: str,
    expires_at: datetime,
    actor: Principal,
    facts: Facts,
    now: datetime,
) -> Outcome:
    """Let a failing or pending gate count as passing until `expires_at`.

    Only a holder of launch:approve who does not own the plan may waive; a passing gate
    has nothing to waive. The waiver stays listed on the plan after it expires.
    """
    _four_eyes(plan, actor, "waive gates of")
    require_open(plan, "take waivers")
    reason = required_text("reason", reason)
    if expires_at <= now:
        raise field_error("expires_at", "expires_at must be in the future")
    current = settle(plan, facts=facts, now=now)
    if current.plan.gate(gate).status == GateStatus.PASS:
        raise Conflict(f"{gate} passes: there is nothing to waive", gate=gate)
    waiver = Waiver(waiver_id, gate, actor.owner, reason, now, expires_at)
    waived = settle(replace(current.plan, waivers=(*plan.waivers, waiver)), facts=facts, now=now)
    return Outcome(waived.plan, (*current.events, *waived.events))


def approve(
    plan: LaunchPlan,
    *,
    actor: Principal,
    facts: Facts,
    now: datetime,
    monitoring: timedelta = MONITORING_WINDOW,
) -> Outcome:
    """Approve a planned launch whose gates all pass or are waived (else NotReady, 409, with
    the blocking gates). On or after the target date the outcome's plan is already launched;
    before it, the plan is approved and `next_wakeup` is its `launch_at`."""
    _four_eyes(plan, actor, "approve")
    if plan.status != PlanStatus.PLANNED:
        raise InvalidPlanTransition(plan.status, PlanStatus.APPROVED)
    current = settle(plan, facts=facts, now=now)
    blockers = blocking(current.plan.gates)
    if blockers:
        raise NotReady(
            f"{len(blockers)} gates neither pass nor are waived: "
            + ", ".join(gate.name for gate in blockers),
            blocking_gates=[gate_data(gate).model_dump(mode="json") for gate in blockers],
        )
    launch_at = go_live(plan.target_date, now)
    approved = replace(
        current.plan,
        status=transition(plan.status, PlanStatus.APPROVED),
        approved_by=actor.owner,
        approved_at=now,
        launch_at=launch_at,
    )
    event = Approved(
        **plan_fields(approved),
        approved_by=actor.owner,
        approved_at=now,
        launch_at=launch_at,
        waived=waived_names(approved),
    )
    outcome = Outcome(approved, (*current.events, event))
    if launch_at == now:
        return _launch(outcome, now=now, monitoring=monitoring)
    return outcome


def _launch(outcome: Outcome, *, now: datetime, monitoring: timedelta) -> Outcome:
    plan = outcome.plan
    launched = replace(
        plan,
        status=transition(plan.status, PlanStatus.LAUNCHED),
        launched_at=now,
        monitored_until=now + monitoring,
    )
    event = Launched(
        **plan_fields(launched),
        launched_at=now,
        monitored_until=now + monitoring,
        goals=goals_data(plan.goals) if plan.goals else None,
    )
    watched = watch(launched)
    return Outcome(watched.plan, (*outcome.events, event, *watched.events))
