"""Ingestion routes: storefront customer events in, where each stands, and search misses."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, status

from services.feedback.ingest import search_misses
from services.feedback.ingest import service as ingestion
from services.feedback.ingest.backlog import BacklogDep
from services.feedback.ingest.intake import (
    EVENT_SCHEMA,
    MAX_EVENTS,
    SALES_KINDS,
    SALES_SCOPE,
    Limits,
)
from services.feedback.ingest.schemas import (
    CustomerEventPublic,
    IngestionStatsPublic,
    IngestResponse,
    MinuteCount,
    SearchMissPublic,
    customer_event_public,
    ingest_request_schema,
    rejected_public,
    search_miss_public,
)
from services.feedback.ingest.writer import WriterDep
from services.feedback.metrics import EVENTS_INGESTED
from services.feedback.surveys.service import surveys_named
from services.feedback.triage.worker import WorkerDep
from shared.app import RuntimeDep
from shared.auth import ADMIN, Principal, require
from shared.errors import FieldError, Forbidden, PayloadTooLarge, field_error, invalid_input
from shared.openapi import MISSING, problems
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["feedback"])

Ingester = Annotated[Principal, Depends(require("feedback:ingest"))]
Reader = Annotated[Principal, Depends(require("feedback:read"))]
DEFAULT_STATS_MINUTES = 15
MAX_STATS_MINUTES = 60


def parse_batch(body: bytes) -> list[Any]:
    """The `events` of `{"events": [...]}`; 422 for another shape, 413 past the batch cap.

    Only the envelope is checked here: each event is validated on its own afterwards.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid_input(
            [FieldError((), "invalid JSON")], detail=f"the body is not valid JSON: {exc}"
        ) from None
    if not isinstance(data, dict) or set(data) != {"events"}:
        raise invalid_input(
            [FieldError((), 'expected {"events": [...]}')],
            detail='the body must be an object with one field, "events": [...]',
        )
    events = data["events"]
    if not isinstance(events, list) or not events:
        raise field_error(
            "events", "must be a non-empty list", detail="events must be a non-empty list"
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
    # The body is read by hand (each event validated on its own), so its problems are named.
    responses=problems(413, 415, 422),
    openapi_extra={"requestBody": ingest_request_schema(EVENT_SCHEMA)},
)
async def ingest_customer_events(
    request: Request,
    runtime: RuntimeDep,
    worker: WorkerDep,
    backlog: BacklogDep,
    writer: WriterDep,
    caller: Ingester,
) -> IngestResponse:
    """Accept a batch of up to 1,000 storefront events. Each is validated on its own: good
    ones are accepted, bad ones reported by index; replayed `event_id`s (unique per source,
    the key's owner) count as duplicates and change nothing. Purchases and returns need the
    scope feedback:ingest-sales (403 otherwise); an event naming a product the catalog has
    not named is held, not published, until it does. A `survey_response` naming a survey
    is checked against it (unknown or closed survey, unknown question, wrong answer:
    that event is rejected). 202 once the accepted ones are stored;
    429 with `Retry-After` while the triage queue or the outbox is over its bound."""
    await backlog.admit(runtime)
    body = await request.body()
    events = parse_batch(body)
    check_sales_scope(events, caller)
    surveys, known = {}, ingestion.KnownTypes()
    if named := surveys_in(events):
        # One query for the batch: each response is then checked against its survey (and
        # one more for the types of the products named in answer to product-type surveys).
        async with runtime.db.reader() as session:
            surveys = await surveys_named(session=session, ids=named)
            by_type = {survey.id for survey in surveys.values() if survey.product_type}
            if by_type:
                ids, skus = products_answering(events, by_type)
                known = await ingestion.known_types(session=session, product_ids=ids, skus=skus)
    # Validation and row building first: the transaction (SQLite's one writer) only inserts.
    batch = ingestion.prepare(
        events=events,
        principal=caller,
        now=runtime.clock(),
        limits=Limits.of(runtime.settings),
        body=body,
        surveys=surveys,
        known=known,
    )
    result = await writer.store(batch)
    if result.accepted:
        runtime.relay.notify()
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


