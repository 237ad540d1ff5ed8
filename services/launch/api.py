"""The launch HTTP routes: parse, call a use case, shape the response.

Every write answers the plan as it is after the change (with its readiness and the reasons
of every gate that does not pass) and its `ETag`; every write to a plan takes an optional
`If-Match`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from services.launch import queries, service
from services.launch.gates import Readiness
from services.launch.scheduler import Scheduler
from services.launch.schemas import (
    AcceptIn,
    CalendarPublic,
    ChangeRequestMove,
    HistoryEntryPublic,
    LaunchCreate,
    LaunchPublic,
    LaunchStatsPublic,
    LaunchUpdate,
    QaReportIn,
    ReasonIn,
    SignOffIn,
    TaskIn,
    TemplateIn,
    TemplatePublic,
    WaiverIn,
    calendar_entry_public,
    history_public,
    launch_public,
    template_public,
)
from services.launch.settings import LaunchSettings
from services.launch.status import OPEN_STATUSES, PlanStatus
from services.launch.store import StoredPlan
from shared.app import Runtime, RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.errors import FieldError, field_error, invalid_input
from shared.idempotency import IdempotencyDep
from shared.openapi import CONFLICT, MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from shared.types import IsoDate
from shared.uow import UnitOfWork

router = APIRouter(prefix="/v1", tags=["launch"])

Reader = Annotated[Principal, Depends(require("launch:read"))]
Writer = Annotated[Principal, Depends(require("launch:write"))]
Approver = Annotated[Principal, Depends(require("launch:approve"))]
LaunchId = Annotated[str, Path(max_length=36)]
GateName = Annotated[str, Path(max_length=64)]
ItemId = Annotated[str, Path(max_length=64)]
Filter = Annotated[str | None, Query(max_length=255)]
CALENDAR_DAYS = 90


@dataclass(frozen=True)
class Launch:
    """What the routes need besides the kernel's runtime: settings and the scheduler."""

    settings: LaunchSettings
    scheduler: Scheduler


def _launch(request: Request) -> Launch:
    return request.app.state.launch


LaunchDep = Annotated[Launch, Depends(_launch)]


def _answer(runtime: Runtime, stored: StoredPlan, response: Response) -> LaunchPublic:
    response.headers["ETag"] = etag(stored.version)
    return launch_public(stored, now=runtime.clock())


async def _write(
    runtime: Runtime, response: Response, use_case: Callable[[UnitOfWork], Awaitable[StoredPlan]]
) -> LaunchPublic:
    """Run one use case in its own unit of work and answer the plan after it."""
    async with runtime.uow() as uow:
        stored = await use_case(uow)
    return _answer(runtime, stored, response)


# --- plans --------------------------------------------------------------------------------------


