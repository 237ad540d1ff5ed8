"""Questionnaire use cases: templates, vendor responses, the product view and promotion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.catalog.notices import CoreNotices
from services.catalog.questionnaires.domain import (
    FieldError,
    Json,
    Question,
    ResponseStatus,
    check_answers,
    check_questions,
    check_respondent,
    completion,
    json_equal,
    merge_answers,
    missing_required,
    next_status,
    promotion_attribute,
    respondent,
)
from services.catalog.questionnaires.events import (
    CompletionData,
    QuestionnaireCreated,
    ResponseData,
    ResponseSubmitted,
    ResponseUpdated,
    questionnaire_created,
    response_event,
)
from services.catalog.questionnaires.schemas import (
    QuestionnaireCreate,
    ResponseCreate,
    ResponseUpdate,
    question_data,
    question_of,
)
from services.catalog.questionnaires.tables import questionnaire, questionnaire_response
from services.catalog.schemas import ProductUpdate
from services.catalog.service import get_product, update_product
from services.catalog.tables import product, product_type
from shared.auth import Principal
from shared.concurrency import check_version
from shared.errors import Conflict, NotFound, invalid_input
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

QUESTIONNAIRES = Keyset(questionnaire.c.id)
RESPONSES = Keyset(questionnaire_response.c.id)


# --- templates ---------------------------------------------------------------------------------


async def create_questionnaire(
    *, uow: UnitOfWork, data: QuestionnaireCreate, actor: Principal
) -> Row[Any]:
    """Create a template; 422 for bad questions or an unknown product type."""
    questions = [item.to_domain() for item in data.questions]
    errors = check_questions(questions)
    if data.product_type is not None:
        known = await uow.session.scalar(
            select(product_type.c.code).where(product_type.c.code == data.product_type)
        )
        if known is None:
            errors.insert(0, FieldError(("product_type",), "unknown product type"))
    if errors:
        raise invalid_input(errors, what="questionnaire")
    values = {
        "id": str(uuid7()),
        "title": data.title,
        "product_type": data.product_type,
        "questions": [question_data(q) for q in questions],
        "created_at": uow.clock(),
        "created_by": actor.subject,
        "created_by_name": actor.name,
    }
    row = (
        await uow.session.execute(insert(questionnaire).values(values).returning(*questionnaire.c))
    ).one()
    payload = QuestionnaireCreated(
        questionnaire_id=row.id,
        title=row.title,
        product_type=row.product_type,
        questions=row.questions,
        created_at=row.created_at,
    )
    uow.publish(questionnaire_created(payload))
    return row


async def get_questionnaire(
    *, session: AsyncSession, questionnaire_id: str
) -> tuple[Row[Any], list[Question]]:
    """One template and its questions; 404 if unknown."""
    row = (
        await session.execute(select(questionnaire).where(questionnaire.c.id == questionnaire_id))
    ).first()
    if row is None:
        raise NotFound(f"no questionnaire with id {questionnaire_id!r}")
    return row, [question_of(q) for q in row.questions]


async def list_questionnaires(
    *, session: AsyncSession, product_type: str | None, limit: int, cursor: str | None
) -> Page[Row[Any]]:
    """Templates in creation order, optionally for one product type, one keyset page."""
    stmt = select(questionnaire)
    if product_type is not None:
        stmt = stmt.where(questionnaire.c.product_type == product_type)
    return await QUESTIONNAIRES.page(session, stmt, limit=limit, cursor=cursor)


# --- responses ---------------------------------------------------------------------------------


async def submit_response(
    *, uow: UnitOfWork, questionnaire_id: str, data: ResponseCreate, actor: Principal
) -> tuple[Row[Any], list[Question]]:
    """Record a vendor's response about a product; 403 for another vendor than the caller
    (unless admin), 422 per wrong answer, 409 if one exists."""
    vendor = respondent(data.vendor, actor)
    template, questions = await get_questionnaire(
        session=uow.session, questionnaire_id=questionnaire_id
    )
    errors: list[FieldError] = []
    target = (
        await uow.session.execute(
            select(product.c.id, product.c.product_type).where(product.c.id == data.product_id)
        )
    ).first()
    if target is None:
        errors.append(FieldError(("product_id",), f"no product with id {data.product_id!r}"))
    elif template.product_type is not None and target.product_type != template.product_type:
        errors.append(
            FieldError(
                ("product_id",),
                f"the questionnaire is for {template.product_type!r} products; "
                f"this product is a {target.product_type!r}",
            )
        )
    answers, answer_errors = check_answers(questions, data.answers)
    errors += answer_errors
    if data.status is ResponseStatus.SUBMITTED:
        errors += _unanswered(questions, answers, answer_errors)
    if errors:
        raise invalid_input(errors, what="response")
    existing = await uow.session.scalar(
        select(questionnaire_response.c.id).where(
            questionnaire_response.c.questionnaire_id == questionnaire_id,
            questionnaire_response.c.vendor == vendor,
            questionnaire_response.c.product_id == data.product_id,
        )
    )
    if existing is not None:
        raise _duplicate(vendor, existing)
    now = uow.clock()
    values = {
        "id": str(uuid7()),
        "questionnaire_id": questionnaire_id,
        "vendor": vendor,
        "product_id": data.product_id,
        "status": data.status.value,
        "answers": answers,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "submitted_at": now if data.status is ResponseStatus.SUBMITTED else None,
        "created_by": actor.subject,
        "created_by_name": actor.name,
    }
    try:
        # A savepoint, so a concurrent insert that won the race leaves the transaction usable.
        async with uow.session.begin_nested():
            row = (
                await uow.session.execute(
                    insert(questionnaire_response)
                    .values(values)
                    .returning(*questionnaire_response.c)
                )
            ).one()
    except IntegrityError as exc:
        raise _duplicate(vendor) from exc
    _publish(uow, row, questions, submitted=row.status == ResponseStatus.SUBMITTED, changed=[])
    return row, questions


async def get_response(
    *, session: AsyncSession, response_id: str
) -> tuple[Row[Any], list[Question]]:
    """One response and the questions of its template; 404 if unknown."""
    row = (
        await session.execute(
            select(questionnaire_response).where(questionnaire_response.c.id == response_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no questionnaire response with id {response_id!r}")
    _, questions = await get_questionnaire(session=session, questionnaire_id=row.questionnaire_id)
    return row, questions


async def list_responses(
    *,
    session: AsyncSession,
    questionnaire_id: str,
    vendor: str | None,
    product_id: str | None,
    status: ResponseStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[Page[Row[Any]], list[Question]]:
    """A template's responses in creation order, filtered, one keyset page; 404 if unknown."""
    _, questions = await get_questionnaire(session=session, questionnaire_id=questionnaire_id)
    stmt = select(questionnaire_response).where(
        questionnaire_response.c.questionnaire_id == questionnaire_id
    )
    if vendor is not None:
        stmt = stmt.where(questionnaire_response.c.vendor == vendor)
    if product_id is not None:
        stmt = stmt.where(questionnaire_response.c.product_id == product_id)
    if status is not None:
        stmt = stmt.where(questionnaire_response.c.status == status.value)
    return await RESPONSES.page(session, stmt, limit=limit, cursor=cursor), questions


