"""Competitor case study routes: record on a product type, list, read, edit, archive."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from services.catalog.case_studies import service
from services.catalog.case_studies.domain import StudyStatus
from services.catalog.case_studies.schemas import (
    CaseStudyCreate,
    CaseStudyPublic,
    CaseStudyUpdate,
    case_study_public,
)
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.idempotency import IdempotencyDep
from shared.openapi import MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["research"])

Reader = Annotated[Principal, Depends(require("catalog:read"))]
Writer = Annotated[Principal, Depends(require("catalog:write"))]


@router.post(
    "/product-types/{code}/case-studies",
    responses=MISSING,
    status_code=status.HTTP_201_CREATED,
    response_model=CaseStudyPublic,
)
async def record_case_study(
    code: str,
    body: CaseStudyCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | CaseStudyPublic:
    """Record a competitor case study on a product type: the competitor, its product, what
    it does well (`strengths`) and badly (`weaknesses`, at least one of the two) and up to 20
    sources (`{url?, text?}`). The caller is recorded as the author."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        study = await service.record_study(uow=uow, code=code, fields=body.fields(), actor=actor)
        created = case_study_public(study)
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/case-studies/{created.id}"
    return _described(response, created)


@router.get(
    "/product-types/{code}/case-studies",
    responses=MISSING,
    response_model=Page[CaseStudyPublic],
)
async def list_case_studies(
    code: str,
    runtime: RuntimeDep,
    _: Reader,
    status: StudyStatus = StudyStatus.ACTIVE,
    competitor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[CaseStudyPublic]:
    """A product type's case studies, oldest first: the active ones unless `status` says
    `archived`; `competitor` keeps one competitor's."""
    async with runtime.db.reader() as session:
        page = await service.list_studies(
            session=session,
            code=code,
            status=status,
            competitor=competitor,
            limit=limit,
            cursor=cursor,
        )
    return page.map(case_study_public)


@router.get("/case-studies/{study_id}", responses=MISSING, response_model=CaseStudyPublic)
async def get_case_study(
    study_id: str, runtime: RuntimeDep, _: Reader, response: Response
) -> CaseStudyPublic:
    """One case study, with its version as `ETag`."""
    async with runtime.db.reader() as session:
        study = await service.get_study(session=session, study_id=study_id)
    return _described(response, case_study_public(study))


@router.patch(
    "/case-studies/{study_id}", responses=MISSING_OR_CONFLICT, response_model=CaseStudyPublic
)
async def edit_case_study(
    study_id: str,
    body: CaseStudyUpdate,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> CaseStudyPublic:
    """Change a study's fields (those sent replace the study's); 412 when `If-Match` is
    stale, 409 when the study is archived. A change that changes nothing bumps nothing."""
    async with runtime.uow() as uow:
        study = await service.edit_study(
            uow=uow,
            study_id=study_id,
            changes=body.changes(),
            expected_version=if_match,
            actor=actor,
        )
    return _described(response, case_study_public(study))


@router.post("/case-studies/{study_id}/archive", responses=MISSING, response_model=CaseStudyPublic)
async def archive_case_study(
    study_id: str, runtime: RuntimeDep, actor: Writer, if_match: IfMatch, response: Response
) -> CaseStudyPublic:
    """Archive a study: it is kept, but leaves the type's list (unless `status=archived`)
    and the knowledge sheet; it can no longer be edited. Archiving it again changes
    nothing. 412 when `If-Match` is stale."""
    async with runtime.uow() as uow:
        study = await service.archive_study(
            uow=uow, study_id=study_id, expected_version=if_match, actor=actor
        )
    return _described(response, case_study_public(study))


def _described(response: Response, study: CaseStudyPublic) -> CaseStudyPublic:
    """Tag the response with the study's version, for `If-Match` on the next change."""
    response.headers["ETag"] = etag(study.version)
    return study
