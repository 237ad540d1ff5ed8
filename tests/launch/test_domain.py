"""A launch plan's life without I/O: planning, live facts, readiness events, waivers,
approval, launch, monitoring after launch, rescheduling and cancellation."""

from __future__ import annotations

import itertools
from dataclasses import fields, is_dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

import pytest

from services.launch.domain import (
    MONITORING_WINDOW,
    PRODUCT_DISCONTINUED,
    approve,
    cancel,
    next_wakeup,
    plan_launch,
    refresh,
    reschedule,
    waive,
)
from services.launch.events import (
    Approved,
    AtRisk,
    Blocked,
    Cancelled,
    GateChanged,
    Launched,
    PlanCreated,
    Ready,
    Rescheduled,
)
from services.launch.facts import Facts, launch_moment
from services.launch.gates import GateName, GateStatus, Readiness
from services.launch.manual import revoke_signoff
from services.launch.plan import LaunchPlan, Outcome, utc_today
from services.launch.status import (
    PLAN_TRANSITIONS,
    InvalidPlanTransition,
    PlanStatus,
    transition,
)
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from tests.launch.builders import (
    ADMIN,
    APPROVER,
    GOALS,
    GOOD,
    LIST,
    OWNER,
    PRODUCT,
    READER,
    T0,
    TARGET,
    TODAY,
    at,
    changed_gates,
    events_of,
    finding,
    new_plan,
    person,
    price,
    product,
    ready_plan,
    refused,
    statuses,
    types_of,
)

CRITICAL = Facts(product(), (price(),), (finding(),))
ACKNOWLEDGED = Facts(product(), (price(),), (finding(status="acknowledged"),))
RESOLVED = Facts(product(), (price(),), (finding(status="resolved"),))
NO_PRICE = Facts(product(), (), ())
MOMENT = launch_moment(TARGET)
TICK = timedelta(microseconds=1)


# --- plan status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "to"), list(itertools.product(PlanStatus, PlanStatus)))
def test_plan_status_transition_matrix(current: PlanStatus, to: PlanStatus) -> None:
    if to in PLAN_TRANSITIONS[current]:
        assert transition(current, to) is to
        return
    with refused(InvalidPlanTransition, 409, "invalid-plan-transition") as body:
        transition(current, to)
    assert (body["current"], body["to"]) == (current.value, to.value)
    assert body["allowed"] == [s.value for s in PlanStatus if s in PLAN_TRANSITIONS[current]]


def test_the_plan_map_allows_exactly_these_moves() -> None:
    allowed = {(a.value, b.value) for a, targets in PLAN_TRANSITIONS.items() for b in targets}
    assert allowed == {
        ("planned", "approved"),
        ("planned", "cancelled"),
        ("approved", "launched"),
        ("approved", "planned"),
        ("approved", "cancelled"),
    }


# --- planning ------------------------------------------------------------------------------------


def test_a_new_plan_has_the_default_gates_evaluated_and_announces_itself() -> None:
    outcome = plan_launch(
        launch_id="launch-1",
        product_id=PRODUCT,
        price_list=f" {LIST} ",
        target_date=TARGET,
        actor=OWNER,
        facts=GOOD,
        now=T0,
    )
    plan = outcome.plan
    assert (plan.owner, plan.created_by, plan.price_list, plan.product_type) == (
        "olivia",
        "olivia",
        LIST,
        "kettle",
    )
    assert (plan.status, plan.readiness) == (PlanStatus.PLANNED, Readiness.PENDING)
    assert statuses(plan) == {
        "catalog_complete": "pass",
        "price_approved": "pass",
        "no_critical_defects": "pass",
        "spec_improvements": "pending",
        "business_documents": "pending",
        "regulatory_compliance": "pending",
        "qa_signoff": "pending",
        "marketing_plan": "pending",
    }
    assert {gate.updated_at for gate in plan.gates} == {T0}
    [created] = outcome.events
    assert isinstance(created, PlanCreated)
    assert (created.launch_id, created.product_type, created.created_by) == (
        "launch-1",
        "kettle",
        "olivia",
    )
    assert [g.name for g in created.gates] == list(statuses(plan))