@router.post(
    "/launches",
    responses=CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=LaunchPublic,
)
async def plan_launch(
    body: LaunchCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | LaunchPublic:
    """Plan a product's launch on a price list: the default gates and those of the product
    type's template, evaluated at once against what launch knows of the product. The owner
    is the caller's key owner; only an admin names another. 422 for a product launch has
    not heard of, 409 for a discontinued one or a second open plan on the list."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        stored = await service.plan_launch(
            uow=uow,
            product_id=body.product_id,
            price_list=body.price_list,
            target_date=body.target_date,
            owner=body.owner,
            actor=actor,
        )
        created = launch_public(stored, now=runtime.clock())
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/launches/{created.id}"
    response.headers["ETag"] = etag(created.version)
    return created


@router.get("/launches", response_model=Page[LaunchPublic])
async def list_launches(
    runtime: RuntimeDep,
    _: Reader,
    readiness: Readiness | None = None,
    status: PlanStatus | None = None,
    product_id: Filter = None,
    owner: Filter = None,
    from_: Annotated[
        IsoDate | None, Query(alias="from", description="target date, YYYY-MM-DD")
    ] = None,
    to: Annotated[IsoDate | None, Query(description="target date, inclusive")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LaunchPublic]:
    """Launch plans by target date, filtered by readiness, status, product, owner and a
    target date range."""
    async with runtime.db.reader() as session:
        page = await queries.list_plans(
            session=session,
            readiness=readiness,
            status=status,
            product_id=product_id,
            owner=owner,
            start=from_,
            end=to,
            limit=limit,
            cursor=cursor,
        )
    now = runtime.clock()
    return page.map(lambda stored: launch_public(stored, now=now))


# Before `/launches/{launch_id}`, which would take "stats" for an id.
@router.get("/launches/stats", response_model=LaunchStatsPublic)
async def launch_stats(runtime: RuntimeDep, _: Reader) -> LaunchStatsPublic:
    """Plans at a glance, whatever their target date: every plan by status, the open ones
    (planned or approved) by readiness, and the launched ones at risk."""
    async with runtime.db.reader() as session:
        stats = await queries.launch_stats(session=session)
    open_plans = sum(stats.by_status[s.value] for s in OPEN_STATUSES)
    return LaunchStatsPublic(
        total=sum(stats.by_status.values()),
        by_status=stats.by_status,
        open=open_plans,
        by_readiness=stats.open_by_readiness,
        at_risk=stats.at_risk,
    )


@router.get("/launches/{launch_id}", responses=MISSING, response_model=LaunchPublic)
async def get_launch(
    launch_id: LaunchId, runtime: RuntimeDep, _: Reader, response: Response
) -> LaunchPublic:
    """One plan: `readiness` (ready, blocked, pending), `blocking`, and for every gate that
    does not pass the chain of reasons with the ids they are about (missing attributes, a
    finding with its item count, severity and quote, the price list without an approved
    price, a missing sign-off, an open task ...). The ETag is its version."""
    async with runtime.db.reader() as session:
        stored = await queries.get_plan(session=session, launch_id=launch_id)
    return _answer(runtime, stored, response)


@router.patch("/launches/{launch_id}", responses=MISSING_OR_CONFLICT, response_model=LaunchPublic)
async def update_launch(
    launch_id: LaunchId,
    body: LaunchUpdate,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Set the goals for the first 90 days (`goals`; null clears them), and/or move the
    target date (`target_date` with a `reason`; the marketing tasks move with it, and an
    approved plan goes back to planned). 412 when `If-Match` is stale."""
    set_goals = "goals" in body.model_fields_set
    if body.reason is not None and body.target_date is None:
        raise field_error("reason", "a reason goes with a new target_date")
    if not set_goals and body.target_date is None:
        raise invalid_input([FieldError((), "send goals, or target_date with a reason")])
    return await _write(
        runtime,
        response,
        lambda uow: service.update_plan(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            goals=body.goals.goals() if body.goals is not None else None,
            set_goals=set_goals,
            target_date=body.target_date,
            reason=body.reason,
        ),
    )


@router.post(
    "/launches/{launch_id}/approve", responses=MISSING_OR_CONFLICT, response_model=LaunchPublic
)
async def approve_launch(
    launch_id: LaunchId,
    runtime: RuntimeDep,
    launch: LaunchDep,
    actor: Approver,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Approve a planned launch (launch:approve, neither the plan's owner nor its planner):
    409 with `blocking_gates` unless every gate passes or is waived. On or after the target
    date it launches at once; otherwise it launches on the target date."""
    answer = await _write(
        runtime,
        response,
        lambda uow: service.approve(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            monitoring=launch.settings.monitoring,
        ),
    )
    launch.scheduler.notify()
    return answer


@router.post(
    "/launches/{launch_id}/cancel", responses=MISSING_OR_CONFLICT, response_model=LaunchPublic
)
async def cancel_launch(
    launch_id: LaunchId,
    body: ReasonIn,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Cancel a planned or approved launch, with the reason."""
    return await _write(
        runtime,
        response,
        lambda uow: service.cancel(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            reason=body.reason,
        ),
    )


@router.get(
    "/launches/{launch_id}/history", responses=MISSING, response_model=Page[HistoryEntryPublic]
)
async def launch_history(
    launch_id: LaunchId,
    runtime: RuntimeDep,
    _: Reader,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[HistoryEntryPublic]:
    """Every change of the plan, oldest first: who (null when launch itself changed it from
    facts or time), when, what (`action`, `data`, the events it published) and why."""
    async with runtime.db.reader() as session:
        page = await queries.history(
            session=session, launch_id=launch_id, limit=limit, cursor=cursor
        )
    return page.map(history_public)


# --- gates --------------------------------------------------------------------------------------


@router.post(
    "/launches/{launch_id}/gates/{gate}/signoff",
    responses=MISSING_OR_CONFLICT,
    response_model=LaunchPublic,
)
async def sign_off(
    launch_id: LaunchId,
    gate: GateName,
    body: SignOffIn,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Sign a manual gate off with evidence: `regulatory_compliance` needs documents,
    `business_documents` the plan's goals, `spec_improvements` every listed improvement
    decided; `qa_signoff` passes from test reports instead, automatic gates from facts."""
    return await _write(
        runtime,
        response,
        lambda uow: service.sign_off(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            gate=gate,
            evidence=body.evidence,
            documents=[document.document() for document in body.documents],
        ),
    )


@router.post(
    "/launches/{launch_id}/gates/{gate}/revoke",
    responses=MISSING_OR_CONFLICT,
    response_model=LaunchPublic,
)
async def revoke_signoff(
    launch_id: LaunchId,
    gate: GateName,
    body: ReasonIn,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Revoke a gate's sign-off, with the reason the gate then shows."""
    return await _write(
        runtime,
        response,
        lambda uow: service.revoke_signoff(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            gate=gate,
            reason=body.reason,
        ),
    )


@router.post(
    "/launches/{launch_id}/waivers",
    responses=MISSING_OR_CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=LaunchPublic,
)
async def waive_gate(
    launch_id: LaunchId,
    body: WaiverIn,
    runtime: RuntimeDep,
    launch: LaunchDep,
    idem: IdempotencyDep,
    actor: Approver,
    if_match: IfMatch,
    response: Response,
) -> Response | LaunchPublic:
    """Waive a gate that does not pass until `expires_at` (launch:approve, neither the plan's
    owner nor its planner); when the waiver expires the gate counts as it is again. Every
    waiver stays listed on the plan."""
    answer = await _create(
        runtime,
        idem,
        body,
        response,
        lambda uow: service.waive(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            gate=body.gate,
            reason=body.reason,
            expires_at=body.expires_at,
        ),
    )
    launch.scheduler.notify()
    return answer


async def _create(
    runtime: Runtime,
    idem: IdempotencyDep,
    body: TaskIn | QaReportIn | WaiverIn,
    response: Response,
    use_case: Callable[[UnitOfWork], Awaitable[StoredPlan]],
) -> Response | LaunchPublic:
    """A create on a plan (201, the plan after it), replayed for a repeated Idempotency-Key."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        stored = await use_case(uow)
        answer = launch_public(stored, now=runtime.clock())
        await idem.remember(uow, status.HTTP_201_CREATED, answer)
    response.headers["ETag"] = etag(stored.version)
    return answer


# --- evidence -----------------------------------------------------------------------------------


@router.post(
    "/launches/{launch_id}/improvements/{finding_id}/accept",
    responses=MISSING_OR_CONFLICT,
    response_model=LaunchPublic,
)
async def accept_improvement(
    launch_id: LaunchId,
    finding_id: ItemId,
    body: AcceptIn,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Accept a recommended improvement (an open defect or modification-request finding of
    the product): it becomes a change request to the vendor or the development team."""
    return await _write(
        runtime,
        response,
        lambda uow: service.accept_improvement(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            finding_id=finding_id,
            addressee=body.addressee,
            owner=body.owner,
            due_date=body.due_date,
        ),
    )


@router.post(
    "/launches/{launch_id}/improvements/{finding_id}/decline",
    responses=MISSING_OR_CONFLICT,
    response_model=LaunchPublic,
)
async def decline_improvement(
    launch_id: LaunchId,
    finding_id: ItemId,
    body: ReasonIn,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Decline a recommended improvement, with the reason."""
    return await _write(
        runtime,
        response,
        lambda uow: service.decline_improvement(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            finding_id=finding_id,
            reason=body.reason,
        ),
    )


@router.post(
    "/launches/{launch_id}/improvements/{finding_id}/change-request",
    responses=MISSING_OR_CONFLICT,
    response_model=LaunchPublic,
)
async def move_change_request(
    launch_id: LaunchId,
    finding_id: ItemId,
    body: ChangeRequestMove,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Move an accepted improvement's change request: requested, in_progress, implemented,
    verified (an implemented one that fails verification goes back to in_progress)."""
    return await _write(
        runtime,
        response,
        lambda uow: service.move_change_request(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            finding_id=finding_id,
            to=body.status,
        ),
    )


@router.post(
    "/launches/{launch_id}/qa-reports",
    responses=MISSING_OR_CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=LaunchPublic,
)
async def record_qa_report(
    launch_id: LaunchId,
    body: QaReportIn,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> Response | LaunchPublic:
    """Record a test report (qa, usability or market viability) with its result, notes and
    documents; `qa_signoff` passes when the latest report of each required kind passed."""
    return await _create(
        runtime,
        idem,
        body,
        response,
        lambda uow: service.record_qa_report(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            kind=body.kind,
            result=body.result,
            notes=body.notes,
            documents=[document.document() for document in body.documents],
        ),
    )


@router.post(
    "/launches/{launch_id}/tasks",
    responses=MISSING_OR_CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=LaunchPublic,
)
async def add_task(
    launch_id: LaunchId,
    body: TaskIn,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> Response | LaunchPublic:
    """Add a marketing task before, during or after the launch, due `offset_days` from the
    target date (it moves with the date); `marketing_plan` passes when every "before" task
    is done, or when signed off."""
    return await _create(
        runtime,
        idem,
        body,
        response,
        lambda uow: service.add_task(
            uow=uow,
            launch_id=launch_id,
            expected_version=if_match,
            actor=actor,
            title=body.title,
            phase=body.phase,
            owner=body.owner,
            offset_days=body.offset_days,
        ),
    )


@router.post(
    "/launches/{launch_id}/tasks/{task_id}/complete",
    responses=MISSING_OR_CONFLICT,
    response_model=LaunchPublic,
)
async def complete_task(
    launch_id: LaunchId,
    task_id: ItemId,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Mark a marketing task done."""
    return await _write(
        runtime,
        response,
        lambda uow: service.complete_task(
            uow=uow, launch_id=launch_id, expected_version=if_match, actor=actor, task_id=task_id
        ),
    )


@router.post(
    "/launches/{launch_id}/tasks/{task_id}/reopen",
    responses=MISSING_OR_CONFLICT,
    response_model=LaunchPublic,
)
async def reopen_task(
    launch_id: LaunchId,
    task_id: ItemId,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> LaunchPublic:
    """Mark a done marketing task open again."""
    return await _write(
        runtime,
        response,
        lambda uow: service.reopen_task(
            uow=uow, launch_id=launch_id, expected_version=if_match, actor=actor, task_id=task_id
        ),
    )


# --- gate templates -----------------------------------------------------------------------------


@router.put(
    "/gate-templates/{product_type}",
    responses={201: {"description": "The template was created", "model": TemplatePublic}},
    response_model=TemplatePublic,
)
async def put_template(
    product_type: Annotated[str, Path(max_length=64)],
    body: TemplateIn,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> TemplatePublic:
    """Create (201) or replace (200) a product type's template: its extra manual gates and
    the QA report kinds `qa_signoff` requires. Plans copy it when they are made."""
    async with runtime.uow() as uow:
        row, created = await service.put_template(
            uow=uow,
            product_type=product_type,
            gates=body.gates,
            qa_kinds=body.qa_kinds,
            expected_version=if_match,
            actor=actor,
        )
    if created:
        response.status_code = status.HTTP_201_CREATED
    response.headers["ETag"] = etag(row.version)
    return template_public(row)


@router.get("/gate-templates/{product_type}", responses=MISSING, response_model=TemplatePublic)
async def get_template(
    product_type: Annotated[str, Path(max_length=64)],
    runtime: RuntimeDep,
    _: Reader,
    response: Response,
) -> TemplatePublic:
    """A product type's template; 404 when it has none (its plans get the default gates)."""
    async with runtime.db.reader() as session:
        row = await queries.get_template(session=session, product_type=product_type)
    response.headers["ETag"] = etag(row.version)
    return template_public(row)


@router.get("/gate-templates", response_model=Page[TemplatePublic])
async def list_templates(
    runtime: RuntimeDep, _: Reader, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[TemplatePublic]:
    """Gate templates by product type."""
    async with runtime.db.reader() as session:
        page = await queries.list_templates(session=session, limit=limit, cursor=cursor)
    return page.map(template_public)


# --- the calendar -------------------------------------------------------------------------------


@router.get("/launch-calendar", response_model=CalendarPublic)
async def launch_calendar(
    runtime: RuntimeDep,
    launch: LaunchDep,
    _: Reader,
    from_: Annotated[IsoDate | None, Query(alias="from", description="default today (UTC)")] = None,
    to: Annotated[
        IsoDate | None, Query(description=f"inclusive; default from + {CALENDAR_DAYS}")
    ] = None,
    owner: Filter = None,
) -> CalendarPublic:
    """Launches targeting the range (cancelled ones left out), by date, with readiness, days
    left and flags: `behind` (not ready with the target near), `slipped` (moved later: how
    often, by how many days), `conflict` (the same owner or product type in the same ISO
    week), overdue change requests and marketing tasks."""
    today = runtime.clock().date()
    start = from_ or today
    end = to or start + timedelta(days=CALENDAR_DAYS)
    async with runtime.db.reader() as session:
        entries = await queries.launch_calendar(
            session=session,
            start=start,
            end=end,
            today=today,
            owner=owner,
            rule=launch.settings.conflict_rule,
            behind_within=launch.settings.behind_within_days,
        )
    return CalendarPublic(
        from_=start, to=end, today=today, items=[calendar_entry_public(e) for e in entries]
    )
