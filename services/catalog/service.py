"""Catalog use cases: each loads, applies the domain rules, saves and adds its events to the
outbox in the caller's unit of work. Reads take a read-only session instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.catalog.decisions.service import check_move
from services.catalog.domain import (
    Completeness,
    FieldChange,
    Lifecycle,
    apply_patch,
    compute_completeness,
    diff_fields,
    transition,
)
from services.catalog.events import (
    FieldChanged,
    LifecycleChanged,
    ProductCreated,
    ProductTypeCreated,
    ProductUpdated,
    catalog_event,
)
from services.catalog.requirements.matching import product_changed
from services.catalog.schemas import (
    MAX_ATTRIBUTES,
    CompletenessPublic,
    ProductCreate,
    ProductTypeCreate,
    ProductUpdate,
    money_of,
    product_public,
)
from services.catalog.tables import product, product_change, product_type
from services.catalog.variants.service import claim_sku, follow_product_lifecycle
from shared.auth import Principal
from shared.concurrency import check_version
from shared.errors import Conflict, Invalid, NotFound
from shared.pagination import decode_cursor, page_of
from shared.uow import UnitOfWork

ProductRow = Row[Any]
ProductTypeRow = Row[Any]
PageOf = tuple[list[Row[Any]], str | None]


# --- product types -----------------------------------------------------------------------------


async def create_product_type(*, uow: UnitOfWork, data: ProductTypeCreate) -> ProductTypeRow:
    """Create a product type; 409 if its code is taken."""
    exists = await uow.session.scalar(
        select(product_type.c.code).where(product_type.c.code == data.code)
    )
    if exists is not None:
        raise _duplicate_type(data.code)
    values = {
        "code": data.code,
        "name": data.name,
        "required_attributes": list(data.required_attributes),
        "created_at": uow.clock(),
        "version": 1,
    }
    try:
        # A savepoint, so a concurrent insert that won the race leaves the transaction usable.
        async with uow.session.begin_nested():
            row = (
                await uow.session.execute(
                    insert(product_type).values(values).returning(*product_type.c)
                )
            ).one()
    except IntegrityError as exc:
        raise _duplicate_type(data.code) from exc
    payload = ProductTypeCreated(
        code=row.code,
        name=row.name,
        required_attributes=row.required_attributes,
        version=row.version,
        created_at=row.created_at,
    )
    uow.publish(catalog_event(payload, subject=row.code, sequence=row.version))
    return row


async def get_product_type(*, session: AsyncSession, code: str) -> ProductTypeRow:
    """One product type; 404 if unknown."""
    row = (await session.execute(select(product_type).where(product_type.c.code == code))).first()
    if row is None:
        raise NotFound(f"no product type with code {code!r}")
    return row


async def list_product_types(*, session: AsyncSession, limit: int, cursor: str | None) -> PageOf:
    """Product types by code, one keyset page."""
    stmt = select(product_type).order_by(product_type.c.code)
    after = _after(cursor, str)
    if after is not None:
        stmt = stmt.where(product_type.c.code > after)
    return await _page(session, stmt, limit, lambda row: [row.code])


# --- products ----------------------------------------------------------------------------------


async def create_product(*, uow: UnitOfWork, data: ProductCreate, actor: Principal) -> ProductRow:
    """Create a draft product; 422 for an unknown product type, 409 for a taken SKU."""
    required = await _required_attributes(uow.session, data.product_type)
    # Products and variants share one SKU space.
    await claim_sku(uow=uow, sku=data.sku)
    completeness = compute_completeness(
        name=data.name,
        brand=data.brand,
        description=data.description,
        attributes=data.attributes,
        required_attributes=required,
    )
    now = uow.clock()
    values = {
        "id": str(uuid7()),
        "sku": data.sku,
        "name": data.name,
        "product_type": data.product_type,
        "brand": data.brand,
        "vendor": data.vendor,
        "description": data.description,
        "attributes": data.attributes,
        "cost_amount": data.cost.amount if data.cost else None,
        "cost_currency": data.cost.currency if data.cost else None,
        "lifecycle": Lifecycle.DRAFT.value,
        **_completeness_values(completeness),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "created_by": actor.subject,
    }
    try:
        async with uow.session.begin_nested():
            row = (
                await uow.session.execute(insert(product).values(values).returning(*product.c))
            ).one()
    except IntegrityError as exc:
        raise _duplicate_sku(data.sku) from exc
    snapshot = product_public(row).model_dump(exclude={"id", "updated_at"})
    payload = ProductCreated(product_id=row.id, **snapshot)
    uow.publish(catalog_event(payload, subject=row.id, sequence=row.version))
    return row


async def get_product(*, session: AsyncSession, product_id: str) -> ProductRow:
    """One product; 404 if unknown."""
    row = (await session.execute(select(product).where(product.c.id == product_id))).first()
    if row is None:
        raise _product_not_found(product_id)
    return row


async def list_products(
    *,
    session: AsyncSession,
    q: str | None,
    product_type: str | None,
    brand: str | None,
    lifecycle: Lifecycle | None,
    limit: int,
    cursor: str | None,
) -> PageOf:
    """Products in creation order, filtered, one keyset page; `q` matches name, SKU or brand."""
    stmt = select(product).order_by(product.c.id)
    if q and q.strip():
        needle = q.strip()
        stmt = stmt.where(
            or_(
                *(
                    column.icontains(needle, autoescape=True)
                    for column in (product.c.name, product.c.sku, product.c.brand)
                )
            )
        )
    if product_type is not None:
        stmt = stmt.where(product.c.product_type == product_type)
    if brand is not None:
        stmt = stmt.where(product.c.brand == brand)
    if lifecycle is not None:
        stmt = stmt.where(product.c.lifecycle == lifecycle.value)
    after = _after(cursor, str)
    if after is not None:
        stmt = stmt.where(product.c.id > after)
    return await _page(session, stmt, limit, lambda row: [row.id])


async def update_product(
    *,
    uow: UnitOfWork,
    product_id: str,
    data: ProductUpdate,
    expected_version: int | None,
    actor: Principal,
) -> ProductRow:
    """Apply a partial update; 412 if stale. A patch that changes nothing bumps nothing."""
    row = await _locked_product(uow, product_id)
    check_version(expected_version, row.version)
    before = _fields(row)
    after: dict[str, Any] = apply_patch(before, data.patch())
    changes = diff_fields(before, after)
    if not changes:
        return row
    attributes: dict[str, Any] = after["attributes"]
    if len(attributes) > MAX_ATTRIBUTES:
        raise Invalid(
            f"a product has at most {MAX_ATTRIBUTES} attributes",
            field="attributes",
            errors=[{"loc": ["body", "attributes"], "msg": "too many attributes"}],
        )
    required = await _required_attributes(uow.session, after["product_type"])
    completeness = compute_completeness(
        name=after["name"],
        brand=after["brand"],
        description=after["description"],
        attributes=attributes,
        required_attributes=required,
    )
    cost: dict[str, str] | None = after["cost"]
    now = uow.clock()
    values = {
        "name": after["name"],
        "brand": after["brand"],
        "product_type": after["product_type"],
        "vendor": after["vendor"],
        "description": after["description"],
        "attributes": attributes,
        "cost_amount": Decimal(cost["amount"]) if cost else None,
        "cost_currency": cost["currency"] if cost else None,
        **_completeness_values(completeness),
        "version": row.version + 1,
        "updated_at": now,
    }
    row = await _save(uow, row.id, values)
    await _record(uow, row, changes, actor, now)
    # Requirements and recommendations follow what active products offer (issue 3).
    await product_changed(uow=uow, product=row)
    payload = ProductUpdated(
        product_id=row.id,
        sku=row.sku,
        version=row.version,
        changes=[FieldChanged(field=c.field, old=c.old, new=c.new) for c in changes],
        completeness=CompletenessPublic(
            score=completeness.score, missing=list(completeness.missing)
        ),
    )
    uow.publish(catalog_event(payload, subject=row.id, sequence=row.version))
    return row


async def change_lifecycle(
    *,
    uow: UnitOfWork,
    product_id: str,
    to: Lifecycle,
    expected_version: int | None,
    actor: Principal,
) -> ProductRow:
    """Move a product along its lifecycle; 409 for a transition the rules forbid."""
    row = await _locked_product(uow, product_id)
    check_version(expected_version, row.version)
    current = Lifecycle(row.lifecycle)
    target = transition(current, to)
    # A rejected product cannot become active (issue 3): 409 with the decision.
    await check_move(session=uow.session, product_id=row.id, to=target)
    now = uow.clock()
    values = {"lifecycle": target.value, "version": row.version + 1, "updated_at": now}
    row = await _save(uow, row.id, values)
    await _record(uow, row, [FieldChange("lifecycle", current.value, target.value)], actor, now)
    await product_changed(uow=uow, product=row)
    payload = LifecycleChanged(
        product_id=row.id, sku=row.sku, from_=current, to=target, version=row.version
    )
    uow.publish(catalog_event(payload, subject=row.id, sequence=row.version))
    # A discontinued product's variants are discontinued with it, one event each.
    await follow_product_lifecycle(uow=uow, product_id=row.id, to=target)
    return row


async def list_changes(
    *, session: AsyncSession, product_id: str, limit: int, cursor: str | None
) -> PageOf:
    """A product's field-level history, oldest first, one keyset page; 404 if unknown."""
    await get_product(session=session, product_id=product_id)
    stmt = (
        select(product_change)
        .where(product_change.c.product_id == product_id)
        .order_by(product_change.c.id)
    )
    after = _after(cursor, int)
    if after is not None:
        stmt = stmt.where(product_change.c.id > after)
    return await _page(session, stmt, limit, lambda row: [row.id])


