"""Request and response models of the launch API (inputs forbid unknown fields).

Inputs check shapes and types; the domain checks the rules (a document names a url or a
ref, goals are in range, ...) and answers 422 with the field it refused. Outputs are built
from the plan aggregate by `launch_public`; no internal field leaks.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from services.launch.calendar import CalendarEntry
from services.launch.evidence import GOALS_PERIOD_DAYS, Goals, QaResult
from services.launch.evidence import Money as GoalMoney
from services.launch.gates import (
    Document,
    Gate,
    GateKind,
    GateStatus,
    QaKind,
    Readiness,
    Reason,
    blocking,
)
from services.launch.improvements import Addressee, ChangeStatus, ImprovementDecision
from services.launch.marketing import Phase, TaskStatus
from services.launch.status import PlanStatus
from services.launch.store import StoredPlan
from shared.money import Money
from shared.types import IsoDate, Rfc3339

Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(max_length=255)]
Text = Annotated[str, StringConstraints(max_length=5000)]
MARGIN_PATTERN = r"^-?[0-9]{1,3}(\.[0-9]{1,2})?$"


_MARGIN = re.compile(MARGIN_PATTERN)


def _margin_text(value: object) -> Decimal:
    # A JSON number has been through a float by the time it is parsed: text only.
    if not isinstance(value, str) or not _MARGIN.fullmatch(value):
        raise ValueError('margin_pct is a decimal string such as "32.5" (at most 2 decimals)')
    return Decimal(value)


MarginIn = Annotated[
    Decimal,
    BeforeValidator(_margin_text),
    WithJsonSchema({"type": "string", "pattern": MARGIN_PATTERN, "examples": ["32.5"]}),
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- inputs -------------------------------------------------------------------------------------


class LaunchCreate(Input):
    product_id: Reference
    target_date: IsoDate
    price_list: Reference
    owner: Annotated[Name, Field(description="an admin may name another key owner")] | None = None


class GoalsIn(Input):
    """Targets for the first 90 days after launch."""

    units: Annotated[int, Field(strict=True)]
    revenue: Money
    margin_pct: MarginIn

    def goals(self) -> Goals:
        return Goals(
            units=self.units,
            revenue=GoalMoney(self.revenue.amount, self.revenue.currency),
            margin_pct=self.margin_pct,
        )


class LaunchUpdate(Input):
    """`goals` (null clears them), and/or `target_date` with the `reason` for the move."""

    goals: GoalsIn | None = None
    target_date: IsoDate | None = None
    reason: Text | None = None


class DocumentIn(Input):
    title: Name
    url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    ref: Annotated[str, StringConstraints(max_length=2048)] | None = None
    sha256: Annotated[str, StringConstraints(max_length=64)] | None = None

    def document(self) -> Document:
        return Document(title=self.title, url=self.url, ref=self.ref, sha256=self.sha256)


Documents = Annotated[list[DocumentIn], Field(max_length=20)]


class SignOffIn(Input):
    evidence: Text
    documents: Documents = Field(default_factory=list)


class ReasonIn(Input):
    reason: Text


class AcceptIn(Input):
    addressee: Addressee
    owner: Name
    due_date: IsoDate


class ChangeRequestMove(Input):
    status: ChangeStatus


class QaReportIn(Input):
    kind: QaKind
    result: QaResult
    notes: Text = ""
    documents: Documents = Field(default_factory=list)


class TaskIn(Input):
    title: Name
    phase: Phase
    owner: Name
    offset_days: Annotated[
        int, Field(strict=True, description="days from the target date: -14 is T-14")
    ]


class WaiverIn(Input):
    gate: Reference
    reason: Text
    expires_at: Rfc3339


class TemplateIn(Input):
    gates: Annotated[list[str], Field(max_length=50)] = Field(default_factory=list)
    qa_kinds: Annotated[list[str], Field(max_length=10)] = Field(
        default_factory=lambda: [QaKind.QA.value]
    )


# --- outputs ------------------------------------------------------------------------------------


class ReasonPublic(BaseModel):
    """One link of a gate's chain of reasons: what, about which thing (`ref`), its facts."""

    code: str
    ref: str
    detail: str
    data: dict[str, Any]


class DocumentPublic(BaseModel):
    title: str
    url: str | None
    ref: str | None
    sha256: str | None


class SignOffPublic(BaseModel):
    by: str
    at: datetime
    evidence: str
    documents: list[DocumentPublic]


class RevocationPublic(BaseModel):
    by: str
    at: datetime
    reason: str


class GatePublic(BaseModel):
    name: str
    kind: GateKind
    status: GateStatus
    waived: bool
    reasons: list[ReasonPublic]
    updated_at: datetime | None
    signoff: SignOffPublic | None
    revocation: RevocationPublic | None