async def update_response(
    *,
    uow: UnitOfWork,
    response_id: str,
    data: ResponseUpdate,
    expected_version: int | None,
    actor: Principal,
) -> tuple[Row[Any], list[Question]]:
    """Change answers (null removes one) and maybe submit; 412 if stale, 409 back to draft."""
    stmt = (
        select(questionnaire_response)
        .where(questionnaire_response.c.id == response_id)
        .with_for_update()
    )
    row = (await uow.session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no questionnaire response with id {response_id!r}")
    check_respondent(row.vendor, actor)
    check_version(expected_version, row.version)
    _, questions = await get_questionnaire(
        session=uow.session, questionnaire_id=row.questionnaire_id
    )
    current = ResponseStatus(row.status)
    status = next_status(current, data.status)
    accepted, errors = check_answers(questions, data.answers)
    patch = {key: accepted.get(key) for key in data.answers}
    answers = merge_answers(row.answers, patch)
    if status is ResponseStatus.SUBMITTED:
        errors += _unanswered(questions, answers, errors)
    if errors:
        raise invalid_input(errors, what="response")
    changed = sorted(
        key
        for key in row.answers.keys() | answers.keys()
        if not json_equal(row.answers.get(key), answers.get(key))
    )
    if not changed and status is current:
        return row, questions
    now = uow.clock()
    submitting = status is ResponseStatus.SUBMITTED and current is ResponseStatus.DRAFT
    values: dict[str, Any] = {
        "answers": answers,
        "status": status.value,
        "version": row.version + 1,
        "updated_at": now,
    }
    if submitting:
        values["submitted_at"] = now
    row = (
        await uow.session.execute(
            update(questionnaire_response)
            .where(questionnaire_response.c.id == row.id)
            .values(values)
            .returning(*questionnaire_response.c)
        )
    ).one()
    _publish(uow, row, questions, submitted=submitting, changed=changed)
    return row, questions


def _unanswered(
    questions: Sequence[Question], answers: dict[str, Json], errors: Sequence[FieldError]
) -> list[FieldError]:
    """Required questions without an answer, except those already reported as wrong."""
    reported = {error.loc for error in errors}
    return [error for error in missing_required(questions, answers) if error.loc not in reported]


def _publish(
    uow: UnitOfWork,
    row: Row[Any],
    questions: Sequence[Question],
    *,
    submitted: bool,
    changed: list[str],
) -> None:
    done = completion(questions, row.answers)
    data: dict[str, Any] = {
        "response_id": row.id,
        "questionnaire_id": row.questionnaire_id,
        "product_id": row.product_id,
        "vendor": row.vendor,
        "status": row.status,
        "answers": row.answers,
        "completion": CompletionData(
            required_answered=done.required_answered,
            required_total=done.required_total,
            answered=done.answered,
            total=done.total,
            complete=done.complete,
        ),
        "version": row.version,
    }
    payload: ResponseData = (
        ResponseSubmitted(**data)
        if submitted
        else ResponseUpdated(**data, changed_keys=changed or sorted(row.answers))
    )
    uow.publish(response_event(payload))


def _duplicate(vendor: str, response_id: str | None = None) -> Conflict:
    extra = {"response_id": response_id} if response_id else {}
    return Conflict(
        f"vendor {vendor!r} already answered this questionnaire for this product; "
        "PATCH that response instead",
        **extra,
    )


# --- the product's view and promotion ----------------------------------------------------------


async def product_answers(
    *, session: AsyncSession, product_id: str, limit: int, cursor: str | None
) -> tuple[Row[Any], Page[tuple[Row[Any], Row[Any], list[Question]]]]:
    """A product with its responses (one keyset page) and each response's template."""
    item = await get_product(session=session, product_id=product_id)
    stmt = select(questionnaire_response).where(questionnaire_response.c.product_id == product_id)
    page = await RESPONSES.page(session, stmt, limit=limit, cursor=cursor)
    ids = sorted({row.questionnaire_id for row in page.items})
    templates = {
        t.id: t
        for t in (
            await session.execute(select(questionnaire).where(questionnaire.c.id.in_(ids)))
        ).all()
    }

    def with_template(row: Row[Any]) -> tuple[Row[Any], Row[Any], list[Question]]:
        template = templates[row.questionnaire_id]
        return row, template, [question_of(q) for q in template.questions]

    return item, page.map(with_template)


async def promote_answer(
    *,
    uow: UnitOfWork,
    response_id: str,
    key: str,
    attribute: str | None,
    expected_version: int | None,
    actor: Principal,
    notices: CoreNotices,
) -> tuple[Row[Any], str, Json, bool]:
    """Copy an answer into a product attribute through the product's own update.

    The product's field history records it and `catalog.product.updated.v1` carries it;
    `If-Match` is the product's version. Returns the product, attribute, value and whether
    the product changed.
    """
    row, questions = await get_response(session=uow.session, response_id=response_id)
    question = next((q for q in questions if q.key == key), None)
    if question is None:
        raise NotFound(f"the questionnaire of this response has no question {key!r}")
    value = row.answers.get(key)
    if value is None:
        raise Conflict(f"question {key!r} has no answer in this response yet", key=key)
    name = promotion_attribute(question, attribute)
    # Lock first, so the version compared below is the one the update starts from.
    before = await uow.session.scalar(
        select(product.c.version).where(product.c.id == row.product_id).with_for_update()
    )
    patch = ProductUpdate.model_validate({"attributes": {name: value}})
    updated = await update_product(
        uow=uow,
        product_id=row.product_id,
        data=patch,
        expected_version=expected_version,
        actor=actor,
        notices=notices,
    )
    return updated, name, value, updated.version != before