def test_facts_known_before_the_plan_count_so_it_can_start_blocked() -> None:
    outcome = plan_launch(
        launch_id="launch-1",
        product_id=PRODUCT,
        price_list=LIST,
        target_date=TARGET,
        actor=OWNER,
        facts=CRITICAL,
        now=T0,
    )
    assert outcome.plan.readiness is Readiness.BLOCKED
    assert types_of(outcome) == ["launch.plan.created.v1", "launch.blocked.v1"]
    [blocked] = events_of(outcome, Blocked)
    assert [g.name for g in blocked.blocking] == ["no_critical_defects"]
    assert blocked.blocking[0].reasons[0].ref == "f-1"
    assert blocked.blocking[0].reasons[0].data["item_count"] == 3


def test_an_unknown_product_is_refused_with_422() -> None:
    with refused(Invalid, 422, "invalid-input") as body:
        new_plan(facts=Facts())
    assert body["field"] == "product_id"
    assert body["errors"] == [{"loc": ["body", "product_id"], "msg": f"unknown product {PRODUCT}"}]


def test_a_discontinued_product_is_refused_with_409() -> None:
    with refused(Conflict, 409, "product-discontinued") as body:
        new_plan(facts=Facts(product(lifecycle="discontinued")))
    assert body["product_id"] == PRODUCT


def test_one_open_plan_per_product_and_price_list() -> None:
    with refused(Conflict, 409, "duplicate-plan") as body:
        plan_launch(
            launch_id="launch-2",
            product_id=PRODUCT,
            price_list=LIST,
            target_date=TARGET,
            actor=OWNER,
            facts=GOOD,
            now=T0,
            open_plan_ids=["launch-1"],
        )
    assert body["launch_id"] == "launch-1"


def test_a_target_date_in_the_past_is_refused_today_is_fine() -> None:
    assert new_plan(target=TODAY).target_date == TODAY
    with refused(Invalid, 422, "invalid-input") as body:
        new_plan(target=TODAY - timedelta(days=1))
    assert body["field"] == "target_date"


def test_only_an_admin_plans_for_another_owner() -> None:
    assert new_plan(actor=ADMIN, owner="olivia").owner == "olivia"
    assert new_plan(actor=OWNER, owner="olivia").owner == "olivia"
    with refused(Forbidden, 403, "owner-not-allowed") as body:
        new_plan(actor=OWNER, owner="oscar")
    assert body["owner"] == "oscar"
    with refused(Forbidden, 403, "missing-scope") as body:
        new_plan(actor=READER)
    assert body["required_scope"] == "launch:write"


def test_a_blank_price_list_is_refused() -> None:
    with refused(Invalid, 422, "invalid-input") as body:
        plan_launch(
            launch_id="l",
            product_id=PRODUCT,
            price_list="  ",
            target_date=TARGET,
            actor=OWNER,
            facts=GOOD,
            now=T0,
        )
    assert body["field"] == "price_list"


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="naive"):
        utc_today(T0.replace(tzinfo=None))


# --- live facts ----------------------------------------------------------------------------------


def test_a_critical_finding_fails_the_gate_and_blocks_resolving_it_unblocks() -> None:
    plan = ready_plan()
    assert plan.readiness is Readiness.READY
    hit = refresh(plan, facts=CRITICAL, now=at(1))
    # A defect finding is also a recommended improvement, undecided so far.
    assert changed_gates(hit) == ["no_critical_defects", "spec_improvements"]
    assert types_of(hit)[-1] == "launch.blocked.v1"
    changed = events_of(hit, GateChanged)[0]
    assert (changed.gate.name, changed.previous_status, changed.gate.status) == (
        "no_critical_defects",
        GateStatus.PASS,
        GateStatus.FAIL,
    )
    assert changed.readiness is Readiness.BLOCKED
    assert hit.plan.gate(GateName.NO_CRITICAL_DEFECTS).updated_at == at(1)
    still = refresh(hit.plan, facts=ACKNOWLEDGED, now=at(2))
    assert still.events == ()
    assert still.plan.readiness is Readiness.BLOCKED
    healed = refresh(still.plan, facts=RESOLVED, now=at(3))
    assert changed_gates(healed) == ["no_critical_defects", "spec_improvements"]
    assert types_of(healed)[-1] == "launch.ready.v1"
    assert healed.plan.readiness is Readiness.READY