class GoalsPublic(BaseModel):
    units: Annotated[int, Field(strict=True)]
    revenue: Money
    margin_pct: str
    period_days: int


class ChangeRequestPublic(BaseModel):
    addressee: Addressee
    owner: str
    due_date: date
    status: ChangeStatus
    overdue: bool
    updated_at: datetime | None


class ImprovementPublic(BaseModel):
    finding_id: str
    decision: ImprovementDecision
    decided_by: str
    decided_at: datetime
    reason: str | None
    change_request: ChangeRequestPublic | None


class QaReportPublic(BaseModel):
    id: str
    kind: QaKind
    result: QaResult
    notes: str
    recorded_by: str
    recorded_at: datetime
    documents: list[DocumentPublic]


class TaskPublic(BaseModel):
    id: str
    title: str
    phase: Phase
    owner: str
    offset_days: int
    due_date: date
    status: TaskStatus
    done_by: str | None
    done_at: datetime | None


class WaiverPublic(BaseModel):
    id: str
    gate: str
    by: str
    reason: str
    created_at: datetime
    expires_at: datetime
    live: bool


class ReschedulePublic(BaseModel):
    old_date: date
    new_date: date
    reason: str
    by: str
    at: datetime


class CancellationPublic(BaseModel):
    reason: str
    by: str | None
    at: datetime


class LaunchPublic(BaseModel):
    """A plan: its status and readiness, every gate with the reasons it is not passing,
    and all its evidence."""

    id: str
    product_id: str
    price_list: str
    owner: str
    product_type: str | None
    target_date: date
    status: PlanStatus
    readiness: Readiness
    blocking: list[str] = Field(description="the gates neither passing nor waived")
    gates: list[GatePublic]
    goals: GoalsPublic | None
    improvements: list[ImprovementPublic]
    qa_kinds: list[QaKind]
    qa_reports: list[QaReportPublic]
    tasks: list[TaskPublic]
    waivers: list[WaiverPublic]
    reschedules: list[ReschedulePublic]
    approved_by: str | None
    approved_at: datetime | None
    launch_at: datetime | None
    launched_at: datetime | None
    monitored_until: datetime | None
    at_risk: bool
    at_risk_reasons: list[ReasonPublic]
    cancellation: CancellationPublic | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class HistoryEntryPublic(BaseModel):
    id: int
    launch_id: str
    changed_at: datetime
    changed_by: str | None = Field(description="null: launch itself, from facts or time")
    action: str
    reason: str | None
    data: dict[str, Any]
    events: list[str]
    version: int


class TemplatePublic(BaseModel):
    product_type: str
    gates: list[str]
    qa_kinds: list[QaKind]
    version: int
    updated_by: str
    updated_at: datetime


class SlipPublic(BaseModel):
    times: int
    days: int


class ClashPublic(BaseModel):
    launch_id: str
    shared: list[str]


class CalendarEntryPublic(BaseModel):
    launch_id: str
    product_id: str
    price_list: str
    owner: str
    product_type: str | None
    target_date: date
    status: PlanStatus
    readiness: Readiness
    at_risk: bool
    days_left: int
    behind: bool
    slipped: bool
    slip: SlipPublic
    conflict: bool
    conflicts: list[ClashPublic]
    overdue_change_requests: list[str]
    overdue_tasks: list[str]


class LaunchStatsPublic(BaseModel):
    """Launch plans at a glance, over every target date."""

    total: int = Field(description="every plan, cancelled and launched ones included")
    by_status: dict[str, int]
    open: int = Field(description="plans still to launch: planned or approved")
    by_readiness: dict[str, int] = Field(description="the open plans by readiness")
    at_risk: int = Field(description="launched plans whose automatic gates fail in monitoring")


class CalendarPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date
    today: date
    items: list[CalendarEntryPublic]


# --- shaping ------------------------------------------------------------------------------------


def _reason(reason: Reason) -> ReasonPublic:
    return ReasonPublic(
        code=str(reason.code), ref=reason.ref, detail=reason.detail, data=dict(reason.data)
    )


def _document(document: Document) -> DocumentPublic:
    return DocumentPublic(
        title=document.title, url=document.url, ref=document.ref, sha256=document.sha256
    )


def _gate(gate: Gate) -> GatePublic:
    signoff, revocation = gate.signoff, gate.revocation
    return GatePublic(
        name=gate.name,
        kind=gate.kind,
        status=gate.status,
        waived=gate.waived,
        reasons=[_reason(reason) for reason in gate.reasons],
        updated_at=gate.updated_at,
        signoff=None
        if signoff is None
        else SignOffPublic(
            by=signoff.by,
            at=signoff.at,
            evidence=signoff.evidence,
            documents=[_document(d) for d in signoff.documents],
        ),
        revocation=None
        if revocation is None
        else RevocationPublic(by=revocation.by, at=revocation.at, reason=revocation.reason),
    )


