"""`/v1/dead-letters` in every service: list what its consumer could not apply
(`source=consumer`, the default) or what its relay parked because the broker can never take
it (`source=outbox`); replay a letter through the same handler and inbox, or re-queue a
parked event; discard either with a reason. Admin only. Replay and discard take either kind
of id: a consumer letter's, or a parked event's (its CloudEvent id).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import ADMIN, Principal, require
from shared.dead_letters import (
    Status,
    as_record,
    count_dead_letters,
    get_dead_letter,
    list_dead_letters,
    record_failed_replay,
    resolve,
)
from shared.errors import Conflict, NotFound, field_error
from shared.events import Origin, check_origin, decode
from shared.inbox import DEAD_LETTERED_BEFORE, Handler, apply_event
from shared.openapi import MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from shared.parked import get_outbox_row, list_parked
from shared.relay import OutboxRelay
from shared.uow import UnitOfWork

router = APIRouter(prefix="/v1", tags=["dead letters"])
AdminDep = Annotated[Principal, Depends(require(ADMIN))]
Filter = Annotated[str | None, Query(min_length=1, max_length=255)]
LetterId = Annotated[str, Path(max_length=64)]


@dataclass(frozen=True)
class DeadLetterDesk:
    """What the routes work on: one service's database, its consumer group and handlers."""

    service: str
    handlers: Mapping[str, Handler]
    # Where each handled type may come from: a replay refuses what the consumer would.
    origins: Mapping[str, Origin]
    uow: Callable[[], UnitOfWork]
    reader: Callable[[], AsyncSession]
    handler_timeout_s: float
    relay: OutboxRelay

    async def counts(self) -> dict[str, dict[str, int]]:
        """Dead letters per consumer group and status (and the `/metrics` gauge set)."""
        async with self.reader() as session:
            return await count_dead_letters(session, service=self.service)


def get_desk(request: Request) -> DeadLetterDesk:
    desk: DeadLetterDesk = request.app.state.dead_letters
    return desk


DeskDep = Annotated[DeadLetterDesk, Depends(get_desk)]


class DeadLetterPublic(BaseModel):
    """A dead letter as an operator sees it."""

    # A record this service's consumer could not apply (parked outbox rows are "outbox").
    source: Literal["consumer"] = "consumer"
    id: str
    consumer: str
    event_id: str
    type: str | None
    topic: str
    partition: int
    offset: int
    key: str | None
    value: str
    value_encoding: Literal["utf-8", "base64"]
    headers: list[tuple[str, str]]
    error_type: str
    error_message: str
    attempts: int
    created_at: datetime
    status: Status
    resolved_at: datetime | None
    resolved_by: str | None
    reason: str | None

    @classmethod
    def of(cls, row: Any) -> DeadLetterPublic:
        value, encoding = _readable(row.value)
        fields = {name: getattr(row, name) for name in cls.model_fields if hasattr(row, name)}
        return cls(**{**fields, "value": value, "value_encoding": encoding})


class ParkedEventPublic(BaseModel):
    """An event of this service's outbox that the broker can never take, set aside by the
    relay: `open` while parked, `requeued` once an admin sent it back to the relay's queue,
    `discarded` for good."""

    source: Literal["outbox"] = "outbox"
    id: str
    seq: int = Field(description="its place in the outbox: the list is newest (highest) first")
    type: str
    topic: str
    key: str | None
    value: str
    error_message: str | None
    attempts: int
    created_at: datetime
    parked_at: datetime | None
    status: Literal["open", "requeued", "discarded"]
    resolved_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, row: Any) -> ParkedEventPublic:
        if row.discarded_at is not None:
            status: Literal["open", "requeued", "discarded"] = "discarded"
        else:
            status = "open" if row.parked_at is not None else "requeued"
        return cls(
            id=row.id,
            seq=row.seq,
            type=row.type,
            topic=row.topic,
            key=row.key,
            value=row.payload,
            error_message=row.last_error,
            attempts=row.attempts,
            created_at=row.created_at,
            parked_at=row.parked_at,
            status=status,
            resolved_at=row.discarded_at,
            reason=row.discard_reason,
        )


