"""Routes of cases for and against a product, and of its decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from services.catalog.decisions import service
from services.catalog.decisions.domain import Stance
from services.catalog.decisions.schemas import (
    CaseCreate,
    CasePublic,
    DecisionCreate,
    DecisionPublic,
    case_public,
    decision_public,
)
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.idempotency import IdempotencyDep
from shared.openapi import MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["cases and decisions"])

Reader = Annotated[Principal, Depends(require("catalog:read"))]
Writer = Annotated[Principal, Depends(require("catalog:write"))]


@router.post(
    "/products/{product_id}/cases",
    responses=MISSING,
    status_code=status.HTTP_201_CREATED,
    response_model=CasePublic,
)
async def add_case(
    product_id: str,
    body: CaseCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | CasePublic:
    """Make a case for or against a product: a summary and up to 20 evidence links.

    The caller is recorded as the author.
    """
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row = await service.add_case(uow=uow, product_id=product_id, data=body, actor=actor)
        created = case_public(row)
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/products/{product_id}/cases/{created.id}"
    return created


@router.get("/products/{product_id}/cases", responses=MISSING, response_model=Page[CasePublic])
async def list_cases(
    product_id: str,
    runtime: RuntimeDep,
    _: Reader,
    stance: Stance | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[CasePublic]:
    """A product's cases, oldest first; `stance` keeps only the cases for or against."""
    async with runtime.db.reader() as session:
        page = await service.list_cases(
            session=session, product_id=product_id, stance=stance, limit=limit, cursor=cursor
        )
    return page.map(case_public)


@router.get("/products/{product_id}/cases/{case_id}", responses=MISSING, response_model=CasePublic)
async def get_case(product_id: str, case_id: str, runtime: RuntimeDep, _: Reader) -> CasePublic:
    """One case of a product."""
    async with runtime.db.reader() as session:
        row = await service.get_case(session=session, product_id=product_id, case_id=case_id)
    return case_public(row)


@router.post(
    "/products/{product_id}/decision",
    responses=MISSING_OR_CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=DecisionPublic,
)
async def record_decision(
    product_id: str,
    body: DecisionCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | DecisionPublic:
    """Decide on a product: adopt, reject or defer, with a rationale; it becomes current.

    Adopt and reject need at least one case (409 otherwise); defer needs none. A rejected
    product cannot move to `active` until a later decision says otherwise.
    """
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row = await service.record_decision(uow=uow, product_id=product_id, data=body, actor=actor)
        created = decision_public(row)
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/products/{product_id}/decision"
    return created


@router.get("/products/{product_id}/decision", responses=MISSING, response_model=DecisionPublic)
async def current_decision(product_id: str, runtime: RuntimeDep, _: Reader) -> DecisionPublic:
    """The product's current decision (the latest); 404 if none has been recorded."""
    async with runtime.db.reader() as session:
        row = await service.current_decision(session=session, product_id=product_id)
    return decision_public(row)


@router.get(
    "/products/{product_id}/decisions", responses=MISSING, response_model=Page[DecisionPublic]
)
async def list_decisions(
    product_id: str,
    runtime: RuntimeDep,
    _: Reader,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DecisionPublic]:
    """A product's decision history, latest first."""
    async with runtime.db.reader() as session:
        page = await service.list_decisions(
            session=session, product_id=product_id, limit=limit, cursor=cursor
        )
    return page.map(decision_public)
