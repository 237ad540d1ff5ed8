"""The feedback service's HTTP routes: parse, call a use case, shape the response."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.feedback import ingestion, service
from services.feedback.domain import EscalationStatus, Route, Status
from services.feedback.intake import EVENT_SCHEMA, MAX_EVENTS
from services.feedback.metrics import EVENTS_INGESTED
from services.feedback.schemas import (
    CustomerEventPublic,
    EscalationPublic,
    EscalationStatusChange,
    FeedbackItemPublic,
    FindingPublic,
    FindingStatusChange,
    IngestResponse,
    SearchMissPublic,
    UserStoryPublic,
    customer_event_public,
    escalation_public,
    feedback_item_public,
    finding_public,
    ingest_request_schema,
    rejected_public,
    search_miss_public,
    user_story_public,
)
from services.feedback.triage import Category, Severity
from services.feedback.worker import TriageWorker
from shared.app import RuntimeDep
from shared.auth import require
from shared.concurrency import IfMatch, etag
from shared.errors import Invalid, PayloadTooLarge
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["feedback"])

Ingester = require("feedback:ingest")
Reader = require("feedback:read")
Writer = require("feedback:write")
Id = Annotated[str | None, Query(max_length=128)]


async def _worker(request: Request) -> TriageWorker:
    return request.app.state.feedback_worker


WorkerDep = Annotated[TriageWorker, Depends(_worker)]


def parse_batch(body: bytes) -> list[Any]:
    """The `events` of `{"events": [...]}`; 422 for another shape, 413 past the batch cap.

    Only the envelope is checked here: each event is validated on its own afterwards.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Invalid(
            f"the body is not valid JSON: {exc}",
            errors=[{"loc": ["body"], "msg": "invalid JSON"}],
        ) from None
    if not isinstance(data, dict) or set(data) != {"events"}:
        raise Invalid(
            'the body must be an object with one field, "events": [...]',
            errors=[{"loc": ["body"], "msg": 'expected {"events": [...]}'}],
        )
    events = data["events"]
    if not isinstance(events, list) or not events:
        raise Invalid(
            "events must be a non-empty list",
            errors=[{"loc": ["body", "events"], "msg": "must be a non-empty list"}],
        )
    if len(events) > MAX_EVENTS:
        # 413, like a body over the byte cap: the request is too large to take in one go,
        # and the remedy is the same (split it); nothing in it was looked at.
        raise PayloadTooLarge(
            f"a batch holds at most {MAX_EVENTS} events, this one {len(events)}: split it",
            max_events=MAX_EVENTS,
        )
    return events


@router.post(
    "/customer-events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IngestResponse,
    openapi_extra={"requestBody": ingest_request_schema(EVENT_SCHEMA)},
)
async def ingest_customer_events(
    request: Request, runtime: RuntimeDep, worker: WorkerDep, caller: Ingester
) -> IngestResponse:
    """Accept a batch of up to 1,000 storefront events. Each is validated on its own: good
    ones are accepted, bad ones reported by index; replayed `event_id`s (unique across all
    clients) count as duplicates and change nothing. 202 once the accepted ones are stored."""
    body = await request.body()
    events = parse_batch(body)
    # Validation and row building first: the transaction (SQLite's one writer) only inserts.
    batch = ingestion.prepare(events=events, principal=caller, now=runtime.clock(), body=body)
    async with runtime.uow() as uow:
        result = await ingestion.store(uow=uow, batch=batch)
    if result.accepted:
        worker.notify()
    service_name = runtime.spec.name
    EVENTS_INGESTED.labels(service_name, "accepted").inc(result.accepted)
    EVENTS_INGESTED.labels(service_name, "duplicate").inc(result.duplicates)
    EVENTS_INGESTED.labels(service_name, "rejected").inc(len(result.rejected))
    return IngestResponse(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=rejected_public(result.rejected),
    )


@router.get("/customer-events/{event_id}", response_model=CustomerEventPublic)
async def get_customer_event(event_id: str, runtime: RuntimeDep, _: Reader) -> CustomerEventPublic:
    """One accepted event and its state: waiting for the catalog, pending triage, done."""
    async with runtime.db.reader() as session:
        row = await service.get_customer_event(session=session, event_id=event_id)
    return customer_event_public(row)


@router.get("/feedback", response_model=Page[FeedbackItemPublic])
async def list_feedback(
    runtime: RuntimeDep,
    _: Reader,
    product_id: Id = None,
    category: Category | None = None,
    finding_id: Id = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[FeedbackItemPublic]:
    """Triaged items: category, severity and sentiment of each text customers sent."""
    async with runtime.db.reader() as session:
        rows, next_cursor = await service.list_feedback(
            session=session,
            product_id=product_id,
            category=category.value if category else None,
            finding_id=finding_id,
            limit=limit,
            cursor=cursor,
        )
    return Page(items=[feedback_item_public(row) for row in rows], next_cursor=next_cursor)


@router.get("/findings", response_model=Page[FindingPublic])
async def list_findings(
    runtime: RuntimeDep,
    _: Reader,
    product_id: Id = None,
    kind: Category | None = None,
    status: Status | None = None,
    severity: Severity | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[FindingPublic]:
    """Findings (similar feedback about one product, grouped), with their trend."""
    async with runtime.db.reader() as session:
        rows, next_cursor = await service.list_findings(
            session=session,
            product_id=product_id,
            kind=kind.value if kind else None,
            status=status.value if status else None,
            severity=severity.value if severity else None,
            limit=limit,
            cursor=cursor,
        )
        trends = await service.trends(
            session=session, finding_ids=[row.id for row in rows], now=runtime.clock()
        )
    return Page(
        items=[finding_public(row, trends[row.id]) for row in rows], next_cursor=next_cursor
    )


@router.get("/findings/{finding_id}", response_model=FindingPublic)
async def get_finding(
    finding_id: str, runtime: RuntimeDep, _: Reader, response: Response
) -> FindingPublic:
    """One finding; the ETag is its version, for `If-Match` on status changes."""
    async with runtime.db.reader() as session:
        row = await service.get_finding(session=session, finding_id=finding_id)
        trends = await service.trends(session=session, finding_ids=[row.id], now=runtime.clock())
    response.headers["ETag"] = etag(row.version)
    return finding_public(row, trends[row.id])


@router.post("/findings/{finding_id}/status", response_model=FindingPublic)
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


@router.get("/findings/{finding_id}/user-story", response_model=UserStoryPublic)
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
        rows, next_cursor = await service.list_escalations(
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
    return Page(items=[escalation_public(row, now) for row in rows], next_cursor=next_cursor)


@router.post("/escalations/{escalation_id}/status", response_model=EscalationPublic)
async def change_escalation_status(
    escalation_id: str, body: EscalationStatusChange, runtime: RuntimeDep, _: Writer
) -> EscalationPublic:
    """Mark an escalation done; 409 if it already is."""
    async with runtime.uow() as uow:
        row = await service.mark_escalation_done(
            uow=uow, escalation_id=escalation_id, note=body.note
        )
    return escalation_public(row, runtime.clock())


@router.get("/search-misses", response_model=Page[SearchMissPublic])
async def list_search_misses(
    runtime: RuntimeDep, _: Reader, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[SearchMissPublic]:
    """Searches that found nothing, grouped by normalised query, most frequent first."""
    async with runtime.db.reader() as session:
        rows, next_cursor = await service.list_search_misses(
            session=session, limit=limit, cursor=cursor
        )
    return Page(items=[search_miss_public(row) for row in rows], next_cursor=next_cursor)