def _goals(goals: Goals | None) -> GoalsPublic | None:
    if goals is None:
        return None
    revenue = goals.revenue
    return GoalsPublic(
        units=goals.units,
        revenue=Money.model_construct(amount=revenue.amount, currency=revenue.currency),
        margin_pct=format(goals.margin_pct, "f"),
        period_days=GOALS_PERIOD_DAYS,
    )


def launch_public(stored: StoredPlan, *, now: datetime) -> LaunchPublic:
    """The API's view of a plan; `now` decides which waivers are live and what is overdue."""
    plan = stored.plan
    today = now.date()
    return LaunchPublic(
        id=plan.id,
        product_id=plan.product_id,
        price_list=plan.price_list,
        owner=plan.owner,
        product_type=plan.product_type,
        target_date=plan.target_date,
        status=plan.status,
        readiness=plan.readiness,
        blocking=[gate.name for gate in blocking(plan.gates)],
        gates=[_gate(gate) for gate in plan.gates],
        goals=_goals(plan.goals),
        improvements=[
            ImprovementPublic(
                finding_id=i.finding_id,
                decision=i.decision,
                decided_by=i.decided_by,
                decided_at=i.decided_at,
                reason=i.reason,
                change_request=None
                if i.change_request is None
                else ChangeRequestPublic(
                    addressee=i.change_request.addressee,
                    owner=i.change_request.owner,
                    due_date=i.change_request.due_date,
                    status=i.change_request.status,
                    overdue=i.change_request.overdue(today),
                    updated_at=i.change_request.updated_at,
                ),
            )
            for i in plan.improvements
        ],
        qa_kinds=list(plan.qa_kinds),
        qa_reports=[
            QaReportPublic(
                id=r.id,
                kind=r.kind,
                result=r.result,
                notes=r.notes,
                recorded_by=r.recorded_by,
                recorded_at=r.recorded_at,
                documents=[_document(d) for d in r.documents],
            )
            for r in plan.qa_reports
        ],
        tasks=[
            TaskPublic(
                id=t.id,
                title=t.title,
                phase=t.phase,
                owner=t.owner,
                offset_days=t.offset_days,
                due_date=t.due_date(plan.target_date),
                status=t.status,
                done_by=t.done_by,
                done_at=t.done_at,
            )
            for t in plan.tasks
        ],
        waivers=[
            WaiverPublic(
                id=w.id,
                gate=w.gate,
                by=w.by,
                reason=w.reason,
                created_at=w.created_at,
                expires_at=w.expires_at,
                live=w.live_at(now),
            )
            for w in plan.waivers
        ],
        reschedules=[
            ReschedulePublic(
                old_date=r.old_date, new_date=r.new_date, reason=r.reason, by=r.by, at=r.at
            )
            for r in plan.reschedules
        ],
        approved_by=plan.approved_by,
        approved_at=plan.approved_at,
        launch_at=plan.launch_at,
        launched_at=plan.launched_at,
        monitored_until=plan.monitored_until,
        at_risk=plan.at_risk,
        at_risk_reasons=[_reason(reason) for reason in plan.at_risk_reasons],
        cancellation=None
        if plan.cancellation is None
        else CancellationPublic(
            reason=plan.cancellation.reason, by=plan.cancellation.by, at=plan.cancellation.at
        ),
        created_by=plan.created_by,
        created_at=plan.created_at,
        updated_at=stored.updated_at,
        version=stored.version,
    )


def history_public(row: Any) -> HistoryEntryPublic:
    return HistoryEntryPublic(
        id=row.id,
        launch_id=row.launch_id,
        changed_at=row.changed_at,
        changed_by=row.changed_by,
        action=row.action,
        reason=row.reason,
        data=row.data,
        events=row.events,
        version=row.version,
    )


def template_public(row: Any) -> TemplatePublic:
    return TemplatePublic(
        product_type=row.product_type,
        gates=row.gates,
        qa_kinds=row.qa_kinds,
        version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def calendar_entry_public(entry: CalendarEntry) -> CalendarEntryPublic:
    plan = entry.plan
    return CalendarEntryPublic(
        launch_id=plan.id,
        product_id=plan.product_id,
        price_list=plan.price_list,
        owner=plan.owner,
        product_type=plan.product_type,
        target_date=plan.target_date,
        status=plan.status,
        readiness=plan.readiness,
        at_risk=plan.at_risk,
        days_left=entry.days_left,
        behind=entry.behind,
        slipped=entry.slipped,
        slip=SlipPublic(times=entry.slip.times, days=entry.slip.days),
        conflict=entry.conflict,
        conflicts=[
            ClashPublic(launch_id=c.launch_id, shared=list(c.shared)) for c in entry.conflicts
        ],
        overdue_change_requests=list(entry.overdue_change_requests),
        overdue_tasks=list(entry.overdue_tasks),
    )