# --- helpers -----------------------------------------------------------------------------------


async def _required_attributes(session: AsyncSession, code: str) -> list[str]:
    required = await session.scalar(
        select(product_type.c.required_attributes).where(product_type.c.code == code)
    )
    if required is None:
        raise Invalid(
            f"unknown product type {code!r}; create it with POST /v1/product-types first",
            field="product_type",
            errors=[{"loc": ["body", "product_type"], "msg": "unknown product type"}],
        )
    return list(required)


async def _locked_product(uow: UnitOfWork, product_id: str) -> ProductRow:
    # FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers.
    stmt = select(product).where(product.c.id == product_id).with_for_update()
    row = (await uow.session.execute(stmt)).first()
    if row is None:
        raise _product_not_found(product_id)
    return row


async def _save(uow: UnitOfWork, product_id: str, values: dict[str, Any]) -> ProductRow:
    stmt = update(product).where(product.c.id == product_id).values(values)
    return (await uow.session.execute(stmt.returning(*product.c))).one()


async def _record(
    uow: UnitOfWork,
    row: ProductRow,
    changes: Sequence[FieldChange],
    actor: Principal,
    at: datetime,
) -> None:
    await uow.session.execute(
        insert(product_change),
        [
            {
                "product_id": row.id,
                "version": row.version,
                "field": change.field,
                "old_value": change.old,
                "new_value": change.new,
                "changed_by": actor.subject,
                "changed_by_name": actor.name,
                "changed_at": at,
            }
            for change in changes
        ],
    )


