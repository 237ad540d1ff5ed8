"""Vendor questionnaire routes: templates, responses, the product's view and promotion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import JsonValue

from services.catalog.notices import CoreNoticesDep
from services.catalog.questionnaires import service
from services.catalog.questionnaires.domain import (
    Question,
    ResponseStatus,
    completion,
    json_equal,
)
from services.catalog.questionnaires.schemas import (
    ProductAnswer,
    ProductAnswersPage,
    ProductResponseAnswers,
    PromoteBody,
    PromotionPublic,
    QuestionnaireCreate,
    QuestionnairePublic,
    ResponseCreate,
    ResponsePublic,
    ResponseUpdate,
    completion_public,
    question_of,
    question_public,
)
from services.catalog.schemas import Actor, product_public
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.idempotency import IdempotencyDep
from shared.openapi import MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["questionnaires"])

Reader = Annotated[Principal, Depends(require("catalog:read"))]
Writer = Annotated[Principal, Depends(require("catalog:write"))]
Filter = Annotated[str | None, Query(max_length=200)]


@router.post(
    "/questionnaires", status_code=status.HTTP_201_CREATED, response_model=QuestionnairePublic
)
async def create_questionnaire(
    body: QuestionnaireCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | QuestionnairePublic:
    """Create a questionnaire template of typed questions for vendors to answer.

    Types: text, number (with an optional `unit`), yes_no, single_choice and
    multiple_choice (`choices`: 2 or more, distinct). `attribute` names the product attribute
    an answer maps to. Templates do not change; publish a new one to ask differently.
    """
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row = await service.create_questionnaire(uow=uow, data=body, actor=actor)
        created = _questionnaire_public(row)
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/questionnaires/{created.id}"
    return created


@router.get("/questionnaires", response_model=Page[QuestionnairePublic])
async def list_questionnaires(
    runtime: RuntimeDep,
    _: Reader,
    product_type: Filter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[QuestionnairePublic]:
    """Questionnaire templates in creation order, optionally for one product type."""
    async with runtime.db.reader() as session:
        page = await service.list_questionnaires(
            session=session, product_type=product_type, limit=limit, cursor=cursor
        )
    return page.map(_questionnaire_public)


@router.get(
    "/questionnaires/{questionnaire_id}", responses=MISSING, response_model=QuestionnairePublic
)
async def get_questionnaire(
    questionnaire_id: str, runtime: RuntimeDep, _: Reader
) -> QuestionnairePublic:
    """One questionnaire template."""
    async with runtime.db.reader() as session:
        row, _questions = await service.get_questionnaire(
            session=session, questionnaire_id=questionnaire_id
        )
    return _questionnaire_public(row)


@router.post(
    "/questionnaires/{questionnaire_id}/responses",
    responses=MISSING_OR_CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=ResponsePublic,
)
async def submit_response(
    questionnaire_id: str,
    body: ResponseCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | ResponsePublic:
    """Record a vendor's answers about one product, validated against the template.

    The vendor is the caller's key owner; naming another `vendor` needs admin (403
    `vendor-not-allowed`).

    Each wrong answer is reported under its key (`body.answers.<key>`): wrong type, not a
    choice, unknown key, or a required question left out of a submitted response. Send
    `"status": "draft"` to save a partial response and complete it later with PATCH.
    One response per vendor and product: 409 for a second.
    """
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row, questions = await service.submit_response(
            uow=uow, questionnaire_id=questionnaire_id, data=body, actor=actor
        )
        created = _response_public(row, questions)
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/questionnaire-responses/{created.id}"
    return _tagged(response, created)


@router.get(
    "/questionnaires/{questionnaire_id}/responses",
    responses=MISSING,
    response_model=Page[ResponsePublic],
)
async def list_responses(
    questionnaire_id: str,
    runtime: RuntimeDep,
    _: Reader,
    vendor: Filter = None,
    product_id: Filter = None,
    status: ResponseStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ResponsePublic]:
    """A questionnaire's responses in creation order, by vendor, product or status."""
    async with runtime.db.reader() as session:
        page, questions = await service.list_responses(
            session=session,
            questionnaire_id=questionnaire_id,
            vendor=vendor,
            product_id=product_id,
            status=status,
            limit=limit,
            cursor=cursor,
        )
    return page.map(lambda row: _response_public(row, questions))


@router.get(
    "/questionnaire-responses/{response_id}", responses=MISSING, response_model=ResponsePublic
)
async def get_response(
    response_id: str, runtime: RuntimeDep, _: Reader, response: Response
) -> ResponsePublic:
    """One response with its completion; the ETag is its version, for `If-Match`."""
    async with runtime.db.reader() as session:
        row, questions = await service.get_response(session=session, response_id=response_id)
    return _tagged(response, _response_public(row, questions))


