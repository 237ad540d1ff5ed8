"""Use cases of product variants; writes add their events to the caller's unit of work.

Every write locks the product's row first (then the variant's), the same order as the
product's lifecycle use case, so a variant move and its product's move never interleave.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Row,
    String,
    bindparam,
    insert,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.catalog.decisions.service import check_move
from services.catalog.domain import Lifecycle, diff_fields
from services.catalog.events import catalog_event, completeness_data, field_changes
from services.catalog.notices import ClaimingSkus, LifecycleMoved
from services.catalog.schemas import MAX_ATTRIBUTES
from services.catalog.tables import product, product_type
from services.catalog.variants.domain import (
    ProductContext,
    axes_key,
    check_axes,
    check_new_variant,
    check_overrides,
    follow_product,
    history_fields,
    merge_patch,
    normalize_axes,
    variant_completeness,
    variant_transition,
)
from services.catalog.variants.events import (
    VariantCreated,
    VariantLifecycleChanged,
    VariantUpdated,
)
from services.catalog.variants.schemas import VariantCreate, VariantUpdate
from services.catalog.variants.tables import product_variant
from shared.auth import Principal
from shared.concurrency import check_version
from shared.db import one_of_param, one_of_values
from shared.errors import Conflict, NotFound, field_error
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

VariantRow = Row[Any]
VARIANTS = Keyset(product_variant.c.id)
# The two-key advisory lock space is apart from the one-key space the outbox relay uses.
_SKU_LOCK_SPACE = 0x534B55
# One lock a SKU, taken in one order (of the hashes), so two groups of creates sharing
# SKUs wait for each other rather than deadlock.
_LOCK_SKUS = text(
    "SELECT pg_advisory_xact_lock(:space, h) FROM"
    " (SELECT DISTINCT hashtext(s) AS h FROM unnest(:skus) AS s ORDER BY h) AS ordered"
).bindparams(bindparam("space", _SKU_LOCK_SPACE), bindparam("skus", type_=ARRAY(String)))


@cache
def _sku_holders(dialect: str) -> CompoundSelect:
    """Who holds each of the SKUs `skus` binds, products before variants, in one statement;
    built once for each dialect."""
    return union_all(
        select(
            literal_column("'product'").label("kind"),
            product.c.sku.label("sku"),
            product.c.id.label("id"),
            product.c.id.label("product_id"),
        ).where(one_of_param(product.c.sku, "skus", dialect=dialect)),
        select(
            literal_column("'variant'"),
            product_variant.c.sku,
            product_variant.c.id,
            product_variant.c.product_id,
        ).where(one_of_param(product_variant.c.sku, "skus", dialect=dialect)),
    ).order_by("kind")


# --- SKUs, shared with product creation ---------------------------------------------------------


async def claim_skus(*, uow: UnitOfWork, skus: Sequence[str]) -> dict[str, Conflict]:
    """The 409 of each of `skus` a product or a variant holds; on PostgreSQL, also serialize
    the creates of each SKU to the end of the transaction.

    Products and variants live in two tables, so no one unique index covers both; a
    transaction-scoped advisory lock per SKU closes the race between the check and the insert
    (SQLite's BEGIN IMMEDIATE already serializes writers).
    """
    if uow.dialect == "postgresql":
        await uow.session.execute(_LOCK_SKUS, {"skus": list(skus)})
    refused: dict[str, Conflict] = {}
    holders = _sku_holders(uow.dialect)
    bound = {"skus": one_of_values(skus, dialect=uow.dialect)}
    for held in await uow.session.execute(holders, bound):
        if held.sku not in refused:
            refused[held.sku] = _held(held)
    return refused


def _held(held: Row[Any]) -> Conflict:
    if held.kind == "product":
        return Conflict(
            f"a product with SKU {held.sku!r} already exists", sku=held.sku, product_id=held.id
        )
    return Conflict(
        f"a variant with SKU {held.sku!r} already exists",
        sku=held.sku,
        product_id=held.product_id,
        variant_id=held.id,
    )


async def claim_product_skus(uow: UnitOfWork, claiming: ClaimingSkus) -> None:
    """Subscribes to the core's product creation: new products claim their SKUs here too."""
    claiming.refused.update(await claim_skus(uow=uow, skus=claiming.skus))


# --- variants ----------------------------------------------------------------------------------


async def create_variant(
    *, uow: UnitOfWork, product_id: str, data: VariantCreate, actor: Principal
) -> tuple[VariantRow, ProductContext]:
    """Add a draft variant; 409 for a taken SKU, clashing axes or a discontinued product."""
    context = await _context(uow.session, product_id, lock=True)
    check_new_variant(context.lifecycle)
    check_overrides(data.axes, data.attributes)
    if refused := await claim_skus(uow=uow, skus=[data.sku]):
        raise refused[data.sku]
    check_axes(data.axes, await _sibling_axes(uow.session, product_id))
    now = uow.clock()
    values = {
        "id": str(uuid7()),
        "product_id": product_id,
        "sku": data.sku,
        "axes": data.axes,
        "axes_key": axes_key(data.axes),
        "attributes": data.attributes,
        "lifecycle": Lifecycle.DRAFT.value,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "created_by": actor.subject,
    }
    try:
        # The checks above hold the locks; the unique indexes are the last line of defence.
        async with uow.session.begin_nested():
            stmt = insert(product_variant).values(values).returning(*product_variant.c)
            row = (await uow.session.execute(stmt)).one()
    except IntegrityError as exc:
        raise Conflict(
            f"a variant with SKU {data.sku!r} or with these axis values already exists",
            sku=data.sku,
        ) from exc
    payload = VariantCreated(
        variant_id=row.id,
        product_id=row.product_id,
        sku=row.sku,
        axes=row.axes,
        attributes=row.attributes,
        lifecycle=Lifecycle(row.lifecycle),
        completeness=completeness_data(variant_completeness(context, row.axes, row.attributes)),
        version=row.version,
        created_at=row.created_at,
    )
    uow.publish(catalog_event(payload, subject=product_id, sequence=None))
    return row, context


async def get_variant(
    *, session: AsyncSession, product_id: str, variant_id: str
) -> tuple[VariantRow, ProductContext]:
    """One variant of a product, with its product's context; 404 if either is unknown."""
    context = await _context(session, product_id, lock=False)
    stmt = select(product_variant).where(
        product_variant.c.product_id == product_id, product_variant.c.id == variant_id
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise _variant_not_found(product_id, variant_id)
    return row, context


async def list_variants(
    *,
    session: AsyncSession,
    product_id: str,
    lifecycle: Lifecycle | None,
    limit: int,
    cursor: str | None,
) -> tuple[Page[VariantRow], ProductContext]:
    """A product's variants in creation order, one keyset page; 404 if the product is unknown."""
    context = await _context(session, product_id, lock=False)
    stmt = select(product_variant).where(product_variant.c.product_id == product_id)
    if lifecycle is not None:
        stmt = stmt.where(product_variant.c.lifecycle == lifecycle.value)
    return await VARIANTS.page(session, stmt, limit=limit, cursor=cursor), context


async def update_variant(
    *,
    uow: UnitOfWork,
    product_id: str,
    variant_id: str,
    data: VariantUpdate,
    expected_version: int | None,
) -> tuple[VariantRow, ProductContext]:
    """Patch a variant's axes or overrides; 412 if stale. A patch that changes nothing bumps
    nothing."""
    context = await _context(uow.session, product_id, lock=True)
    row = await _locked_variant(uow.session, product_id, variant_id)
    check_version(expected_version, row.version)
    patch = data.patch()
    axes: dict[str, str] = dict(row.axes)
    overrides: dict[str, Any] = dict(row.attributes)
    if "axes" in patch:
        axes = normalize_axes(merge_patch(axes, patch["axes"]))
    if "attributes" in patch:
        overrides = (
            {} if patch["attributes"] is None else merge_patch(overrides, patch["attributes"])
        )
    changes = diff_fields(history_fields(row.axes, row.attributes), history_fields(axes, overrides))
    if not changes:
        return row, context
    if len(overrides) > MAX_ATTRIBUTES:
        raise field_error(
            "attributes",
            "too many attributes",
            detail=f"a variant has at most {MAX_ATTRIBUTES} attribute overrides",
        )
    check_overrides(axes, overrides)
    new_key = axes_key(axes)
    if new_key != row.axes_key or set(axes) != set(row.axes):
        check_axes(axes, await _sibling_axes(uow.session, product_id, but=variant_id))
    values = {
        "axes": axes,
        "axes_key": new_key,
        "attributes": overrides,
        "version": row.version + 1,
        "updated_at": uow.clock(),
    }
    row = await _save(uow.session, row.id, values)
    payload = VariantUpdated(
        variant_id=row.id,
        product_id=row.product_id,
        sku=row.sku,
        version=row.version,
        changes=field_changes(changes),
        completeness=completeness_data(variant_completeness(context, row.axes, row.attributes)),
    )
    uow.publish(catalog_event(payload, subject=product_id, sequence=None))
    return row, context


async def change_variant_lifecycle(
    *,
    uow: UnitOfWork,
    product_id: str,
    variant_id: str,
    to: Lifecycle,
    expected_version: int | None,
) -> tuple[VariantRow, ProductContext]:
    """Move a variant along its lifecycle; 409 if the rules, its product or its decision forbid."""
    context = await _context(uow.session, product_id, lock=True)
    row = await _locked_variant(uow.session, product_id, variant_id)
    check_version(expected_version, row.version)
    current = Lifecycle(row.lifecycle)
    target = variant_transition(current, to, product=context.lifecycle)
    await check_move(session=uow.session, product_id=product_id, to=target, what="variant")
    values = {
        "lifecycle": target.value,
        "version": row.version + 1,
        "updated_at": uow.clock(),
    }
    row = await _save(uow.session, row.id, values)
    payload = VariantLifecycleChanged(
        variant_id=row.id,
        product_id=row.product_id,
        sku=row.sku,
        from_=current,
        to=target,
        version=row.version,
        reason="requested",
    )
    uow.publish(catalog_event(payload, subject=product_id, sequence=None))
    return row, context


async def follow_product_lifecycle(uow: UnitOfWork, moved: LifecycleMoved) -> None:
    """Move the product's variants after it (discontinued with it), one event per variant.

    Subscribes to the core's lifecycle moves, so it runs under the product's row lock, after
    the product's own event is published.
    """
    product_id, to = moved.product_id, moved.to
    if Lifecycle(to) is not Lifecycle.DISCONTINUED:
        return
    stmt = (
        select(product_variant)
        .where(product_variant.c.product_id == product_id)
        .order_by(product_variant.c.id)
        .with_for_update()
    )
    now = uow.clock()
    for row in (await uow.session.execute(stmt)).all():
        current = Lifecycle(row.lifecycle)
        target = follow_product(to, current)
        if target is None:
            continue
        values = {"lifecycle": target.value, "version": row.version + 1, "updated_at": now}
        saved = await _save(uow.session, row.id, values)
        payload = VariantLifecycleChanged(
            variant_id=saved.id,
            product_id=product_id,
            sku=saved.sku,
            from_=current,
            to=target,
            version=saved.version,
            reason="product_discontinued",
        )
        uow.publish(catalog_event(payload, subject=product_id, sequence=None))


# --- helpers -----------------------------------------------------------------------------------


async def _context(session: AsyncSession, product_id: str, *, lock: bool) -> ProductContext:
    stmt = (
        select(
            product.c.name,
            product.c.brand,
            product.c.description,
            product.c.attributes,
            product.c.lifecycle,
            product_type.c.required_attributes,
        )
        .join(product_type, product.c.product_type == product_type.c.code)
        .where(product.c.id == product_id)
    )
    if lock:
        # FOR UPDATE OF product on PostgreSQL; SQLite's BEGIN IMMEDIATE serializes writers.
        stmt = stmt.with_for_update(of=product)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no product with id {product_id!r}")
    return ProductContext(
        name=row.name,
        brand=row.brand,
        description=row.description,
        attributes=dict(row.attributes),
        lifecycle=Lifecycle(row.lifecycle),
        required_attributes=tuple(row.required_attributes),
    )


async def _locked_variant(session: AsyncSession, product_id: str, variant_id: str) -> VariantRow:
    stmt = (
        select(product_variant)
        .where(product_variant.c.product_id == product_id, product_variant.c.id == variant_id)
        .with_for_update()
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise _variant_not_found(product_id, variant_id)
    return row


async def _sibling_axes(
    session: AsyncSession, product_id: str, *, but: str | None = None
) -> list[dict[str, str]]:
    stmt = (
        select(product_variant.c.axes)
        .where(product_variant.c.product_id == product_id)
        .order_by(product_variant.c.id)
    )
    if but is not None:
        stmt = stmt.where(product_variant.c.id != but)
    return [dict(axes) for axes in (await session.scalars(stmt)).all()]


async def _save(session: AsyncSession, variant_id: str, values: dict[str, Any]) -> VariantRow:
    stmt = update(product_variant).where(product_variant.c.id == variant_id).values(values)
    return (await session.execute(stmt.returning(*product_variant.c))).one()


def _variant_not_found(product_id: str, variant_id: str) -> NotFound:
    return NotFound(f"product {product_id!r} has no variant with id {variant_id!r}")
