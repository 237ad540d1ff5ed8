"""Survey routes: define, list, read and close surveys, and their results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from services.feedback.surveys import service
from services.feedback.surveys.domain import SurveyStatus
from services.feedback.surveys.schemas import (
    ResultsPublic,
    SurveyCreate,
    SurveyPublic,
    results_public,
    survey_public,
)
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.idempotency import IdempotencyDep
from shared.openapi import MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["surveys"])

Reader = Annotated[Principal, Depends(require("feedback:read"))]
Writer = Annotated[Principal, Depends(require("feedback:write"))]
Filter = Annotated[str | None, Query(max_length=64)]


@router.post("/surveys", status_code=status.HTTP_201_CREATED, response_model=SurveyPublic)
async def create_survey(
    body: SurveyCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | SurveyPublic:
    """Define a survey about a product (`product_id`) or a product type (`product_type`):
    1-30 questions, each `rating` (scale `min`..`max`, 1..5 by default), `single_choice` or
    `multiple_choice` (2-20 `options`) or `free_text`, with a unique `key` that storefronts
    answer by in `survey_response` customer events. With `Idempotency-Key`, a retry
    answers as the first call did and makes no second survey."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        created = survey_public(await service.create_survey(uow=uow, data=body, actor=actor))
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/surveys/{created.id}"
    return created


@router.get("/surveys", response_model=Page[SurveyPublic])
async def list_surveys(
    runtime: RuntimeDep,
    _: Reader,
    status: Annotated[SurveyStatus | None, Query()] = None,
    product_id: Filter = None,
    product_type: Filter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SurveyPublic]:
    """Surveys, newest first; `status` keeps the open or the closed ones, `product_id` and
    `product_type` those about that product or type."""
    async with runtime.db.reader() as session:
        page = await service.list_surveys(
            session=session,
            status=status,
            product_id=product_id,
            product_type=product_type,
            limit=limit,
            cursor=cursor,
        )
    return page.map(survey_public)


@router.get("/surveys/{survey_id}", responses=MISSING, response_model=SurveyPublic)
async def get_survey(survey_id: str, runtime: RuntimeDep, _: Reader) -> SurveyPublic:
    """One survey and its questions."""
    async with runtime.db.reader() as session:
        row = await service.get_survey(session=session, survey_id=survey_id)
    return survey_public(row)


@router.post(
    "/surveys/{survey_id}/close", responses=MISSING_OR_CONFLICT, response_model=SurveyPublic
)
async def close_survey(survey_id: str, runtime: RuntimeDep, actor: Writer) -> SurveyPublic:
    """Close a survey: responses naming it are then rejected, each on its own, at
    ingestion. 409 if it is closed already."""
    async with runtime.uow() as uow:
        row = await service.close_survey(uow=uow, survey_id=survey_id, actor=actor)
    return survey_public(row)


@router.get("/surveys/{survey_id}/results", responses=MISSING, response_model=ResultsPublic)
async def survey_results(survey_id: str, runtime: RuntimeDep, _: Reader) -> ResultsPublic:
    """The survey's results: per question the count per scale value or option (a rating's
    mean as a decimal string; a multiple-choice question counts each chosen option, and
    `answered` is its respondents), the same per segment, the segment that differs most on
    each question, and the latest free-text responses with how triage read them."""
    async with runtime.db.reader() as session:
        row, tallied, free_text = await service.survey_results(session=session, survey_id=survey_id)
    return results_public(survey_id=row.id, status=row.status, tallied=tallied, free_text=free_text)