# Before `/customer-events/{event_id}`, which would take "stats" for an id.
@router.get("/customer-events/stats", response_model=IngestionStatsPublic)
async def ingestion_stats(
    runtime: RuntimeDep,
    _: Reader,
    minutes: Annotated[int, Query(ge=1, le=MAX_STATS_MINUTES)] = DEFAULT_STATS_MINUTES,
) -> IngestionStatsPublic:
    """How many customer events were stored in each of the last `minutes` minutes, and how
    many are held for the catalog or expired."""
    async with runtime.db.reader() as session:
        counted = await ingestion.ingested_per_minute(
            session=session, minutes=minutes, now=runtime.clock()
        )
        statuses = await ingestion.status_counts(session=session)
    total = sum(count for _, count in counted)
    return IngestionStatsPublic(
        minutes=minutes,
        per_minute=[MinuteCount(start=start, events=count) for start, count in counted],
        total=total,
        per_second=round(total / (minutes * 60), 3),
        held=statuses["held"],
        expired=statuses["expired"],
    )


@router.get("/customer-events/{event_id}", responses=MISSING, response_model=CustomerEventPublic)
async def get_customer_event(
    event_id: str,
    runtime: RuntimeDep,
    caller: Reader,
    source: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
) -> CustomerEventPublic:
    """One event the caller's source (its key's owner) sent, and its state: held for the
    catalog, pending triage, done. Only an admin names another `source`."""
    if source is not None and source != caller.owner and ADMIN not in caller.scopes:
        raise Forbidden(
            "only an admin reads another source's customer events", required_scope=ADMIN
        )
    async with runtime.db.reader() as session:
        row = await ingestion.get_customer_event(
            session=session, source=source or caller.owner, event_id=event_id
        )
    return customer_event_public(row)


def surveys_in(events: list[Any]) -> set[str]:
    """The survey ids the batch's survey responses name (as sent: the ids are checked with
    the rest of each event)."""
    return {
        survey_id
        for event in events
        if isinstance(event, dict)
        and event.get("kind") == "survey_response"
        and isinstance(survey_id := event.get("survey_id"), str)
        and len(survey_id) <= 36
    }


def products_answering(events: list[Any], surveys: set[str]) -> tuple[set[str], set[str]]:
    """The product ids and skus the batch's responses to `surveys` name (as sent: each
    event is validated afterwards)."""
    ids: set[str] = set()
    skus: set[str] = set()
    for event in events:
        # Any JSON may stand in `survey_id` here (a list is not hashable): only a text is one.
        survey_id = event.get("survey_id") if isinstance(event, dict) else None
        if isinstance(survey_id, str) and survey_id in surveys:
            if isinstance(product_id := event.get("product_id"), str):
                ids.add(product_id[:64])
            if isinstance(sku := event.get("sku"), str):
                skus.add(sku[:64])
    return ids, skus


def check_sales_scope(events: list[Any], caller: Principal) -> None:
    """403 for a batch holding purchases or returns from a key without the sales scope:
    they become pricing's sales figures, which a review-only key must not write."""
    if caller.has(SALES_SCOPE):
        return
    sales = [
        index
        for index, event in enumerate(events)
        if isinstance(event, dict) and event.get("kind") in SALES_KINDS
    ]
    if sales:
        raise Forbidden(
            f"purchases and returns need the scope {SALES_SCOPE} (events {sales[:20]})",
            required_scope=SALES_SCOPE,
            indexes=sales,
        )


@router.get("/search-misses", response_model=Page[SearchMissPublic])
async def list_search_misses(
    runtime: RuntimeDep, _: Reader, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[SearchMissPublic]:
    """Searches that found nothing, grouped by normalised query, most frequent first."""
    async with runtime.db.reader() as session:
        page = await search_misses.list_search_misses(session=session, limit=limit, cursor=cursor)
    return page.map(search_miss_public)