def _fields(row: ProductRow) -> dict[str, object]:
    """The patchable fields as JSON values, the shape `apply_patch` and `diff_fields` see."""
    cost = money_of(row.cost_amount, row.cost_currency)
    return {
        "name": row.name,
        "brand": row.brand,
        "product_type": row.product_type,
        "vendor": row.vendor,
        "description": row.description,
        "attributes": dict(row.attributes),
        "cost": cost.model_dump(mode="json") if cost else None,
    }


def _completeness_values(completeness: Completeness) -> dict[str, Any]:
    return {
        "completeness_score": completeness.score,
        "completeness_missing": list(completeness.missing),
    }


def _after(cursor: str | None, kind: type) -> Any:
    """The keyset position in a cursor, which must hold one value of `kind`."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    # bool is an int subclass; a cursor of [true] was not made by us.
    if len(position) != 1 or type(position[0]) is not kind:
        raise Invalid(
            "the cursor is malformed; pass next_cursor unchanged",
            errors=[{"loc": ["query", "cursor"], "msg": "malformed cursor"}],
        )
    return position[0]


async def _page(session: AsyncSession, stmt: Select[Any], limit: int, position: Any) -> PageOf:
    rows = list((await session.execute(stmt.limit(limit + 1))).all())
    return page_of(rows, limit, position)


def _duplicate_type(code: str) -> Conflict:
    return Conflict(f"a product type with code {code!r} already exists", code=code)


def _duplicate_sku(sku: str, product_id: str | None = None) -> Conflict:
    extra = {"product_id": product_id} if product_id else {}
    return Conflict(f"a product with SKU {sku!r} already exists", sku=sku, **extra)


def _product_not_found(product_id: str) -> NotFound:
    return NotFound(f"no product with id {product_id!r}")
