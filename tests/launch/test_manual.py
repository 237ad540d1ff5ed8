"""Manual gates without I/O: documents, goals, sign-offs and their revocation, recommended
improvements and their change requests, QA reports and marketing tasks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.launch.domain import cancel, reschedule
from services.launch.events import GateChanged
from services.launch.evidence import Goals, Money, QaResult, check_document, names_a_file
from services.launch.facts import Facts
from services.launch.gates import Document, GateName, GateStatus, QaKind, ReasonCode
from services.launch.improvements import (
    CHANGE_TRANSITIONS,
    Addressee,
    ChangeRequest,
    ChangeStatus,
    InvalidChangeTransition,
)
from services.launch.manual import (
    accept_improvement,
    add_task,
    complete_task,
    decline_improvement,
    move_change_request,
    record_qa_report,
    reopen_task,
    revoke_signoff,
    set_goals,
    sign_off,
)
from services.launch.marketing import Phase, TaskStatus
from services.launch.plan import LaunchPlan, Outcome
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from tests.launch.builders import (
    DOC,
    GOALS,
    GOOD,
    OWNER,
    READER,
    TARGET,
    TODAY,
    at,
    events_of,
    finding,
    kettle_template,
    new_plan,
    price,
    product,
    refused,
    statuses,
)

SHA = "a" * 64
IMPROVEMENTS = Facts(
    product(),
    (price(),),
    (
        finding(finding_id="f-defect", severity="high"),
        finding(finding_id="f-mod", kind="modification_request", severity="medium"),
        finding(finding_id="f-praise", kind="praise", severity="low"),
        finding(finding_id="f-done", severity="medium", status="resolved"),
    ),
)


def gate_of(plan: LaunchPlan, name: str) -> tuple[GateStatus, list[tuple[str, str]]]:
    found = plan.gate(name)
    return found.status, [reason.key for reason in found.reasons]


def signed(
    plan: LaunchPlan, gate: str, facts: Facts = GOOD, documents: Sequence[Document] = ()
) -> Outcome:
    return sign_off(
        plan,
        gate=gate,
        evidence="reviewed",
        documents=documents,
        actor=OWNER,
        facts=facts,
        now=at(1),
    )


# --- documents -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "is_file"),
    [
        ("https://docs.example.com/ce/declaration.pdf", True),
        ("https://docs.example.com/ce/declaration.pdf?version=2", True),
        ("archive/2030/test-report.xlsx", True),
        ("report.PDF", True),
        ("https://docs.example.com/ce/", False),
        ("https://docs.example.com", False),
        ("DMS-4711", False),
        ("DOC-1.2", False),
    ],
)
def test_a_reference_names_a_file_when_it_ends_in_a_file_name(
    reference: str, is_file: bool
) -> None:
    assert names_a_file(reference) is is_file


def test_a_document_is_trimmed_and_its_sha256_lowercased() -> None:
    document = check_document(
        Document(title=" CE ", url=" https://docs.example.com/ce.pdf ", sha256=SHA.upper())
    )
    assert document == Document("CE", url="https://docs.example.com/ce.pdf", sha256=SHA)
    assert check_document(Document("Archive entry", ref="DMS-4711")).sha256 is None


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        (Document(" ", ref="DMS-1"), "documents.0.title", "must not be empty"),
        (Document("x" * 201, ref="DMS-1"), "documents.0.title", "at most 200"),
        (Document("CE"), "documents.0", "exactly one"),
        (Document("CE", url="https://a.example/x", ref="DMS-1"), "documents.0", "exactly one"),
        (Document("CE", url="ftp://a.example/x"), "documents.0.url", "http(s)"),
        (Document("CE", url="https://a.example/a b"), "documents.0.url", "http(s)"),
        (Document("CE", url="/relative/path"), "documents.0.url", "http(s)"),
        (Document("CE", ref="x" * 2049), "documents.0", "at most 2048"),
        (Document("CE", ref="declaration.pdf"), "documents.0.sha256", "needs the file's"),
        (Document("CE", ref="DMS-1", sha256="abc"), "documents.0.sha256", "64 hexadecimal"),
        (Document("CE", ref="DMS-1", sha256="g" * 64), "documents.0.sha256", "64 hexadecimal"),
    ],
)
def test_a_bad_document_is_refused_naming_the_field(
    document: Document, field: str, message: str
) -> None:
    plan = new_plan()
    with refused(Invalid, 422, "invalid-input") as body:
        signed(plan, GateName.REGULATORY_COMPLIANCE, documents=[document])
    assert body["field"] == field
    assert message in body["detail"]
    assert body["errors"][0]["loc"] == ["body", *field.split(".")]


def test_more_than_twenty_documents_are_refused() -> None:
    with refused(Invalid, 422, "invalid-input") as body:
        signed(new_plan(), GateName.REGULATORY_COMPLIANCE, documents=[DOC] * 21)
    assert body["field"] == "documents"


# --- goals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goals", "field"),
    [
        (Goals(0, Money(Decimal(1), "EUR"), Decimal(10)), "goals.units"),
        (Goals(True, Money(Decimal(1), "EUR"), Decimal(10)), "goals.units"),  # type: ignore[arg-type]
        (Goals(5, Money(Decimal(-1), "EUR"), Decimal(10)), "goals.revenue.amount"),
        (Goals(5, Money(Decimal("NaN"), "EUR"), Decimal(10)), "goals.revenue.amount"),
        (Goals(5, Money(Decimal("1.5"), "JPY"), Decimal(10)), "goals.revenue"),
        (Goals(5, Money(Decimal(1), "XXX"), Decimal(10)), "goals.revenue"),
        (Goals(5, Money(Decimal(1), "EUR"), Decimal("100.01")), "goals.margin_pct"),
        (Goals(5, Money(Decimal(1), "EUR"), Decimal(-101)), "goals.margin_pct"),
        (Goals(5, Money(Decimal(1), "EUR"), Decimal("12.345")), "goals.margin_pct"),
    ],
)
def test_bad_goals_are_refused_naming_the_field(goals: Goals, field: str) -> None:
    with refused(Invalid, 422, "invalid-input") as body:
        set_goals(new_plan(), goals=goals, actor=OWNER, facts=GOOD, now=at(1))
    assert body["field"] == field


def test_goals_are_kept_and_can_be_cleared_which_leaves_business_documents_pending() -> None:
    plan = set_goals(new_plan(), goals=GOALS, actor=OWNER, facts=GOOD, now=at(1)).plan
    assert plan.goals == GOALS
    plan = signed(plan, GateName.BUSINESS_DOCUMENTS).plan
    assert gate_of(plan, GateName.BUSINESS_DOCUMENTS) == (GateStatus.PASS, [])
    cleared = set_goals(plan, goals=None, actor=OWNER, facts=GOOD, now=at(2))
    assert gate_of(cleared.plan, GateName.BUSINESS_DOCUMENTS) == (
        GateStatus.PENDING,
        [("goals_missing", "goals")],
    )
    assert [e.gate.name for e in events_of(cleared, GateChanged)] == ["business_documents"]


# --- sign-offs -----------------------------------------------------------------------------------


def test_a_sign_off_records_who_when_and_on_what_and_passes_the_gate() -> None:
    outcome = signed(new_plan(), GateName.REGULATORY_COMPLIANCE, documents=[DOC])
    gate = outcome.plan.gate(GateName.REGULATORY_COMPLIANCE)
    assert gate.status is GateStatus.PASS
    assert gate.signoff is not None
    assert (gate.signoff.by, gate.signoff.at, gate.signoff.evidence) == (
        "olivia",
        at(1),
        "reviewed",
    )
    assert gate.signoff.documents == (DOC,)
    assert gate.updated_at == at(1)
    [changed] = events_of(outcome, GateChanged)
    assert (changed.gate.name, changed.gate.status, changed.previous_status) == (
        "regulatory_compliance",
        GateStatus.PASS,
        GateStatus.PENDING,
    )


def test_regulatory_compliance_needs_documents() -> None:
    with refused(Invalid, 422, "invalid-input") as body:
        signed(new_plan(), GateName.REGULATORY_COMPLIANCE)
    assert body["field"] == "documents"
    assert "at least one document" in body["detail"]


def test_business_documents_needs_the_plans_goals_first() -> None:
    with refused(Conflict, 409, "not-signable") as body:
        signed(new_plan(), GateName.BUSINESS_DOCUMENTS)
    assert body["gate"] == "business_documents"
    assert "set the plan's goals" in body["detail"]


def test_spec_improvements_cannot_be_signed_while_an_improvement_is_undecided() -> None:
    plan = new_plan(facts=IMPROVEMENTS)
    with refused(Conflict, 409, "not-signable") as body:
        signed(plan, GateName.SPEC_IMPROVEMENTS, IMPROVEMENTS)
    assert body["undecided"] == ["f-defect", "f-mod"]
    assert "2 improvements are still undecided" in body["detail"]


@pytest.mark.parametrize("gate", [*GateName.__members__.values()][:3])
def test_an_automatic_gate_cannot_be_signed_off(gate: str) -> None:
    with refused(Conflict, 409, "not-signable") as body:
        signed(new_plan(), gate)
    assert body["gate"] == gate


def test_qa_signoff_follows_its_reports_not_a_sign_off() -> None:
    with refused(Conflict, 409, "not-signable") as body:
        signed(new_plan(), GateName.QA_SIGNOFF)
    assert "record a passed report" in body["detail"]


def test_a_gate_is_signed_off_once_until_revoked() -> None:
    plan = signed(new_plan(), GateName.MARKETING_PLAN).plan
    with refused(Conflict, 409, "not-signable") as body:
        signed(plan, GateName.MARKETING_PLAN)
    assert "already signed off by olivia" in body["detail"]


def test_a_template_gate_passes_on_a_sign_off() -> None:
    plan = new_plan(template=kettle_template())
    assert statuses(plan)["ce_declaration"] == "pending"
    plan = signed(plan, "ce_declaration").plan
    assert statuses(plan)["ce_declaration"] == "pass"
    assert statuses(plan)["electrical_safety_test"] == "pending"


def test_sign_off_refusals_for_scope_gate_evidence_and_plan_status() -> None:
    plan = new_plan()
    with refused(Forbidden, 403, "missing-scope") as body:
        sign_off(plan, gate="marketing_plan", evidence="x", actor=READER, facts=GOOD, now=at(1))
    assert body["required_scope"] == "launch:write"
    with refused(NotFound, 404, "gate-not-found") as body:
        signed(plan, "ce_declaration")
    assert body["gate"] == "ce_declaration"
    with refused(Invalid, 422, "invalid-input") as body:
        sign_off(plan, gate="marketing_plan", evidence="  ", actor=OWNER, facts=GOOD, now=at(1))
    assert body["field"] == "evidence"
    gone = cancel(plan, reason="no budget", actor=OWNER, now=at(1)).plan
    with refused(Conflict, 409, "conflict") as body:
        signed(gone, GateName.MARKETING_PLAN)
    assert body["status_now"] == "cancelled"


def test_a_revoked_sign_off_leaves_the_gate_pending_saying_who_revoked_it_and_why() -> None:
    plan = signed(new_plan(), GateName.REGULATORY_COMPLIANCE, documents=[DOC]).plan
    outcome = revoke_signoff(
        plan,
        gate=GateName.REGULATORY_COMPLIANCE,
        reason="declaration expired",
        actor=OWNER,
        facts=GOOD,
        now=at(2),
    )
    gate = outcome.plan.gate(GateName.REGULATORY_COMPLIANCE)
    assert gate.status is GateStatus.PENDING
    assert gate.signoff is None
    assert gate.revocation is not None
    assert gate.revocation.signoff.evidence == "reviewed"
    [reason] = gate.reasons
    assert reason.key == ("signoff_missing", "regulatory_compliance")
    assert reason.data == {
        "revoked_by": "olivia",
        "revoked_at": at(2),
        "reason": "declaration expired",
    }
    assert "revoked by olivia: declaration expired" in reason.detail
    [changed] = events_of(outcome, GateChanged)
    assert changed.gate.reasons[0].data["reason"] == "declaration expired"
    again = signed(outcome.plan, GateName.REGULATORY_COMPLIANCE, documents=[DOC]).plan
    assert again.gate(GateName.REGULATORY_COMPLIANCE).revocation is None


def test_revoking_needs_a_sign_off_and_a_reason() -> None:
    plan = new_plan()
    with refused(Conflict, 409, "conflict") as body:
        revoke_signoff(plan, gate="marketing_plan", reason="x", actor=OWNER, facts=GOOD, now=at(1))
    assert body["gate"] == "marketing_plan"
    plan = signed(plan, GateName.MARKETING_PLAN).plan
    with refused(Invalid, 422, "invalid-input") as body:
        revoke_signoff(plan, gate="marketing_plan", reason="", actor=OWNER, facts=GOOD, now=at(1))
    assert body["field"] == "reason"


# --- improvements and change requests ------------------------------------------------------------


def accepted(plan: LaunchPlan, finding_id: str, due: date = TARGET) -> LaunchPlan:
    return accept_improvement(
        plan,
        finding_id=finding_id,
        addressee=Addressee.VENDOR,
        owner="vendor-liaison",
        due_date=due,
        actor=OWNER,
        facts=IMPROVEMENTS,
        now=at(1),
    ).plan


def declined(plan: LaunchPlan, finding_id: str) -> LaunchPlan:
    return decline_improvement(
        plan,
        finding_id=finding_id,
        reason="out of scope for v1",
        actor=OWNER,
        facts=IMPROVEMENTS,
        now=at(1),
    ).plan


def moved(plan: LaunchPlan, finding_id: str, *steps: ChangeStatus) -> LaunchPlan:
    for step in steps:
        plan = move_change_request(
            plan, finding_id=finding_id, to=step, actor=OWNER, facts=IMPROVEMENTS, now=at(2)
        ).plan
    return plan


def test_the_recommended_improvements_are_the_unresolved_defects_and_modification_requests() -> (
    None
):
    status, reasons = gate_of(new_plan(facts=IMPROVEMENTS), GateName.SPEC_IMPROVEMENTS)
    assert status is GateStatus.PENDING
    assert reasons == [
        ("improvement_undecided", "f-defect"),
        ("improvement_undecided", "f-mod"),
        ("signoff_missing", "spec_improvements"),
    ]


def test_spec_improvements_passes_when_signed_and_every_accepted_one_is_verified() -> None:
    plan = declined(accepted(new_plan(facts=IMPROVEMENTS), "f-defect"), "f-mod")
    improvement = plan.improvement("f-defect")
    assert improvement is not None
    assert improvement.change_request == ChangeRequest(
        Addressee.VENDOR, "vendor-liaison", TARGET, ChangeStatus.REQUESTED, at(1)
    )
    declined_one = plan.improvement("f-mod")
    assert declined_one is not None
    assert (declined_one.reason, declined_one.change_request) == ("out of scope for v1", None)
    plan = signed(plan, GateName.SPEC_IMPROVEMENTS, IMPROVEMENTS).plan
    status, reasons = gate_of(plan, GateName.SPEC_IMPROVEMENTS)
    assert (status, reasons) == (GateStatus.PENDING, [("change_request_open", "f-defect")])
    reason = plan.gate(GateName.SPEC_IMPROVEMENTS).reasons[0]
    assert reason.data == {
        "addressee": "vendor",
        "owner": "vendor-liaison",
        "status": "requested",
        "due_date": TARGET,
        "overdue": False,
    }
    plan = moved(plan, "f-defect", ChangeStatus.IN_PROGRESS, ChangeStatus.IMPLEMENTED)
    assert gate_of(plan, GateName.SPEC_IMPROVEMENTS)[0] is GateStatus.PENDING
    plan = moved(plan, "f-defect", ChangeStatus.VERIFIED)
    assert gate_of(plan, GateName.SPEC_IMPROVEMENTS) == (GateStatus.PASS, [])


def test_with_no_recommended_improvements_a_sign_off_passes_the_gate() -> None:
    plan = signed(new_plan(), GateName.SPEC_IMPROVEMENTS).plan
    assert gate_of(plan, GateName.SPEC_IMPROVEMENTS) == (GateStatus.PASS, [])


def test_a_new_finding_after_the_sign_off_leaves_the_gate_pending_until_decided() -> None:
    plan = signed(new_plan(), GateName.SPEC_IMPROVEMENTS).plan
    newer = Facts(product(), (price(),), (finding(finding_id="f-new", severity="low"),))
    refreshed = set_goals(plan, goals=GOALS, actor=OWNER, facts=newer, now=at(1)).plan
    assert gate_of(refreshed, GateName.SPEC_IMPROVEMENTS) == (
        GateStatus.PENDING,
        [("improvement_undecided", "f-new")],
    )


ALL_CHANGES = list(itertools.product(ChangeStatus, ChangeStatus))


@pytest.mark.parametrize(("current", "to"), ALL_CHANGES)
def test_change_request_transition_matrix(current: ChangeStatus, to: ChangeStatus) -> None:
    paths = {
        ChangeStatus.REQUESTED: (),
        ChangeStatus.IN_PROGRESS: (ChangeStatus.IN_PROGRESS,),
        ChangeStatus.IMPLEMENTED: (ChangeStatus.IMPLEMENTED,),
        ChangeStatus.VERIFIED: (ChangeStatus.IMPLEMENTED, ChangeStatus.VERIFIED),
    }
    plan = moved(accepted(new_plan(facts=IMPROVEMENTS), "f-defect"), "f-defect", *paths[current])
    if to in CHANGE_TRANSITIONS[current]:
        after = moved(plan, "f-defect", to)
        request = after.improvement("f-defect").change_request  # type: ignore[union-attr]
        assert request is not None
        assert (request.status, request.updated_at) == (to, at(2))
    else:
        with refused(InvalidChangeTransition, 409, "invalid-change-transition") as body:
            moved(plan, "f-defect", to)
        assert (body["current"], body["to"]) == (current.value, to.value)
        assert body["allowed"] == [
            s.value for s in ChangeStatus if s in CHANGE_TRANSITIONS[current]
        ]


def test_the_change_request_map_allows_exactly_these_moves() -> None:
    allowed = {(a.value, b.value) for a, targets in CHANGE_TRANSITIONS.items() for b in targets}
    assert allowed == {
        ("requested", "in_progress"),
        ("requested", "implemented"),
        ("in_progress", "implemented"),
        ("implemented", "verified"),
        ("implemented", "in_progress"),
    }


@pytest.mark.parametrize(
    ("status", "today", "overdue"),
    [
        (ChangeStatus.REQUESTED, TARGET, False),
        (ChangeStatus.REQUESTED, TARGET + timedelta(days=1), True),
        (ChangeStatus.IN_PROGRESS, TARGET + timedelta(days=1), True),
        (ChangeStatus.IMPLEMENTED, TARGET + timedelta(days=1), False),
        (ChangeStatus.VERIFIED, TARGET + timedelta(days=9), False),
    ],
)
def test_a_change_request_is_overdue_after_its_due_date_until_delivered(
    status: ChangeStatus, today: date, overdue: bool
) -> None:
    assert ChangeRequest(Addressee.DEVELOPMENT, "dev", TARGET, status).overdue(today) is overdue


def test_a_decision_can_change_until_work_on_the_change_request_starts() -> None:
    plan = accepted(new_plan(facts=IMPROVEMENTS), "f-defect")
    plan = declined(plan, "f-defect")
    assert plan.improvement("f-defect").change_request is None  # type: ignore[union-attr]
    plan = accepted(plan, "f-defect", TARGET + timedelta(days=3))
    assert len(plan.improvements) == 1
    plan = moved(plan, "f-defect", ChangeStatus.IN_PROGRESS)
    with refused(Conflict, 409, "conflict") as body:
        declined(plan, "f-defect")
    assert body["status_now"] == "in_progress"


def test_improvement_refusals() -> None:
    plan = new_plan(facts=IMPROVEMENTS)
    for unknown in ("f-praise", "f-done", "f-nowhere"):
        with refused(NotFound, 404, "item-not-found") as body:
            accepted(plan, unknown)
        assert body["finding_id"] == unknown
    with refused(Invalid, 422, "invalid-input") as body:
        accepted(plan, "f-defect", TODAY - timedelta(days=1))
    assert body["field"] == "due_date"
    with refused(Invalid, 422, "invalid-input") as body:
        decline_improvement(
            plan, finding_id="f-mod", reason=" ", actor=OWNER, facts=IMPROVEMENTS, now=at(1)
        )
    assert body["field"] == "reason"
    with refused(NotFound, 404, "item-not-found"):
        moved(plan, "f-defect", ChangeStatus.IN_PROGRESS)
    with refused(Conflict, 409, "conflict") as body:
        moved(declined(plan, "f-mod"), "f-mod", ChangeStatus.IN_PROGRESS)
    assert body["finding_id"] == "f-mod"
    with refused(Invalid, 422, "invalid-input") as body:
        accept_improvement(
            plan,
            finding_id="f-defect",
            addressee=Addressee.VENDOR,
            owner=" ",
            due_date=TARGET,
            actor=OWNER,
            facts=IMPROVEMENTS,
            now=at(1),
        )
    assert body["field"] == "owner"


def test_an_overdue_change_request_is_flagged_in_the_gate_reason() -> None:
    plan = accepted(new_plan(facts=IMPROVEMENTS), "f-defect", TODAY + timedelta(days=2))
    later = set_goals(plan, goals=GOALS, actor=OWNER, facts=IMPROVEMENTS, now=at(3)).plan
    reason = next(
        r
        for r in later.gate(GateName.SPEC_IMPROVEMENTS).reasons
        if r.code is ReasonCode.CHANGE_REQUEST_OPEN
    )
    assert reason.data["overdue"] is True
    assert "overdue" in reason.detail


# --- QA reports ----------------------------------------------------------------------------------


def reported(plan: LaunchPlan, kind: QaKind, result: QaResult, when: float, rid: str) -> Outcome:
    return record_qa_report(
        plan,
        report_id=rid,
        kind=kind,
        result=result,
        notes=" notes ",
        actor=OWNER,
        facts=GOOD,
        now=at(when),
    )


def test_qa_signoff_waits_for_a_report_of_each_required_kind() -> None:
    assert gate_of(new_plan(), GateName.QA_SIGNOFF) == (
        GateStatus.PENDING,
        [("qa_report_missing", "qa")],
    )
    plan = new_plan(template=kettle_template())
    plan = reported(plan, QaKind.QA, QaResult.PASSED, 1, "r-1").plan
    assert gate_of(plan, GateName.QA_SIGNOFF) == (
        GateStatus.PENDING,
        [("qa_report_missing", "usability")],
    )
    plan = reported(plan, QaKind.USABILITY, QaResult.PASSED, 1, "r-2").plan
    assert gate_of(plan, GateName.QA_SIGNOFF) == (GateStatus.PASS, [])
    assert plan.qa_reports[0].notes == "notes"
    assert plan.qa_reports[0].recorded_by == "olivia"


def test_a_failed_latest_report_fails_qa_signoff_and_a_later_pass_clears_it() -> None:
    plan = reported(new_plan(), QaKind.QA, QaResult.PASSED, 1, "r-1").plan
    failed = reported(plan, QaKind.QA, QaResult.FAILED, 2, "r-2")
    assert gate_of(failed.plan, GateName.QA_SIGNOFF) == (
        GateStatus.FAIL,
        [("qa_report_failed", "r-2")],
    )
    assert failed.plan.gate(GateName.QA_SIGNOFF).reasons[0].data == {"kind": "qa", "notes": "notes"}
    assert failed.plan.readiness.value == "blocked"
    fixed = reported(failed.plan, QaKind.QA, QaResult.PASSED, 3, "r-3").plan
    assert gate_of(fixed, GateName.QA_SIGNOFF) == (GateStatus.PASS, [])


def test_of_two_reports_at_the_same_moment_the_one_recorded_last_counts() -> None:
    plan = reported(new_plan(), QaKind.QA, QaResult.PASSED, 1, "r-1").plan
    plan = reported(plan, QaKind.QA, QaResult.FAILED, 1, "r-2").plan
    assert gate_of(plan, GateName.QA_SIGNOFF)[0] is GateStatus.FAIL


def test_a_report_of_a_kind_the_template_does_not_require_is_kept_but_not_counted() -> None:
    plan = reported(new_plan(), QaKind.MARKET_VIABILITY, QaResult.FAILED, 1, "r-1").plan
    assert len(plan.qa_reports) == 1
    assert gate_of(plan, GateName.QA_SIGNOFF)[0] is GateStatus.PENDING


def test_a_report_with_a_bad_document_or_overlong_notes_is_refused() -> None:
    with refused(Invalid, 422, "invalid-input") as body:
        record_qa_report(
            new_plan(),
            report_id="r-1",
            kind=QaKind.QA,
            result=QaResult.PASSED,
            notes="x" * 5001,
            actor=OWNER,
            facts=GOOD,
            now=at(1),
        )
    assert body["field"] == "notes"
    with refused(Invalid, 422, "invalid-input") as body:
        record_qa_report(
            new_plan(),
            report_id="r-1",
            kind=QaKind.QA,
            result=QaResult.PASSED,
            notes="",
            documents=[Document("lab report", url="https://lab.example/r.pdf")],
            actor=OWNER,
            facts=GOOD,
            now=at(1),
        )
    assert body["field"] == "documents.0.sha256"


# --- marketing -----------------------------------------------------------------------------------


def tasked(plan: LaunchPlan, task_id: str, phase: Phase, offset: int) -> LaunchPlan:
    return add_task(
        plan,
        task_id=task_id,
        title=f"task {task_id}",
        phase=phase,
        owner="mia",
        offset_days=offset,
        actor=OWNER,
        facts=GOOD,
        now=at(1),
    ).plan


def done(plan: LaunchPlan, task_id: str) -> LaunchPlan:
    return complete_task(plan, task_id=task_id, actor=OWNER, facts=GOOD, now=at(2)).plan


def test_marketing_tasks_are_due_relative_to_the_target_date_and_move_with_it() -> None:
    plan = tasked(new_plan(), "teaser", Phase.BEFORE, -14)
    plan = tasked(plan, "press", Phase.DURING, 0)
    plan = tasked(plan, "survey", Phase.AFTER, 7)
    assert [t.due_date(plan.target_date) for t in plan.tasks] == [
        date(2030, 3, 18),
        date(2030, 4, 1),
        date(2030, 4, 8),
    ]
    later = reschedule(
        plan, new_date=date(2030, 4, 15), reason="stock late", actor=OWNER, facts=GOOD, now=at(2)
    ).plan
    assert [t.due_date(later.target_date) for t in later.tasks] == [
        date(2030, 4, 1),
        date(2030, 4, 15),
        date(2030, 4, 22),
    ]
    reason = later.gate(GateName.MARKETING_PLAN).reasons[0]
    assert reason.data["due_date"] == date(2030, 4, 1)


@pytest.mark.parametrize(
    ("phase", "offset", "ok"),
    [
        (Phase.BEFORE, -14, True),
        (Phase.BEFORE, 0, True),
        (Phase.BEFORE, 1, False),
        (Phase.DURING, -2, True),
        (Phase.DURING, 3, True),
        (Phase.AFTER, 0, True),
        (Phase.AFTER, 7, True),
        (Phase.AFTER, -1, False),
        (Phase.BEFORE, -365, True),
        (Phase.BEFORE, -366, False),
        (Phase.AFTER, 366, False),
    ],
)
def test_a_tasks_offset_must_suit_its_phase(phase: Phase, offset: int, ok: bool) -> None:
    if ok:
        assert tasked(new_plan(), "t", phase, offset).tasks[0].offset_days == offset
        return
    with refused(Invalid, 422, "invalid-input") as body:
        tasked(new_plan(), "t", phase, offset)
    assert body["field"] == "offset_days"


def test_marketing_plan_passes_when_every_before_task_is_done() -> None:
    plan = new_plan()
    assert gate_of(plan, GateName.MARKETING_PLAN) == (
        GateStatus.PENDING,
        [("no_marketing_tasks", "before")],
    )
    plan = tasked(
        tasked(tasked(plan, "a", Phase.BEFORE, -14), "b", Phase.BEFORE, -7), "c", Phase.AFTER, 7
    )
    assert gate_of(plan, GateName.MARKETING_PLAN) == (
        GateStatus.PENDING,
        [("marketing_task_open", "a"), ("marketing_task_open", "b")],
    )
    plan = done(plan, "a")
    assert gate_of(plan, GateName.MARKETING_PLAN)[1] == [("marketing_task_open", "b")]
    plan = done(plan, "b")
    assert gate_of(plan, GateName.MARKETING_PLAN) == (GateStatus.PASS, [])
    task = plan.task("b")
    assert (task.status, task.done_by, task.done_at) == (TaskStatus.DONE, "olivia", at(2))
    reopened = reopen_task(plan, task_id="b", actor=OWNER, facts=GOOD, now=at(3)).plan
    assert gate_of(reopened, GateName.MARKETING_PLAN)[0] is GateStatus.PENDING
    assert reopened.task("b").done_at is None


def test_a_signed_off_marketing_plan_passes_with_tasks_still_open() -> None:
    plan = tasked(new_plan(), "a", Phase.BEFORE, -14)
    plan = signed(plan, GateName.MARKETING_PLAN).plan
    assert gate_of(plan, GateName.MARKETING_PLAN) == (GateStatus.PASS, [])


def test_an_open_task_past_its_due_date_is_flagged_overdue() -> None:
    plan = tasked(new_plan(target=TODAY + timedelta(days=10)), "a", Phase.BEFORE, -9)
    reason = plan.gate(GateName.MARKETING_PLAN).reasons[0]
    assert (reason.data["due_date"], reason.data["overdue"]) == (at(1).date(), False)
    later = set_goals(plan, goals=GOALS, actor=OWNER, facts=GOOD, now=at(2)).plan
    assert later.gate(GateName.MARKETING_PLAN).reasons[0].data["overdue"] is True


def test_task_refusals() -> None:
    plan = tasked(new_plan(), "a", Phase.BEFORE, -14)
    with refused(Conflict, 409, "conflict") as body:
        tasked(plan, "a", Phase.AFTER, 1)
    assert body["task_id"] == "a"
    with refused(NotFound, 404, "item-not-found") as body:
        done(plan, "zzz")
    assert body["task_id"] == "zzz"
    with refused(Conflict, 409, "conflict"):
        done(done(plan, "a"), "a")
    with refused(Conflict, 409, "conflict"):
        reopen_task(plan, task_id="a", actor=OWNER, facts=GOOD, now=at(3))
    for title, owner, field in (
        ("", "mia", "title"),
        ("x" * 201, "mia", "title"),
        ("t", "", "owner"),
    ):
        with refused(Invalid, 422, "invalid-input") as body:
            add_task(
                plan,
                task_id="b",
                title=title,
                phase=Phase.BEFORE,
                owner=owner,
                offset_days=-1,
                actor=OWNER,
                facts=GOOD,
                now=at(1),
            )
        assert body["field"] == field
    gone = cancel(plan, reason="dropped", actor=OWNER, now=at(1)).plan
    with refused(Conflict, 409, "conflict") as body:
        done(gone, "a")
    assert body["status_now"] == "cancelled"


@pytest.mark.parametrize("offset", [1.5, True, "3"])
def test_an_offset_that_is_not_a_whole_number_of_days_is_refused(offset: object) -> None:
    with refused(Invalid, 422, "invalid-input") as body:
        add_task(
            new_plan(),
            task_id="t",
            title="teaser",
            phase=Phase.DURING,
            owner="mia",
            offset_days=offset,  # type: ignore[arg-type]
            actor=OWNER,
            facts=GOOD,
            now=at(1),
        )
    assert body["field"] == "offset_days"
    assert "whole number" in body["detail"]