def test_the_same_facts_again_change_nothing() -> None:
    plan = refresh(ready_plan(), facts=CRITICAL, now=at(1)).plan
    again = refresh(plan, facts=CRITICAL, now=at(2))
    assert again.events == ()
    assert again.plan == plan


def test_a_new_finding_on_an_already_failing_gate_is_a_gate_change_but_not_a_new_block() -> None:
    plan = refresh(ready_plan(), facts=CRITICAL, now=at(1)).plan
    two = Facts(product(), (price(),), (finding(), finding(finding_id="f-2")))
    outcome = refresh(plan, facts=two, now=at(2))
    assert types_of(outcome) == ["launch.gate.changed.v1"] * 2
    assert changed_gates(outcome) == ["no_critical_defects", "spec_improvements"]
    more_items = Facts(product(), (price(),), (finding(item_count=9), finding(finding_id="f-2")))
    quiet = refresh(outcome.plan, facts=more_items, now=at(3))
    assert quiet.events == ()
    assert quiet.plan.gate(GateName.NO_CRITICAL_DEFECTS).reasons[0].data["item_count"] == 9


def test_unblocking_into_pending_emits_no_readiness_event() -> None:
    plan = new_plan(facts=CRITICAL)
    outcome = refresh(plan, facts=RESOLVED, now=at(1))
    assert types_of(outcome) == ["launch.gate.changed.v1"] * 2
    assert changed_gates(outcome) == ["no_critical_defects", "spec_improvements"]
    assert outcome.plan.readiness is Readiness.PENDING


def test_a_price_approved_later_passes_price_approved() -> None:
    plan = new_plan(facts=NO_PRICE)
    assert statuses(plan)["price_approved"] == "fail"
    outcome = refresh(plan, facts=GOOD, now=at(1))
    assert statuses(outcome.plan)["price_approved"] == "pass"
    assert outcome.plan.readiness is Readiness.PENDING


# --- waivers -------------------------------------------------------------------------------------


def waived(
    plan: LaunchPlan,
    *,
    gate: str = "price_approved",
    expires: float = 5,
    reason: str = "supplier confirms the price on Monday",
    actor: Principal = APPROVER,
    facts: Facts = NO_PRICE,
) -> Outcome:
    return waive(
        plan,
        waiver_id="w-1",
        gate=gate,
        reason=reason,
        expires_at=at(expires),
        actor=actor,
        facts=facts,
        now=at(1),
    )


def test_a_waiver_makes_a_failing_gate_count_until_it_expires_at_that_exact_moment() -> None:
    plan = ready_plan(facts=NO_PRICE)
    assert plan.readiness is Readiness.BLOCKED
    outcome = waived(plan)
    assert types_of(outcome) == ["launch.gate.changed.v1", "launch.ready.v1"]
    [changed] = events_of(outcome, GateChanged)
    assert (changed.gate.status, changed.gate.waived, changed.previous_waived) == (
        GateStatus.FAIL,
        True,
        False,
    )
    [ready] = events_of(outcome, Ready)
    assert ready.waived == ["price_approved"]
    plan = outcome.plan
    [waiver] = plan.waivers
    assert (waiver.by, waiver.created_at, waiver.expires_at) == ("alex", at(1), at(5))
    assert next_wakeup(plan, at(1)) == at(5)
    assert refresh(plan, facts=NO_PRICE, now=at(5) - TICK).events == ()
    expired = refresh(plan, facts=NO_PRICE, now=at(5))
    assert types_of(expired) == ["launch.gate.changed.v1", "launch.blocked.v1"]
    assert expired.plan.readiness is Readiness.BLOCKED
    assert expired.plan.waivers == (waiver,)
    assert next_wakeup(expired.plan, at(5)) is None


def test_a_pending_gate_can_be_waived_a_passing_one_cannot() -> None:
    plan = new_plan()
    outcome = waived(plan, gate="qa_signoff", facts=GOOD)
    assert outcome.plan.gate(GateName.QA_SIGNOFF).waived
    with refused(Conflict, 409, "conflict") as body:
        waived(plan, gate="catalog_complete", facts=GOOD)
    assert body["gate"] == "catalog_complete"


