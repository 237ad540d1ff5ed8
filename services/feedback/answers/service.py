"""Answering use cases: answer an escalation or a question finding (one transaction each,
the answer's event in the outbox), and a product's known questions and answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.feedback.answers.domain import Answer, SourceKind, check_answerable, give_answer
from services.feedback.events import feedback_event
from services.feedback.findings.service import locked_escalation, save_escalation
from services.feedback.tables import answer, feedback_item, finding
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

# A source's answers shown at most: a history, not an archive.
HISTORY_LIMIT = 100
# Newest first; the id breaks ties of one instant.
ANSWERS = Keyset(answer.c.answered_at.desc(), answer.c.id.desc())


async def answer_escalation(
    *, uow: UnitOfWork, escalation_id: str, text: str, actor: Principal
) -> Answer:
    """Answer an escalation (open, forwarded, or answered before: the new answer replaces
    the old); 404 if unknown, 409 once it is done without an answer."""
    current = await locked_escalation(uow=uow, escalation_id=escalation_id)
    answered = current.answered(now=uow.clock())
    await save_escalation(uow=uow, changed=answered)
    asked = await _escalation_question(
        uow.session, event_seq=current.event_seq, finding_id=current.finding_id
    )
    return await _record(
        uow,
        product_id=current.product_id,
        source_kind=SourceKind.ESCALATION,
        source_id=current.id,
        question=asked or current.reason,
        text=text,
        actor=actor,
    )


async def answer_finding(
    *, uow: UnitOfWork, finding_id: str, text: str, actor: Principal
) -> Answer:
    """Answer a question finding (its representative quote is the question); 404 if
    unknown, 409 for a finding of another kind. Its status is left as it is: new items
    asking the same keep joining it, and a person resolves it when they see fit."""
    # Locked: two answers at once must not both supersede the same current one.
    row = (
        await uow.session.execute(
            select(
                finding.c.id, finding.c.product_id, finding.c.kind, finding.c.representative_quote
            )
            .where(finding.c.id == finding_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound(f"no finding with id {finding_id!r}")
    check_answerable(finding_id=row.id, kind=row.kind)
    return await _record(
        uow,
        product_id=row.product_id,
        source_kind=SourceKind.FINDING,
        source_id=row.id,
        question=row.representative_quote,
        text=text,
        actor=actor,
    )


async def _record(
    uow: UnitOfWork,
    *,
    product_id: str | None,
    source_kind: SourceKind,
    source_id: str,
    question: str,
    text: str,
    actor: Principal,
) -> Answer:
    session = uow.session
    stored = (
        await session.execute(
            select(answer)
            .where(answer.c.source_kind == source_kind.value)
            .where(answer.c.source_id == source_id)
            .where(answer.c.superseded_at.is_(None))
        )
    ).first()
    given, superseded = give_answer(
        answer_id=str(uuid7()),
        product_id=product_id,
        source_kind=source_kind,
        source_id=source_id,
        question=question,
        text=text,
        by=actor.owner,
        now=uow.clock(),
        current=Answer.from_row(stored) if stored is not None else None,
    )
    if superseded is not None:
        await session.execute(
            update(answer)
            .where(answer.c.id == superseded.id)
            .values(superseded_at=superseded.superseded_at)
        )
    await session.execute(insert(answer).values(**given.row()))
    uow.publish(feedback_event(given.event(), subject=given.product_id))
    return given


async def _escalation_question(
    session: AsyncSession, *, event_seq: int | None, finding_id: str | None
) -> str | None:
    """What the customer asked: the text of the event that raised the escalation, else its
    finding's representative quote (a critical defect's escalation names no event)."""
    if event_seq is not None:
        quote = await session.scalar(
            select(feedback_item.c.quote).where(feedback_item.c.event_seq == event_seq)
        )
        if quote:
            return str(quote)
    if finding_id is not None:
        quote = await session.scalar(
            select(finding.c.representative_quote).where(finding.c.id == finding_id)
        )
        if quote:
            return str(quote)
    return None


async def known_answers(
    *, session: AsyncSession, product_id: str, limit: int, cursor: str | None
) -> Page[Row[Any]]:
    """A product's current answers, newest first, one keyset page (none for a product this
    service has no answer about: feedback does not own the product list)."""
    stmt = (
        select(answer)
        .where(answer.c.product_id == product_id)
        .where(answer.c.superseded_at.is_(None))
    )
    return await ANSWERS.page(session, stmt, limit=limit, cursor=cursor)


async def answer_history(
    *, session: AsyncSession, source_kind: SourceKind, source_id: str
) -> list[Answer]:
    """The answers given to one escalation or finding, newest first (the last
    `HISTORY_LIMIT`)."""
    rows = (
        await session.execute(
            select(answer)
            .where(answer.c.source_kind == source_kind.value)
            .where(answer.c.source_id == source_id)
            .order_by(answer.c.answered_at.desc(), answer.c.id.desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    return [Answer.from_row(row) for row in rows]