AnyLetter = Annotated[DeadLetterPublic | ParkedEventPublic, Field(discriminator="source")]


# What a replay did: the inbox's outcomes, or `skipped` for a type no handler takes now.
ReplayOutcome = Literal["handled", "duplicate", "stale", "skipped"]


class ReplayedDeadLetter(DeadLetterPublic):
    """A dead letter closed by a replay, with what the replay did."""

    outcome: ReplayOutcome = Field(
        description="handled; duplicate (the inbox had it); stale (a newer version was "
        "applied); skipped (no handler for the type any more)"
    )


class DiscardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


def _readable(value: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    try:
        return value.decode(), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(value).decode(), "base64"


@router.get("/dead-letters", response_model=Page[AnyLetter])
async def list_letters(
    desk: DeskDep,
    _: AdminDep,
    source: Annotated[
        Literal["consumer", "outbox"],
        Query(description="consumer: what the consumer dead-lettered; outbox: parked events"),
    ] = "consumer",
    event_type: Annotated[str | None, Query(alias="type", min_length=1, max_length=255)] = None,
    topic: Filter = None,
    consumer: Filter = None,
    error: Annotated[
        str | None, Query(min_length=1, max_length=200, description="part of the error")
    ] = None,
    status: Status | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AnyLetter]:
    """Dead letters, newest first, filtered by event type, topic, consumer group, status or
    a piece of the error (type or message, any case). `source=outbox` lists the events the
    relay parked instead (status open or discarded; no consumer group)."""
    if source == "outbox":
        return await _parked_page(desk, event_type, topic, consumer, error, status, limit, cursor)
    async with desk.reader() as session:
        page = await list_dead_letters(
            session,
            type=event_type,
            topic=topic,
            consumer=consumer,
            status=status,
            error=error,
            limit=limit,
            cursor=cursor,
        )
    return page.map(DeadLetterPublic.of)


async def _parked_page(
    desk: DeadLetterDesk,
    event_type: str | None,
    topic: str | None,
    consumer: str | None,
    error: str | None,
    status: Status | None,
    limit: int,
    cursor: str | None,
) -> Page[AnyLetter]:
    if consumer is not None:
        raise field_error("consumer", "parked outbox events have no consumer group", where="query")
    if status is Status.REPLAYED:
        raise field_error("status", "a parked event is open or discarded", where="query")
    discarded = None if status is None else status is Status.DISCARDED
    async with desk.reader() as session:
        page = await list_parked(
            session,
            type=event_type,
            topic=topic,
            error=error,
            discarded=discarded,
            limit=limit,
            cursor=cursor,
        )
    return page.map(ParkedEventPublic.of)


@router.post(
    "/dead-letters/{letter_id}/replay",
    responses=MISSING_OR_CONFLICT,
    response_model=ReplayedDeadLetter | ParkedEventPublic,
)
async def replay_letter(
    letter_id: LetterId, desk: DeskDep, principal: AdminDep
) -> ReplayedDeadLetter | ParkedEventPublic:
    """Apply the event again through its handler and the inbox. Success closes the letter as
    replayed; a failure keeps it open with the new error and answers 409 with that error.
    For a parked outbox event: send it back to the relay's queue (`requeued`)."""
    if not await _is_letter(desk, letter_id):
        await _parked_row(desk, letter_id)
        if not await desk.relay.retry_parked(letter_id):
            raise Conflict(f"outbox event {letter_id} is no longer parked")
        return await _parked_now(desk, letter_id)
    row = await _open_letter(desk, letter_id)
    try:
        outcome = await _apply(desk, row)
    except Exception as exc:
        async with desk.uow() as uow:
            await record_failed_replay(uow.session, letter_id=letter_id, error=exc)
        await desk.counts()
        raise Conflict(
            f"the replay failed: {type(exc).__name__}: {exc}"[:2000],
            error_type=type(exc).__name__,
        ) from exc
    closed = await _close(desk, letter_id, Status.REPLAYED, by=principal.subject, reason=None)
    return ReplayedDeadLetter(**closed.model_dump(), outcome=outcome)


@router.post(
    "/dead-letters/{letter_id}/discard", responses=MISSING_OR_CONFLICT, response_model=AnyLetter
)
async def discard_letter(
    letter_id: LetterId, body: DiscardIn, desk: DeskDep, principal: AdminDep
) -> DeadLetterPublic | ParkedEventPublic:
    """Close the letter without applying its event, or give up on a parked outbox event for
    good; the reason is kept with it."""
    if not await _is_letter(desk, letter_id):
        await _parked_row(desk, letter_id)
        if not await desk.relay.discard_parked(letter_id, body.reason):
            raise Conflict(f"outbox event {letter_id} is no longer parked")
        return await _parked_now(desk, letter_id)
    await _open_letter(desk, letter_id)
    return await _close(desk, letter_id, Status.DISCARDED, by=principal.subject, reason=body.reason)


async def _is_letter(desk: DeadLetterDesk, letter_id: str) -> bool:
    async with desk.reader() as session:
        return await get_dead_letter(session, letter_id=letter_id) is not None


async def _parked_row(desk: DeadLetterDesk, event_id: str) -> Any:
    """The open parked outbox row of an id that is no consumer letter: 404 if there is no
    such event, 409 if it is not parked (sent, queued, or discarded already)."""
    async with desk.reader() as session:
        row = await get_outbox_row(session, event_id=event_id)
    if row is None:
        raise NotFound(f"no dead letter or parked event {event_id}")
    if row.discarded_at is not None:
        raise Conflict(f"outbox event {event_id} is already discarded", current="discarded")
    if row.parked_at is None:
        raise Conflict(f"outbox event {event_id} is not parked", current="queued or sent")
    return row


async def _parked_now(desk: DeadLetterDesk, event_id: str) -> ParkedEventPublic:
    async with desk.reader() as session:
        return ParkedEventPublic.of(await get_outbox_row(session, event_id=event_id))


async def _open_letter(desk: DeadLetterDesk, letter_id: str) -> Any:
    async with desk.reader() as session:
        row = await get_dead_letter(session, letter_id=letter_id)
    if row is None:
        raise NotFound(f"no dead letter {letter_id}")
    if row.status != Status.OPEN:
        raise Conflict(f"dead letter {letter_id} is already {row.status}", current=row.status)
    return row


async def _apply(desk: DeadLetterDesk, row: Any) -> ReplayOutcome:
    """What the consumer would do with the record now, in one attempt."""
    event = decode(row.value)
    handler = desk.handlers.get(event.type)
    if handler is None:
        return "skipped"  # as the consumer does with a type it does not handle
    check_origin(event, topic=row.topic, expected=desk.origins[event.type])
    async with asyncio.timeout(desk.handler_timeout_s):
        outcome = await apply_event(
            desk.uow,
            consumer=row.consumer,
            record=as_record(row),
            event=event,
            handler=handler,
            replaying=True,
        )
    # A replay skips the "dead-lettered before" check, so that outcome never comes back.
    assert outcome != DEAD_LETTERED_BEFORE
    return outcome


async def _close(
    desk: DeadLetterDesk, letter_id: str, status: Status, *, by: str, reason: str | None
) -> DeadLetterPublic:
    async with desk.uow() as uow:
        closed = await resolve(
            uow.session,
            letter_id=letter_id,
            status=status,
            by=by,
            reason=reason,
            now=uow.clock(),
        )
    if not closed:
        raise Conflict(f"dead letter {letter_id} was closed meanwhile")
    await desk.counts()
    async with desk.reader() as session:
        return DeadLetterPublic.of(await get_dead_letter(session, letter_id=letter_id))
