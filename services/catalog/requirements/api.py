"""Routes of customer requirements and new-product recommendations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from services.catalog.notices import CoreNoticesDep
from services.catalog.requirements import service
from services.catalog.requirements.domain import Kind
from services.catalog.requirements.schemas import (
    AdoptionPublic,
    RecommendationAdopt,
    RecommendationDismiss,
    RecommendationPublic,
    RequirementCreate,
    RequirementPublic,
    RequirementSort,
    recommendation_public,
    requirement_public,
)
from services.catalog.schemas import product_public
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.idempotency import IdempotencyDep
from shared.openapi import MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["requirements"])

Reader = Annotated[Principal, Depends(require("catalog:read"))]
Writer = Annotated[Principal, Depends(require("catalog:write"))]
Filter = Annotated[str | None, Query(max_length=200)]
Sort = Annotated[
    RequirementSort, Query(description="count: most reported first; last_seen: latest first")
]


@router.post(
    "/requirements",
    status_code=status.HTTP_201_CREATED,
    response_model=RequirementPublic,
    responses={200: {"description": "The same requirement was known", "model": RequirementPublic}},
)
async def create_requirement(
    body: RequirementCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | RequirementPublic:
    """Record a requirement heard from customers, about a product, a product type or neither.

    201 for a new requirement; 200 when the same requirement (same normalised text, same
    target) was known: its count grows by one and the quote joins its samples.
    """
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row, created = await service.create_requirement(uow=uow, data=body, actor=actor)
        shown = requirement_public(
            await service.get_requirement(session=uow.session, requirement_id=row.id)
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        await idem.remember(uow, code, shown)
    response.status_code = code
    response.headers["Location"] = f"/v1/requirements/{shown.id}"
    return shown


@router.get("/requirements", response_model=Page[RequirementPublic])
async def list_requirements(
    runtime: RuntimeDep,
    _: Reader,
    product_id: Filter = None,
    product_type: Filter = None,
    kind: Kind | None = None,
    q: Annotated[str | None, Query(max_length=200, description="in the text")] = None,
    recommendation_id: Filter = None,
    sort: Sort = RequirementSort.COUNT,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[RequirementPublic]:
    """List requirements, most reported first (or `sort=last_seen`), filtered."""
    async with runtime.db.reader() as session:
        page = await service.list_requirements(
            session=session,
            product_id=product_id,
            product_type=product_type,
            kind=kind,
            q=q,
            recommendation_id=recommendation_id,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
    return page.map(requirement_public)


@router.get("/requirements/{requirement_id}", responses=MISSING, response_model=RequirementPublic)
async def get_requirement(requirement_id: str, runtime: RuntimeDep, _: Reader) -> RequirementPublic:
    """One requirement with its count, first and last seen, and sample quotes."""
    async with runtime.db.reader() as session:
        row = await service.get_requirement(session=session, requirement_id=requirement_id)
    return requirement_public(row)


@router.get(
    "/products/{product_id}/requirements", responses=MISSING, response_model=Page[RequirementPublic]
)
async def product_requirements(
    product_id: str,
    runtime: RuntimeDep,
    _: Reader,
    sort: Sort = RequirementSort.COUNT,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[RequirementPublic]:
    """The requirements about a product, and those behind the recommendation it was made from."""
    async with runtime.db.reader() as session:
        page = await service.list_product_requirements(
            session=session, product_id=product_id, sort=sort, limit=limit, cursor=cursor
        )
    return page.map(requirement_public)


@router.get("/recommendations", response_model=Page[RecommendationPublic])
async def list_recommendations(
    runtime: RuntimeDep,
    _: Reader,
    include_dismissed: bool = False,
    include_adopted: bool = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[RecommendationPublic]:
    """New-product ideas ranked by unmet, recency-weighted customer demand, with evidence.

    An idea groups the requirements with the same normalised text across products and types;
    ideas an active product meets do not show. Dismissed and adopted ones show on request.
    """
    now = runtime.clock()
    async with runtime.db.reader() as session:
        page = await service.list_recommendations(
            session=session,
            include_dismissed=include_dismissed,
            include_adopted=include_adopted,
            limit=limit,
            cursor=cursor,
        )
    return page.map(lambda view: recommendation_public(view.row, view.evidence, now=now))


@router.get(
    "/recommendations/{recommendation_id}", responses=MISSING, response_model=RecommendationPublic
)
async def get_recommendation(
    recommendation_id: str, runtime: RuntimeDep, _: Reader, response: Response
) -> RecommendationPublic:
    """One idea with its 20 strongest requirements (all: `/v1/requirements?recommendation_id=`)."""
    async with runtime.db.reader() as session:
        view = await service.get_recommendation(
            session=session, recommendation_id=recommendation_id
        )
    response.headers["ETag"] = etag(view.row.version)
    return recommendation_public(view.row, view.evidence, now=runtime.clock())


@router.post(
    "/recommendations/{recommendation_id}/dismiss",
    responses=MISSING_OR_CONFLICT,
    response_model=RecommendationPublic,
)
async def dismiss_recommendation(
    recommendation_id: str,
    body: RecommendationDismiss,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> RecommendationPublic:
    """Dismiss an open idea, with a reason: it leaves the default list. 409 unless open."""
    async with runtime.uow() as uow:
        await service.dismiss_recommendation(
            uow=uow,
            recommendation_id=recommendation_id,
            reason=body.reason,
            expected_version=if_match,
            actor=actor,
        )
        view = await service.get_recommendation(
            session=uow.session, recommendation_id=recommendation_id
        )
    response.headers["ETag"] = etag(view.row.version)
    return recommendation_public(view.row, view.evidence, now=runtime.clock())


@router.post(
    "/recommendations/{recommendation_id}/adopt",
    responses=MISSING_OR_CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=AdoptionPublic,
)
async def adopt_recommendation(
    recommendation_id: str,
    body: RecommendationAdopt,
    runtime: RuntimeDep,
    notices: CoreNoticesDep,
    idem: IdempotencyDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> Response | AdoptionPublic:
    """Turn an idea into a draft product, linked both ways: the recommendation shows the
    product, and the product's requirements include the ones behind the idea. 409 if the idea
    was already adopted or the SKU is taken."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        _, created = await service.adopt_recommendation(
            uow=uow,
            recommendation_id=recommendation_id,
            data=body,
            expected_version=if_match,
            actor=actor,
            notices=notices,
        )
        view = await service.get_recommendation(
            session=uow.session, recommendation_id=recommendation_id
        )
        adopted = AdoptionPublic(
            recommendation=recommendation_public(view.row, view.evidence, now=runtime.clock()),
            product=product_public(created),
        )
        await idem.remember(uow, status.HTTP_201_CREATED, adopted)
    response.headers["Location"] = f"/v1/products/{created.id}"
    return adopted