@router.patch(
    "/questionnaire-responses/{response_id}",
    responses=MISSING_OR_CONFLICT,
    response_model=ResponsePublic,
)
async def update_response(
    response_id: str,
    body: ResponseUpdate,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> ResponsePublic:
    """Set answers (`null` removes one) and optionally submit with `"status": "submitted"`.

    A submitted response keeps every required question answered and cannot go back to
    draft (409). 412 when `If-Match` is stale. Only the response's vendor (their key
    owner) or an admin changes it (403 `vendor-not-allowed`).
    """
    async with runtime.uow() as uow:
        row, questions = await service.update_response(
            uow=uow,
            response_id=response_id,
            data=body,
            expected_version=if_match,
            actor=actor,
        )
    return _tagged(response, _response_public(row, questions))


@router.get(
    "/products/{product_id}/questionnaire-answers",
    responses=MISSING,
    response_model=ProductAnswersPage,
)
async def product_answers(
    product_id: str,
    runtime: RuntimeDep,
    _: Reader,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ProductAnswersPage:
    """Vendors' answers about a product next to its current attributes, one response each.

    For an answer that maps to an attribute: the attribute's current value and whether the
    two differ (`differs` is null for answers that map to no attribute).
    """
    async with runtime.db.reader() as session:
        item, page = await service.product_answers(
            session=session, product_id=product_id, limit=limit, cursor=cursor
        )
    attributes: dict[str, Any] = dict(item.attributes)
    return ProductAnswersPage(
        product_id=item.id,
        sku=item.sku,
        product_version=item.version,
        attributes=attributes,
        items=[
            ProductResponseAnswers(
                response_id=row.id,
                questionnaire_id=template.id,
                questionnaire_title=template.title,
                vendor=row.vendor,
                status=ResponseStatus(row.status),
                updated_at=row.updated_at,
                answers=_answers_beside(questions, row.answers, attributes),
            )
            for row, template, questions in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/questionnaire-responses/{response_id}/answers/{key}/promote",
    responses=MISSING_OR_CONFLICT,
    response_model=PromotionPublic,
)
async def promote_answer(
    response_id: str,
    key: str,
    runtime: RuntimeDep,
    notices: CoreNoticesDep,
    actor: Writer,
    if_match: IfMatch,
    body: PromoteBody | None = None,
) -> PromotionPublic:
    """Copy an answer into the product's attribute (the question's, or `{"attribute"}`).

    It is an ordinary product update: recorded in the product's history, announced by
    `catalog.product.updated.v1`, completeness recomputed. `If-Match` takes the product's
    version; an attribute that already holds the answer is left alone (`changed: false`).
    """
    async with runtime.uow() as uow:
        item, attribute, value, changed = await service.promote_answer(
            uow=uow,
            response_id=response_id,
            key=key,
            attribute=body.attribute if body else None,
            expected_version=if_match,
            actor=actor,
            notices=notices,
        )
    return PromotionPublic(
        response_id=response_id,
        key=key,
        attribute=attribute,
        value=cast(JsonValue, value),  # an answer: JSON, which the domain holds as `object`
        changed=changed,
        product=product_public(item),
    )


def _answers_beside(
    questions: Sequence[Question], answers: dict[str, Any], attributes: dict[str, Any]
) -> list[ProductAnswer]:
    result = []
    for question in questions:
        if answers.get(question.key) is None:
            continue
        answer = answers[question.key]
        current = attributes.get(question.attribute) if question.attribute else None
        result.append(
            ProductAnswer(
                key=question.key,
                question=question.text,
                type=question.type,
                unit=question.unit,
                answer=answer,
                attribute=question.attribute,
                current_value=current,
                differs=None if question.attribute is None else not json_equal(answer, current),
            )
        )
    return result


def _questionnaire_public(row: Any) -> QuestionnairePublic:
    return QuestionnairePublic(
        id=row.id,
        title=row.title,
        product_type=row.product_type,
        questions=[question_public(question_of(data)) for data in row.questions],
        created_at=row.created_at,
        created_by=Actor(subject=row.created_by, name=row.created_by_name),
    )


def _response_public(row: Any, questions: Sequence[Question]) -> ResponsePublic:
    return ResponsePublic(
        id=row.id,
        questionnaire_id=row.questionnaire_id,
        vendor=row.vendor,
        product_id=row.product_id,
        status=ResponseStatus(row.status),
        answers=row.answers,
        completion=completion_public(completion(questions, row.answers)),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        created_by=Actor(subject=row.created_by, name=row.created_by_name),
    )


def _tagged(response: Response, public: ResponsePublic) -> ResponsePublic:
    response.headers["ETag"] = etag(public.version)
    return public