def test_the_plans_owner_may_not_waive_even_with_another_key() -> None:
    plan = new_plan(facts=NO_PRICE)
    second_key = person("olivia", "launch:approve", key="key-olivia-2")
    with refused(Forbidden, 403, "four-eyes") as body:
        waived(plan, actor=second_key)
    assert body["owner"] == "olivia"
    with refused(Forbidden, 403, "missing-scope") as body:
        waived(plan, actor=person("walt", "launch:write"))
    assert body["required_scope"] == "launch:approve"
    assert waived(plan, actor=ADMIN).plan.waivers[0].by == "root"


def test_waiver_refusals_for_reason_expiry_gate_and_status() -> None:
    plan = new_plan(facts=NO_PRICE)
    with refused(Invalid, 422, "invalid-input") as body:
        waived(plan, reason=" ")
    assert body["field"] == "reason"
    with refused(Invalid, 422, "invalid-input") as body:
        waived(plan, expires=1)
    assert body["field"] == "expires_at"
    with refused(NotFound, 404, "gate-not-found") as body:
        waived(plan, gate="ce_declaration")
    assert body["gate"] == "ce_declaration"
    gone = cancel(plan, reason="dropped", actor=OWNER, now=at(1)).plan
    with refused(Conflict, 409, "conflict") as body:
        waived(gone)
    assert body["status_now"] == "cancelled"


# --- approval and launch -------------------------------------------------------------------------


def test_approval_before_the_target_date_schedules_the_launch_for_that_date() -> None:
    outcome = approve(ready_plan(), actor=APPROVER, facts=GOOD, now=at(1))
    plan = outcome.plan
    assert (plan.status, plan.approved_by, plan.approved_at, plan.launch_at) == (
        PlanStatus.APPROVED,
        "alex",
        at(1),
        MOMENT,
    )
    assert types_of(outcome) == ["launch.approved.v1"]
    [approved] = events_of(outcome, Approved)
    assert (approved.launch_at, approved.waived) == (MOMENT, [])
    assert next_wakeup(plan, at(1)) == MOMENT
    assert refresh(plan, facts=GOOD, now=MOMENT - TICK).plan.status is PlanStatus.APPROVED
    launched = refresh(plan, facts=GOOD, now=MOMENT)
    assert types_of(launched) == ["launch.launched.v1"]
    assert (launched.plan.status, launched.plan.launched_at) == (PlanStatus.LAUNCHED, MOMENT)
    # Launched, it is watched until its monitoring ends: the scheduler's last duty.
    assert next_wakeup(launched.plan, MOMENT) == MOMENT + MONITORING_WINDOW
    assert next_wakeup(launched.plan, MOMENT + MONITORING_WINDOW) is None
    once = refresh(launched.plan, facts=GOOD, now=MOMENT + timedelta(hours=1))
    assert once.events == ()


@pytest.mark.parametrize("days_after", [0, 3])
def test_approval_on_or_after_the_target_date_launches_at_once(days_after: int) -> None:
    plan = ready_plan(target=TODAY)
    now = launch_moment(TODAY) + timedelta(days=days_after, hours=9)
    outcome = approve(plan, actor=APPROVER, facts=GOOD, now=now)
    assert types_of(outcome) == ["launch.approved.v1", "launch.launched.v1"]
    assert (outcome.plan.status, outcome.plan.launched_at, outcome.plan.launch_at) == (
        PlanStatus.LAUNCHED,
        now,
        now,
    )
    [launched] = events_of(outcome, Launched)
    assert launched.goals is not None
    assert launched.goals.model_dump(mode="json") == {
        "units": 500,
        "revenue": {"amount": "25000.00", "currency": "EUR"},
        "margin_pct": "32.5",
        "period_days": 90,
    }
    assert launched.monitored_until == now + MONITORING_WINDOW


def test_a_plan_for_today_launches_with_a_price_approved_this_morning() -> None:
    # Pricing makes an approval effective when it is given, so the price of a launch
    # approved on its target date took effect after midnight; it still counts (loop 3).
    this_morning = Facts(product(), (price(valid_from=at(hours=-3)),), ())
    plan = ready_plan(facts=this_morning, target=TODAY)
    assert statuses(plan)["price_approved"] == "pass"
    outcome = approve(plan, actor=APPROVER, facts=this_morning, now=at())
    assert (outcome.plan.status, outcome.plan.launched_at) == (PlanStatus.LAUNCHED, at())


