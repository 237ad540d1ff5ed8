"""The catalog's HTTP routes: parse, call a use case, shape the response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from services.catalog import service
from services.catalog.creates import ProductCreatesDep
from services.catalog.domain import Lifecycle
from services.catalog.notices import CoreNoticesDep
from services.catalog.schemas import (
    ChangePublic,
    LifecycleChange,
    ProductCreate,
    ProductPublic,
    ProductStatsPublic,
    ProductTypeCreate,
    ProductTypePublic,
    ProductUpdate,
    change_public,
    product_public,
    product_type_public,
)
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.idempotency import IdempotencyDep
from shared.openapi import CONFLICT, MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["catalog"])

Reader = Annotated[Principal, Depends(require("catalog:read"))]
Writer = Annotated[Principal, Depends(require("catalog:write"))]
Filter = Annotated[str | None, Query(max_length=200)]


@router.post(
    "/product-types",
    responses=CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=ProductTypePublic,
)
async def create_product_type(
    body: ProductTypeCreate, runtime: RuntimeDep, idem: IdempotencyDep, _: Writer
) -> Response | ProductTypePublic:
    """Create a product type and the attributes its products must fill in."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        created = product_type_public(await service.create_product_type(uow=uow, data=body))
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    return created


@router.get("/product-types", response_model=Page[ProductTypePublic])
async def list_product_types(
    runtime: RuntimeDep, _: Reader, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[ProductTypePublic]:
    """List product types by code."""
    async with runtime.db.reader() as session:
        page = await service.list_product_types(session=session, limit=limit, cursor=cursor)
    return page.map(product_type_public)


@router.get("/product-types/{code}", responses=MISSING, response_model=ProductTypePublic)
async def get_product_type(code: str, runtime: RuntimeDep, _: Reader) -> ProductTypePublic:
    """One product type."""
    async with runtime.db.reader() as session:
        row = await service.get_product_type(session=session, code=code)
    return product_type_public(row)


@router.post(
    "/products",
    responses=CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=ProductPublic,
)
async def create_product(
    body: ProductCreate,
    runtime: RuntimeDep,
    creates: ProductCreatesDep,
    notices: CoreNoticesDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | ProductPublic:
    """Create a product in `draft`; its completeness follows its product type."""
    if idem.key is None:
        created = product_public(await creates.submit(service.NewProduct(body, actor)))
    else:
        async with runtime.uow() as uow:
            if (replayed := await idem.replay(uow, body)) is not None:
                return replayed
            created = product_public(
                await service.create_product(uow=uow, data=body, actor=actor, notices=notices)
            )
            await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/products/{created.id}"
    return _describe(response, created)


@router.get("/products", response_model=Page[ProductPublic])
async def list_products(
    runtime: RuntimeDep,
    _: Reader,
    q: Annotated[str | None, Query(max_length=200, description="in name, SKU or brand")] = None,
    product_type: Filter = None,
    brand: Filter = None,
    lifecycle: Lifecycle | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ProductPublic]:
    """List products in creation order; `q` searches name, SKU and brand, ignoring case."""
    async with runtime.db.reader() as session:
        page = await service.list_products(
            session=session,
            q=q,
            product_type=product_type,
            brand=brand,
            lifecycle=lifecycle,
            limit=limit,
            cursor=cursor,
        )
    return page.map(product_public)


# Before `/products/{product_id}`, which would take "stats" for an id.
@router.get("/products/stats", response_model=ProductStatsPublic)
async def product_stats(runtime: RuntimeDep, _: Reader) -> ProductStatsPublic:
    """How many products are in each lifecycle state."""
    async with runtime.db.reader() as session:
        by_lifecycle = await service.product_stats(session=session)
    return ProductStatsPublic(total=sum(by_lifecycle.values()), by_lifecycle=by_lifecycle)


@router.get("/products/{product_id}", responses=MISSING, response_model=ProductPublic)
async def get_product(
    product_id: str, runtime: RuntimeDep, _: Reader, response: Response
) -> ProductPublic:
    """One product; the ETag is its version, for `If-Match` on updates."""
    async with runtime.db.reader() as session:
        row = await service.get_product(session=session, product_id=product_id)
    return _describe(response, product_public(row))


@router.patch("/products/{product_id}", responses=MISSING, response_model=ProductPublic)
async def update_product(
    product_id: str,
    body: ProductUpdate,
    runtime: RuntimeDep,
    notices: CoreNoticesDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> ProductPublic:
    """Change some fields (`attributes` is a merge patch); 412 when `If-Match` is stale."""
    async with runtime.uow() as uow:
        row = await service.update_product(
            uow=uow,
            product_id=product_id,
            data=body,
            expected_version=if_match,
            actor=actor,
            notices=notices,
        )
    return _describe(response, product_public(row))


@router.post(
    "/products/{product_id}/lifecycle", responses=MISSING_OR_CONFLICT, response_model=ProductPublic
)
async def change_lifecycle(
    product_id: str,
    body: LifecycleChange,
    runtime: RuntimeDep,
    notices: CoreNoticesDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> ProductPublic:
    """Move a product to another lifecycle state; 409 if the rules forbid the move."""
    async with runtime.uow() as uow:
        row = await service.change_lifecycle(
            uow=uow,
            product_id=product_id,
            to=body.to,
            expected_version=if_match,
            actor=actor,
            notices=notices,
        )
    return _describe(response, product_public(row))


@router.get("/products/{product_id}/history", responses=MISSING, response_model=Page[ChangePublic])
async def product_history(
    product_id: str,
    runtime: RuntimeDep,
    _: Reader,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ChangePublic]:
    """A product's field-level changes, oldest first: old and new value, who and when."""
    async with runtime.db.reader() as session:
        page = await service.list_changes(
            session=session, product_id=product_id, limit=limit, cursor=cursor
        )
    return page.map(change_public)


def _describe(response: Response, product: ProductPublic) -> ProductPublic:
    """Tag the response with the product's version, for `If-Match` on the next update."""
    response.headers["ETag"] = etag(product.version)
    return product
