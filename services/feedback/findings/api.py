"""Findings routes: triaged items, findings and their user stories, escalations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.feedback.findings import service
from services.feedback.findings.domain import Source, Status
from services.feedback.findings.escalations import EscalationStatus, Route
from services.feedback.findings.schemas import (
    EscalationForward,
    EscalationPublic,
    EscalationStatusChange,
    FeedbackItemPublic,
    FindingPublic,
    FindingStatsPublic,
    FindingStatusChange,
    UserStoryPublic,
    escalation_public,
    feedback_item_public,
    finding_public,
    finding_stats_public,
    user_story_public,
)
from services.feedback.triage import Category, Severity
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.openapi import MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["feedback"])

Reader = Annotated[Principal, Depends(require("feedback:read"))]
Writer = Annotated[Principal, Depends(require("feedback:write"))]
Id = Annotated[str | None, Query(max_length=128)]
MAX_STATS_DAYS = 90
DEFAULT_STATS_DAYS = 14


@router.get("/feedback", response_model=Page[FeedbackItemPublic])
async def list_feedback(
    runtime: RuntimeDep,
    _: Reader,
    product_id: Id = None,
    category: Category | None = None,
    finding_id: Id = None,
    needs_review: Annotated[
        bool | None, Query(description="only items waiting for a person's label (or not)")
    ] = None,
    source: Annotated[Source | None, Query(description="only items this source wrote")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[FeedbackItemPublic]:
    """Triaged items: category, severity, sentiment and the model's confidence of each text
    customers sent; `needs_review=true` lists those the model was unsure of that no person
    has labelled yet (`POST /v1/feedback/{id}/label`)."""
    async with runtime.db.reader() as session:
        page = await service.list_feedback(
            session=session,
            product_id=product_id,
            category=category.value if category else None,
            finding_id=finding_id,
            needs_review=needs_review,
            source=source.value if source else None,
            limit=limit,
            cursor=cursor,
        )
    return page.map(feedback_item_public)


@router.get("/findings", response_model=Page[FindingPublic])
async def list_findings(
    runtime: RuntimeDep,
    _: Reader,
    product_id: Id = None,
    kind: Category | None = None,
    status: Status | None = None,
    severity: Severity | None = None,
    source: Annotated[
        Source | None, Query(description="only findings with an item this source wrote")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[FindingPublic]:
    """Findings (similar feedback about one product, grouped), with their trend and who
    wrote their items (`sources`)."""
    async with runtime.db.reader() as session:
        page = await service.list_findings(
            session=session,
            product_id=product_id,
            kind=kind.value if kind else None,
            status=status.value if status else None,
            severity=severity.value if severity else None,
            source=source.value if source else None,
            limit=limit,
            cursor=cursor,
        )
        trends = await service.trends(
            session=session, finding_ids=[row.id for row in page.items], now=runtime.clock()
        )
    return page.map(lambda row: finding_public(row, trends[row.id]))


# Before `/findings/{finding_id}`, which would take "stats" for an id.
@router.get("/findings/stats", response_model=FindingStatsPublic)
async def finding_stats(
    runtime: RuntimeDep,
    _: Reader,
    product_id: Id = None,
    days: Annotated[
        int, Query(ge=1, le=MAX_STATS_DAYS, description="days of `opened_per_day`")
    ] = DEFAULT_STATS_DAYS,
) -> FindingStatsPublic:
    """Findings at a glance: unresolved ones (open or acknowledged) by category and
    severity, critical ones, overdue escalations, the mean sentiment of the triaged items,
    and the findings opened on each of the last `days` days by severity (UTC days by the
    service's clock, today included); of every product, or of `product_id`."""
    async with runtime.db.reader() as session:
        stats = await service.finding_stats(
            session=session, product_id=product_id, now=runtime.clock(), days=days
        )
    return finding_stats_public(product_id, stats)


@router.get("/findings/{finding_id}", responses=MISSING, response_model=FindingPublic)
async def get_finding(
    finding_id: str, runtime: RuntimeDep, _: Reader, response: Response
) -> FindingPublic:
    """One finding; the ETag is its version, for `If-Match` on status changes."""
    async with runtime.db.reader() as session:
        row = await service.get_finding(session=session, finding_id=finding_id)
        trends = await service.trends(session=session, finding_ids=[row.id], now=runtime.clock())
    response.headers["ETag"] = etag(row.version)
    return finding_public(row, trends[row.id])


@router.post(
    "/findings/{finding_id}/status", responses=MISSING_OR_CONFLICT, response_model=FindingPublic
)
async def change_finding_status(
    finding_id: str,
    body: FindingStatusChange,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> FindingPublic:
    """Acknowledge or resolve a finding (open -> acknowledged -> resolved); 409 otherwise.
    New items on a resolved finding reopen it as a regression."""
    async with runtime.uow() as uow:
        row = await service.change_finding_status(
            uow=uow,
            finding_id=finding_id,
            to=Status(body.status),
            note=body.note,
            expected_version=if_match,
            actor=actor,
        )
    async with runtime.db.reader() as session:
        trends = await service.trends(session=session, finding_ids=[row.id], now=runtime.clock())
    response.headers["ETag"] = etag(row.version)
    return finding_public(row, trends[row.id])


@router.get("/findings/{finding_id}/user-story", responses=MISSING, response_model=UserStoryPublic)
async def finding_user_story(finding_id: str, runtime: RuntimeDep, _: Reader) -> UserStoryPublic:
    """The finding as a user story ("As a ..., I want ..., so that ...") with acceptance
    criteria quoting its items; deterministic."""
    async with runtime.db.reader() as session:
        story = await service.finding_user_story(session=session, finding_id=finding_id)
    return user_story_public(finding_id, story)


@router.get("/escalations", response_model=Page[EscalationPublic])
async def list_escalations(
    runtime: RuntimeDep,
    _: Reader,
    route: Route | None = None,
    status: EscalationStatus | None = None,
    product_id: Id = None,
    finding_id: Id = None,
    overdue: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[EscalationPublic]:
    """Escalations to the product manager (pm) or to sales, with their due time; `overdue`
    marks open ones past it."""
    now = runtime.clock()
    async with runtime.db.reader() as session:
        page = await service.list_escalations(
            session=session,
            route=route.value if route else None,
            status=status.value if status else None,
            product_id=product_id,
            finding_id=finding_id,
            overdue=overdue,
            limit=limit,
            cursor=cursor,
            now=now,
        )
    return page.map(lambda row: escalation_public(row, now))


@router.post(
    "/escalations/{escalation_id}/status",
    responses=MISSING_OR_CONFLICT,
    response_model=EscalationPublic,
)
async def change_escalation_status(
    escalation_id: str, body: EscalationStatusChange, runtime: RuntimeDep, _: Writer
) -> EscalationPublic:
    """Mark an escalation done (dealt with, no answer to keep); 409 once it is answered or
    done."""
    async with runtime.uow() as uow:
        row = await service.mark_escalation_done(
            uow=uow, escalation_id=escalation_id, note=body.note
        )
    return escalation_public(row, runtime.clock())


@router.post(
    "/escalations/{escalation_id}/forward",
    responses=MISSING_OR_CONFLICT,
    response_model=EscalationPublic,
)
async def forward_escalation(
    escalation_id: str, body: EscalationForward, runtime: RuntimeDep, actor: Writer
) -> EscalationPublic:
    """Hand an open escalation to sales: its route becomes `sales`, its status `forwarded`
    (still waiting for an answer, still due when it was); 409 unless it is open."""
    async with runtime.uow() as uow:
        row = await service.forward_escalation(
            uow=uow, escalation_id=escalation_id, note=body.note, actor=actor
        )
    return escalation_public(row, runtime.clock())