def test_approval_is_refused_with_the_blocking_gates_unless_all_pass_or_are_waived() -> None:
    plan = ready_plan(facts=CRITICAL)
    with refused(Conflict, 409, "not-ready") as body:
        approve(plan, actor=APPROVER, facts=CRITICAL, now=at(1))
    [gate] = body["blocking_gates"]
    assert (gate["name"], gate["status"], gate["waived"]) == ("no_critical_defects", "fail", False)
    assert gate["reasons"][0]["ref"] == "f-1"
    assert gate["reasons"][0]["data"]["quote"] == "the lid came off and burned my hand"
    with refused(Conflict, 409, "not-ready") as body:
        approve(new_plan(), actor=APPROVER, facts=GOOD, now=at(1))
    assert [g["name"] for g in body["blocking_gates"]] == [
        "spec_improvements",
        "business_documents",
        "regulatory_compliance",
        "qa_signoff",
        "marketing_plan",
    ]
    assert "5 gates neither pass nor are waived" in body["detail"]
    covered = waive(
        plan,
        waiver_id="w-1",
        gate="no_critical_defects",
        reason="only the EU batch",
        expires_at=at(60),
        actor=APPROVER,
        facts=CRITICAL,
        now=at(1),
    ).plan
    outcome = approve(covered, actor=APPROVER, facts=CRITICAL, now=at(2))
    assert events_of(outcome, Approved)[0].waived == ["no_critical_defects"]


def test_approval_reads_live_facts_not_the_last_stored_gates() -> None:
    plan = ready_plan()
    with refused(Conflict, 409, "not-ready"):
        approve(plan, actor=APPROVER, facts=CRITICAL, now=at(1))


def test_the_owner_may_not_approve_their_own_plan_and_approvers_need_the_scope() -> None:
    plan = ready_plan()
    with refused(Forbidden, 403, "four-eyes") as body:
        approve(plan, actor=person("olivia", "launch:approve", key="other"), facts=GOOD, now=at(1))
    assert "you own this plan" in body["detail"]
    with refused(Forbidden, 403, "missing-scope") as body:
        approve(plan, actor=person("walt", "launch:write"), facts=GOOD, now=at(1))
    assert body["required_scope"] == "launch:approve"


def test_a_plan_is_approved_once() -> None:
    plan = approve(ready_plan(), actor=APPROVER, facts=GOOD, now=at(1)).plan
    with refused(InvalidPlanTransition, 409, "invalid-plan-transition") as body:
        approve(plan, actor=APPROVER, facts=GOOD, now=at(2))
    assert (body["current"], body["to"]) == ("approved", "approved")


def test_an_approved_plan_still_announces_a_block_before_its_launch() -> None:
    plan = approve(ready_plan(), actor=APPROVER, facts=GOOD, now=at(1)).plan
    outcome = refresh(plan, facts=CRITICAL, now=at(2))
    assert types_of(outcome) == ["launch.gate.changed.v1"] * 2 + ["launch.blocked.v1"]
    assert outcome.plan.status is PlanStatus.APPROVED


def test_an_approved_plan_blocked_before_its_moment_still_launches_but_at_risk() -> None:
    plan = approve(ready_plan(), actor=APPROVER, facts=GOOD, now=at(1)).plan
    blocked = refresh(plan, facts=CRITICAL, now=at(2)).plan
    outcome = refresh(blocked, facts=CRITICAL, now=MOMENT)
    assert types_of(outcome) == ["launch.launched.v1", "launch.at_risk.v1"]
    assert (outcome.plan.status, outcome.plan.at_risk) == (PlanStatus.LAUNCHED, True)


# --- monitoring after launch ---------------------------------------------------------------------


def launched_plan(*, facts: Facts = GOOD, monitoring: timedelta = MONITORING_WINDOW) -> LaunchPlan:
    plan = ready_plan(target=TODAY)
    return approve(plan, actor=APPROVER, facts=facts, now=at(1), monitoring=monitoring).plan


