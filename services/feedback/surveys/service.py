"""Survey use cases: define, list, read and close surveys; read the ones a batch of
responses names (one query a batch); and tally a survey's results.

Responses are customer events (kind `survey_response`, `ingest.intake`), checked against
their survey at ingestion (`ingest.service.prepare`) and triaged like reviews.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.feedback.events import (
    SurveyClosed,
    SurveyCreated,
    SurveyQuestion,
    feedback_event,
    survey_subject,
)
from services.feedback.surveys.domain import (
    Question,
    QuestionType,
    Response,
    Results,
    Survey,
    SurveyStatus,
    close,
    results,
)
from services.feedback.surveys.schemas import FreeTextAnswer, SurveyCreate, TriageReading
from services.feedback.tables import customer_event, feedback_item, survey, survey_reading
from services.feedback.triage.labels import Category, Severity, TriageResult
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

# Newest first: ids are UUIDv7, in creation order.
SURVEYS = Keyset(survey.c.id.desc())
MAX_FREE_TEXT_SHOWN = 100


async def create_survey(*, uow: UnitOfWork, data: SurveyCreate, actor: Principal) -> Row[Any]:
    """Store a survey (open) and publish `feedback.survey.created.v1`."""
    now = uow.clock()
    questions = [q.to_domain().as_dict() for q in data.questions]
    survey_id = str(uuid7())
    row = {
        "id": survey_id,
        "title": data.title,
        "product_id": data.product_id,
        "product_type": data.product_type,
        "questions": questions,
        "status": SurveyStatus.OPEN.value,
        "created_by": actor.subject,
        "created_at": now,
    }
    await uow.session.execute(insert(survey).values(**row))
    created = SurveyCreated(
        survey_id=survey_id,
        title=data.title,
        product_id=data.product_id,
        product_type=data.product_type,
        questions=[SurveyQuestion(**q) for q in questions],
        created_by=actor.subject,
        created_at=now,
    )
    uow.publish(feedback_event(created, subject=survey_subject(data.product_id, data.product_type)))
    return await get_survey(session=uow.session, survey_id=survey_id)


async def get_survey(*, session: AsyncSession, survey_id: str) -> Row[Any]:
    """One survey; 404 if there is none with this id."""
    row = (await session.execute(select(survey).where(survey.c.id == survey_id))).first()
    if row is None:
        raise NotFound(f"no survey with id {survey_id!r}")
    return row


async def list_surveys(
    *,
    session: AsyncSession,
    status: SurveyStatus | None = None,
    product_id: str | None = None,
    product_type: str | None = None,
    limit: int,
    cursor: str | None,
) -> Page[Row[Any]]:
    """Surveys, newest first, optionally only those in `status` or about one product or
    product type."""
    stmt = select(survey)
    if status is not None:
        stmt = stmt.where(survey.c.status == status.value)
    if product_id is not None:
        stmt = stmt.where(survey.c.product_id == product_id)
    if product_type is not None:
        stmt = stmt.where(survey.c.product_type == product_type)
    return await SURVEYS.page(session, stmt, limit=limit, cursor=cursor)


async def close_survey(*, uow: UnitOfWork, survey_id: str, actor: Principal) -> Row[Any]:
    """Close a survey (409 if it is closed already): later responses to it are rejected.
    Publishes `feedback.survey.closed.v1` with how many responses it took."""
    row = (
        await uow.session.execute(select(survey).where(survey.c.id == survey_id).with_for_update())
    ).first()
    if row is None:
        raise NotFound(f"no survey with id {survey_id!r}")
    status = close(SurveyStatus(row.status))
    now = uow.clock()
    await uow.session.execute(
        update(survey)
        .where(survey.c.id == survey_id)
        .values(status=status.value, closed_by=actor.subject, closed_at=now)
    )
    responses = await uow.session.scalar(
        select(func.count()).where(customer_event.c.survey_id == survey_id)
    )
    closed = SurveyClosed(
        survey_id=survey_id,
        product_id=row.product_id,
        product_type=row.product_type,
        responses=responses or 0,
        closed_by=actor.subject,
        closed_at=now,
    )
    uow.publish(feedback_event(closed, subject=survey_subject(row.product_id, row.product_type)))
    return await get_survey(session=uow.session, survey_id=survey_id)


async def record_readings(
    *, uow: UnitOfWork, rows: Sequence[Any], results: Mapping[int, TriageResult], now: datetime
) -> None:
    """Keep triage's reading of survey responses that name no product (batch rows, with the
    model's results by the event's `seq`): they join no finding, but their survey shows it."""
    await uow.session.execute(
        insert(survey_reading),
        [
            {
                "event_seq": row.seq,
                "category": Category(result.category).value,
                "severity": Severity(result.severity).value,
                "sentiment": max(-1.0, min(1.0, float(result.sentiment))),
                "topic": result.topic[:200],
                "triaged_at": now,
            }
            for row in rows
            for result in (results[row.seq],)
        ],
    )


def survey_of(row: Any) -> Survey:
    return Survey(
        id=row.id,
        questions=tuple(Question.of(q) for q in row.questions),
        status=SurveyStatus(row.status),
        product_id=row.product_id,
        product_type=row.product_type,
    )


async def surveys_named(*, session: AsyncSession, ids: Collection[str]) -> dict[str, Survey]:
    """The surveys among `ids`, by id: what a batch's responses are checked against, read in
    one query for the whole batch."""
    if not ids:
        return {}
    rows = await session.execute(select(survey).where(survey.c.id.in_(list(ids))))
    return {row.id: survey_of(row) for row in rows.all()}


# The results are tallied from every response's answers, read in one pass over the survey's
# index: about 0.1 s of CPU for 20,000 responses (tests/perf/bench_surveys.py).
async def survey_results(
    *, session: AsyncSession, survey_id: str
) -> tuple[Row[Any], Results, list[FreeTextAnswer]]:
    """A survey, its tallied results and its latest free-text responses with their triage."""
    row = await get_survey(session=session, survey_id=survey_id)
    questions = [Question.of(q) for q in row.questions]
    answered = await session.execute(
        select(customer_event.c.answers, customer_event.c.segment).where(
            customer_event.c.survey_id == survey_id
        )
    )
    tallied = results(
        questions, [Response(answers=r.answers or {}, segment=r.segment) for r in answered]
    )
    return row, tallied, await _free_text(session, survey_id, questions)


async def _free_text(
    session: AsyncSession, survey_id: str, questions: list[Question]
) -> list[FreeTextAnswer]:
    free = [q.key for q in questions if q.type is QuestionType.FREE_TEXT]
    events = customer_event.c
    rows = await session.execute(
        select(
            events.event_id,
            events.segment,
            events.answers,
            events.text,
            func.coalesce(feedback_item.c.category, survey_reading.c.category).label("category"),
            func.coalesce(feedback_item.c.severity, survey_reading.c.severity).label("severity"),
            func.coalesce(feedback_item.c.sentiment, survey_reading.c.sentiment).label("sentiment"),
            feedback_item.c.finding_id,
        )
        .outerjoin(feedback_item, feedback_item.c.event_seq == events.seq)
        .outerjoin(survey_reading, survey_reading.c.event_seq == events.seq)
        .where(events.survey_id == survey_id, events.text.is_not(None))
        .order_by(events.seq.desc())
        .limit(MAX_FREE_TEXT_SHOWN)
    )
    shown = []
    for r in rows.all():
        answers = r.answers or {}
        reading = None
        if r.category is not None:
            reading = TriageReading(
                category=r.category,
                severity=r.severity,
                sentiment=r.sentiment,
                finding_id=r.finding_id,
            )
        shown.append(
            FreeTextAnswer(
                event_id=r.event_id,
                segment=r.segment,
                answers={k: answers[k] for k in free if isinstance(answers.get(k), str)},
                text=r.text,
                triage=reading,
            )
        )
    return shown
