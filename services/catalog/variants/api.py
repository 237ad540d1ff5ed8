"""Routes of product variants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from services.catalog.domain import Lifecycle
from services.catalog.variants import service
from services.catalog.variants.schemas import (
    VariantCreate,
    VariantLifecycleChange,
    VariantPublic,
    VariantUpdate,
    variant_public,
)
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.idempotency import IdempotencyDep
from shared.openapi import MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["variants"])

Reader = Annotated[Principal, Depends(require("catalog:read"))]
Writer = Annotated[Principal, Depends(require("catalog:write"))]


@router.post(
    "/products/{product_id}/variants",
    responses=MISSING_OR_CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=VariantPublic,
)
async def create_variant(
    product_id: str,
    body: VariantCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | VariantPublic:
    """Add a variant in `draft`: its own SKU (unique among products and variants), its axis
    values (the same axes for every variant of the product) and attribute overrides."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row, context = await service.create_variant(
            uow=uow, product_id=product_id, data=body, actor=actor
        )
        created = variant_public(row, context)
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/products/{product_id}/variants/{created.id}"
    return _describe(response, created)


@router.get(
    "/products/{product_id}/variants", responses=MISSING, response_model=Page[VariantPublic]
)
async def list_variants(
    product_id: str,
    runtime: RuntimeDep,
    _: Reader,
    lifecycle: Lifecycle | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[VariantPublic]:
    """A product's variants in creation order, each with its completeness as of now."""
    async with runtime.db.reader() as session:
        page, context = await service.list_variants(
            session=session, product_id=product_id, lifecycle=lifecycle, limit=limit, cursor=cursor
        )
    return page.map(lambda row: variant_public(row, context))


@router.get(
    "/products/{product_id}/variants/{variant_id}", responses=MISSING, response_model=VariantPublic
)
async def get_variant(
    product_id: str, variant_id: str, runtime: RuntimeDep, _: Reader, response: Response
) -> VariantPublic:
    """One variant; the ETag is its version, for `If-Match` on updates."""
    async with runtime.db.reader() as session:
        row, context = await service.get_variant(
            session=session, product_id=product_id, variant_id=variant_id
        )
    return _describe(response, variant_public(row, context))


@router.patch(
    "/products/{product_id}/variants/{variant_id}",
    responses=MISSING_OR_CONFLICT,
    response_model=VariantPublic,
)
async def update_variant(
    product_id: str,
    variant_id: str,
    body: VariantUpdate,
    runtime: RuntimeDep,
    _: Writer,
    if_match: IfMatch,
    response: Response,
) -> VariantPublic:
    """Change a variant's axis values or attribute overrides (both merge patches); 412 when
    `If-Match` is stale."""
    async with runtime.uow() as uow:
        row, context = await service.update_variant(
            uow=uow,
            product_id=product_id,
            variant_id=variant_id,
            data=body,
            expected_version=if_match,
        )
    return _describe(response, variant_public(row, context))


@router.post(
    "/products/{product_id}/variants/{variant_id}/lifecycle",
    responses=MISSING_OR_CONFLICT,
    response_model=VariantPublic,
)
async def change_variant_lifecycle(
    product_id: str,
    variant_id: str,
    body: VariantLifecycleChange,
    runtime: RuntimeDep,
    _: Writer,
    if_match: IfMatch,
    response: Response,
) -> VariantPublic:
    """Move a variant to another lifecycle state; 409 if the state machine forbids it, if it
    would be ahead of its product, or if the product's current decision is reject."""
    async with runtime.uow() as uow:
        row, context = await service.change_variant_lifecycle(
            uow=uow,
            product_id=product_id,
            variant_id=variant_id,
            to=body.to,
            expected_version=if_match,
        )
    return _describe(response, variant_public(row, context))


def _describe(response: Response, variant: VariantPublic) -> VariantPublic:
    """Tag the response with the variant's version, for `If-Match` on the next update."""
    response.headers["ETag"] = etag(variant.version)
    return variant