def test_a_new_critical_finding_after_launch_sets_at_risk_with_the_reason() -> None:
    plan = launched_plan()
    assert (plan.at_risk, plan.monitored_until) == (False, at(31))
    outcome = refresh(plan, facts=CRITICAL, now=at(10))
    assert changed_gates(outcome) == ["no_critical_defects", "spec_improvements"]
    assert types_of(outcome)[-1] == "launch.at_risk.v1"
    [risk] = events_of(outcome, AtRisk)
    assert risk.at_risk is True
    assert [r.ref for r in risk.reasons] == ["f-1"]
    assert outcome.plan.at_risk
    assert outcome.plan.at_risk_reasons[0].code.value == "critical_finding"
    healed = refresh(outcome.plan, facts=RESOLVED, now=at(11))
    assert types_of(healed)[-1] == "launch.at_risk.v1"
    assert events_of(healed, AtRisk)[0].at_risk is False
    assert not healed.plan.at_risk


def test_after_the_monitoring_window_facts_no_longer_change_a_launched_plan() -> None:
    plan = launched_plan(monitoring=timedelta(days=7))
    assert plan.monitored_until == at(8)
    assert refresh(plan, facts=CRITICAL, now=at(8) - TICK).plan.at_risk
    late = refresh(plan, facts=CRITICAL, now=at(8))
    assert late.events == ()
    assert late.plan == plan


def test_a_launched_plan_emits_no_blocked_or_ready_events() -> None:
    plan = launched_plan()
    outcome = refresh(plan, facts=NO_PRICE, now=at(2))
    assert "launch.blocked.v1" not in types_of(outcome)
    assert outcome.plan.at_risk


def test_launching_with_a_waived_failing_automatic_gate_starts_at_risk() -> None:
    plan = ready_plan(target=TODAY, facts=NO_PRICE)
    plan = waive(
        plan,
        waiver_id="w-1",
        gate="price_approved",
        reason="price set by hand for the pilot",
        expires_at=at(3),
        actor=APPROVER,
        facts=NO_PRICE,
        now=at(1),
    ).plan
    outcome = approve(plan, actor=APPROVER, facts=NO_PRICE, now=at(1))
    assert types_of(outcome) == ["launch.approved.v1", "launch.launched.v1", "launch.at_risk.v1"]
    assert outcome.plan.at_risk


# --- reschedule and cancel -----------------------------------------------------------------------


def test_a_reschedule_records_old_and_new_date_and_why() -> None:
    outcome = reschedule(
        new_plan(),
        new_date=date(2030, 4, 20),
        reason="stock late",
        actor=OWNER,
        facts=GOOD,
        now=at(1),
    )
    [move] = outcome.plan.reschedules
    assert (move.old_date, move.new_date, move.reason, move.by, move.at, move.days) == (
        TARGET,
        date(2030, 4, 20),
        "stock late",
        "olivia",
        at(1),
        19,
    )
    [event] = events_of(outcome, Rescheduled)
    assert (event.old_date, event.new_date, event.target_date, event.approval_withdrawn) == (
        TARGET,
        date(2030, 4, 20),
        date(2030, 4, 20),
        False,
    )


def test_a_reschedule_re_evaluates_the_price_for_the_new_date() -> None:
    short = Facts(product(), (price(valid_to=MOMENT + timedelta(days=5)),), ())
    plan = new_plan(facts=short)
    outcome = reschedule(
        plan,
        new_date=TARGET + timedelta(days=5),
        reason="later",
        actor=OWNER,
        facts=short,
        now=at(1),
    )
    assert types_of(outcome) == [
        "launch.rescheduled.v1",
        "launch.gate.changed.v1",
        "launch.blocked.v1",
    ]
    assert statuses(outcome.plan)["price_approved"] == "fail"


def test_rescheduling_an_approved_plan_withdraws_its_approval() -> None:
    plan = approve(ready_plan(), actor=APPROVER, facts=GOOD, now=at(1)).plan
    outcome = reschedule(
        plan,
        new_date=TARGET + timedelta(days=2),
        reason="later",
        actor=OWNER,
        facts=GOOD,
        now=at(2),
    )
    assert (outcome.plan.status, outcome.plan.approved_by, outcome.plan.launch_at) == (
        PlanStatus.PLANNED,
        None,
        None,
    )
    assert events_of(outcome, Rescheduled)[0].approval_withdrawn
    assert next_wakeup(outcome.plan, at(2)) is None
    assert refresh(outcome.plan, facts=GOOD, now=MOMENT).plan.status is PlanStatus.PLANNED


def test_reschedule_refusals() -> None:
    plan = new_plan()
    cases = [(TARGET, "stock", "target_date"), (TODAY - timedelta(days=1), "x", "target_date")]
    cases.append((TARGET + timedelta(days=1), " ", "reason"))
    for new_date, reason, field in cases:
        with refused(Invalid, 422, "invalid-input") as body:
            reschedule(plan, new_date=new_date, reason=reason, actor=OWNER, facts=GOOD, now=at(1))
        assert body["field"] == field
    done = launched_plan()
    with refused(Conflict, 409, "conflict") as body:
        reschedule(done, new_date=TARGET, reason="x", actor=OWNER, facts=GOOD, now=at(2))
    assert body["status_now"] == "launched"


def test_a_person_cancels_with_a_reason_and_launch_cancels_a_discontinued_products_plan() -> None:
    outcome = cancel(new_plan(), reason="budget cut", actor=OWNER, now=at(1))
    [event] = events_of(outcome, Cancelled)
    assert (event.by, event.reason, event.automatic, event.status) == (
        "olivia",
        "budget cut",
        False,
        PlanStatus.CANCELLED,
    )
    auto = cancel(new_plan(), reason=PRODUCT_DISCONTINUED, actor=None, now=at(1))
    [event] = events_of(auto, Cancelled)
    assert (event.by, event.automatic) == (None, True)
    assert auto.plan.cancellation is not None
    assert auto.plan.cancellation.reason == PRODUCT_DISCONTINUED
    assert refresh(auto.plan, facts=CRITICAL, now=at(2)).events == ()
    assert next_wakeup(auto.plan, at(2)) is None


def test_cancel_refusals() -> None:
    with refused(Invalid, 422, "invalid-input") as body:
        cancel(new_plan(), reason="", actor=OWNER, now=at(1))
    assert body["field"] == "reason"
    with refused(Forbidden, 403, "missing-scope"):
        cancel(new_plan(), reason="x", actor=READER, now=at(1))
    with refused(InvalidPlanTransition, 409, "invalid-plan-transition") as body:
        cancel(launched_plan(), reason="x", actor=OWNER, now=at(2))
    assert (body["current"], body["to"]) == ("launched", "cancelled")


def test_a_revoked_sign_off_on_a_ready_plan_makes_it_pending_without_a_readiness_event() -> None:
    plan = ready_plan()
    outcome = revoke_signoff(
        plan, gate="marketing_plan", reason="campaign cut", actor=OWNER, facts=GOOD, now=at(1)
    )
    assert types_of(outcome) == ["launch.gate.changed.v1"]
    assert outcome.plan.readiness is Readiness.PENDING
    assert outcome.plan.goals == GOALS


# --- plans rebuilt from stored rows --------------------------------------------------------------


def plain(value: object) -> object:
    """The value as a database row gives it back: enums as their plain strings."""
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: plain(getattr(value, f.name)) for f in fields(value)})
    return value


def test_a_plan_rebuilt_with_plain_strings_follows_the_same_rules() -> None:
    typed = ready_plan()
    rebuilt = plain(typed)
    assert isinstance(rebuilt, LaunchPlan)
    assert type(rebuilt.status) is str
    assert type(rebuilt.gates[0].kind) is str
    for run in (
        lambda p: refresh(p, facts=CRITICAL, now=at(1)),
        lambda p: approve(p, actor=APPROVER, facts=GOOD, now=at(1)),
        lambda p: revoke_signoff(
            p, gate="marketing_plan", reason="cut", actor=OWNER, facts=GOOD, now=at(1)
        ),
        lambda p: waive(
            refresh(p, facts=NO_PRICE, now=at(1)).plan,
            waiver_id="w-1",
            gate="price_approved",
            reason="pilot",
            expires_at=at(2),
            actor=APPROVER,
            facts=NO_PRICE,
            now=at(1),
        ),
    ):
        expected, actual = run(typed), run(rebuilt)
        assert actual.plan == expected.plan
        assert [e.model_dump(mode="json") for e in actual.events] == [
            e.model_dump(mode="json") for e in expected.events
        ]
    approved = plain(approve(typed, actor=APPROVER, facts=GOOD, now=at(1)).plan)
    assert isinstance(approved, LaunchPlan)
    with refused(InvalidPlanTransition, 409, "invalid-plan-transition") as body:
        approve(approved, actor=APPROVER, facts=GOOD, now=at(2))
    assert body["current"] == "approved"
