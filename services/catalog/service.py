"""Catalog use cases: each loads, applies the domain rules, saves and adds its events to the
outbox in the caller's unit of work. Reads take a read-only session instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    bindparam,
    column,
    func,
    insert,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

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
    ProductTypeCreated,
    catalog_event,
    cost_value,
    lifecycle_changed,
    product_created,
    product_updated,
)
from services.catalog.notices import (
    ClaimingSkus,
    CoreNotices,
    LifecycleMoved,
    MovingLifecycle,
    ProductChanged,
)
from services.catalog.schemas import (
    MAX_ATTRIBUTES,
    ProductCreate,
    ProductTypeCreate,
    ProductUpdate,
)
from services.catalog.tables import product, product_change, product_type
from shared.auth import Principal
from shared.concurrency import check_version
from shared.db import one_of_param, one_of_values
from shared.errors import Conflict, DomainError, Invalid, NotFound, field_error
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

ProductRow = Row[Any]
ProductTypeRow = Row[Any]
PRODUCT_TYPES = Keyset(product_type.c.code)
# Ids are UUIDv7: their order is creation order.
PRODUCTS = Keyset(product.c.id)
CHANGES = Keyset(product_change.c.id)


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
        raise unknown_product_type(code)
    return row


def unknown_product_type(code: str) -> NotFound:
    """The 404 of a product type code that names none."""
    return NotFound(f"no product type with code {code!r}")


async def list_product_types(
    *, session: AsyncSession, limit: int, cursor: str | None
) -> Page[ProductTypeRow]:
    """Product types by code, one keyset page."""
    return await PRODUCT_TYPES.page(session, select(product_type), limit=limit, cursor=cursor)


# --- products ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewProduct:
    """One product to create, and who asks."""

    data: ProductCreate
    actor: Principal


async def create_product(
    *, uow: UnitOfWork, data: ProductCreate, actor: Principal, notices: CoreNotices
) -> ProductRow:
    """Create a draft product; 422 for an unknown product type, 409 for a taken SKU."""
    created = await create_products(uow=uow, new=[NewProduct(data, actor)], notices=notices)
    if isinstance(created[0], DomainError):
        raise created[0]
    return created[0]


# Types are few (a catalog's kinds of product); the bound only keeps a process's memory
# bounded should a caller create types without end.
MAX_TYPES_KEPT = 10_000


class RequiredAttributes:
    """The required attributes of product types, each type read from the database once.

    A product type never changes once created (no route updates or deletes one), so what
    a process has read stays true: a group of creates then skips that statement, one of the
    few each group waits on the event loop for. Only types found are kept.
    """

    def __init__(self) -> None:
        self._known: dict[str, list[str]] = {}

    async def of(self, uow: UnitOfWork, codes: set[str]) -> dict[str, list[str]]:
        """The required attributes of each of the types `codes` names that exists."""
        if missing := codes - self._known.keys():
            if len(self._known) >= MAX_TYPES_KEPT:
                self._known.clear()
            self._known.update(await _required_attributes_of(uow, missing))
        return {code: self._known[code] for code in codes if code in self._known}


async def create_products(
    *,
    uow: UnitOfWork,
    new: Sequence[NewProduct],
    notices: CoreNotices,
    types: RequiredAttributes | None = None,
) -> list[ProductRow | DomainError]:
    """Create draft products in one unit of work, with one statement a step for all of them
    (group commit, `services/catalog/creates.py`). Each is answered in order with its row or
    its own error, which leaves the others to be created: 422 for an unknown product type,
    409 for a SKU taken before or by an earlier one of `new`. `types` may keep the product
    types' required attributes from one call to the next."""
    types = types or RequiredAttributes()
    required = await types.of(uow, {item.data.product_type for item in new})
    claiming = ClaimingSkus(skus=tuple(dict.fromkeys(item.data.sku for item in new)))
    await notices.send(uow, claiming)
    now = uow.clock()
    answers: list[str | DomainError] = []
    to_insert: list[dict[str, Any]] = []
    claimed: dict[str, str] = {}  # SKU: the id of the product of `new` that takes it
    for item in new:
        data = item.data
        if data.product_type not in required:
            answers.append(_unknown_product_type_field(data.product_type))
        elif refused := claiming.refused.get(data.sku):
            answers.append(refused)
        elif data.sku in claimed:
            answers.append(_duplicate_sku(data.sku, product_id=claimed[data.sku]))
        else:
            values = _new_product(item, required[data.product_type], now)
            claimed[data.sku] = values["id"]
            to_insert.append(values)
            answers.append(values["id"])
    rows = await _inserted_products(uow, to_insert) if to_insert else {}
    uow.publish_many(
        catalog_event(product_created(row), subject=row.id, sequence=row.version)
        for row in rows.values()
    )
    return [rows[answer] if isinstance(answer, str) else answer for answer in answers]


async def _inserted_products(
    uow: UnitOfWork, values: list[dict[str, Any]]
) -> dict[str, ProductRow]:
    """Insert new products with one statement; their rows by id."""
    # No savepoint around the insert: the claim has already refused every taken SKU under
    # the write lock. Should the insert fail anyway, it fails the whole unit of work: a
    # group is then created again product by product (`GroupCommit`), and alone a failed
    # insert is that product's 409.
    try:
        inserted = await uow.session.execute(_INSERT_PRODUCT, values)
    except IntegrityError as exc:
        if len(values) > 1:
            raise
        raise _duplicate_sku(values[0]["sku"]) from exc
    return {row.id: row for row in inserted}


def _new_product(item: NewProduct, required: list[str], now: datetime) -> dict[str, Any]:
    """The row of a new draft product."""
    data = item.data
    completeness = compute_completeness(
        name=data.name,
        brand=data.brand,
        description=data.description,
        attributes=data.attributes,
        required_attributes=required,
    )
    return {
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
        "created_by": item.actor.subject,
    }


async def get_product(*, session: AsyncSession, product_id: str) -> ProductRow:
    """One product; 404 if unknown."""
    row = (await session.execute(select(product).where(product.c.id == product_id))).first()
    if row is None:
        raise _product_not_found(product_id)
    return row


async def product_stats(*, session: AsyncSession) -> dict[str, int]:
    """How many products are in each lifecycle state, every state named (zeros included)."""
    counted = await session.execute(
        select(product.c.lifecycle, func.count()).group_by(product.c.lifecycle)
    )
    by_lifecycle = dict.fromkeys((state.value for state in Lifecycle), 0)
    by_lifecycle.update({state: count for state, count in counted.all()})
    return by_lifecycle


async def list_products(
    *,
    session: AsyncSession,
    q: str | None,
    product_type: str | None,
    brand: str | None,
    lifecycle: Lifecycle | None,
    limit: int,
    cursor: str | None,
) -> Page[ProductRow]:
    """Products in creation order, filtered, one keyset page; `q` matches name, SKU or brand."""
    stmt = select(product)
    if q and q.strip():
        stmt = await _matching(session, stmt, q.strip())
    if product_type is not None:
        stmt = stmt.where(product.c.product_type == product_type)
    if brand is not None:
        stmt = stmt.where(product.c.brand == brand)
    if lifecycle is not None:
        stmt = stmt.where(product.c.lifecycle == lifecycle.value)
    return await PRODUCTS.page(session, stmt, limit=limit, cursor=cursor)


async def update_product(
    *,
    uow: UnitOfWork,
    product_id: str,
    data: ProductUpdate,
    expected_version: int | None,
    actor: Principal,
    notices: CoreNotices,
) -> ProductRow:
    """Apply a partial update; 412 if stale. A patch that changes nothing bumps nothing."""
    row = await _locked_product(uow, product_id)
    check_version(expected_version, row.version)
    before = _fields(row)
    after: dict[str, Any] = apply_patch(before, data.patch())
    if after["cost"] is not None:
        # The patch's cost in the form `before` has, whatever text the API model writes.
        after["cost"] = cost_value(Decimal(after["cost"]["amount"]), after["cost"]["currency"])
    changes = diff_fields(before, after)
    if not changes:
        return row
    attributes: dict[str, Any] = after["attributes"]
    if len(attributes) > MAX_ATTRIBUTES:
        raise field_error(
            "attributes",
            "too many attributes",
            detail=f"a product has at most {MAX_ATTRIBUTES} attributes",
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
    await notices.send(uow, ProductChanged(product=row))
    payload = product_updated(row, changes, completeness)
    uow.publish(catalog_event(payload, subject=row.id, sequence=row.version))
    return row


async def change_lifecycle(
    *,
    uow: UnitOfWork,
    product_id: str,
    to: Lifecycle,
    expected_version: int | None,
    actor: Principal,
    notices: CoreNotices,
) -> ProductRow:
    """Move a product along its lifecycle; 409 for a transition the rules forbid."""
    row = await _locked_product(uow, product_id)
    check_version(expected_version, row.version)
    current = Lifecycle(row.lifecycle)
    target = transition(current, to)
    await notices.send(uow, MovingLifecycle(product_id=row.id, to=target))
    now = uow.clock()
    values = {"lifecycle": target.value, "version": row.version + 1, "updated_at": now}
    row = await _save(uow, row.id, values)
    await _record(uow, row, [FieldChange("lifecycle", current.value, target.value)], actor, now)
    await notices.send(uow, ProductChanged(product=row))
    payload = lifecycle_changed(row, previous=current)
    uow.publish(catalog_event(payload, subject=row.id, sequence=row.version))
    await notices.send(uow, LifecycleMoved(product_id=row.id, from_=current, to=target))
    return row


async def lock_product(*, uow: UnitOfWork, product_id: str) -> ProductRow:
    """The product's row, locked until `uow` ends (moves and decisions wait); 404 if unknown."""
    return await _locked_product(uow, product_id)


async def list_changes(
    *, session: AsyncSession, product_id: str, limit: int, cursor: str | None
) -> Page[Row[Any]]:
    """A product's field-level history, oldest first, one keyset page; 404 if unknown."""
    await get_product(session=session, product_id=product_id)
    stmt = select(product_change).where(product_change.c.product_id == product_id)
    return await CHANGES.page(session, stmt, limit=limit, cursor=cursor)


# --- helpers -----------------------------------------------------------------------------------

# Candidates the SQLite trigram index may name before its answer is set aside for the scan.
SEARCH_CANDIDATES = 1000
SEARCH_MIN_CHARS = 3
_SEARCH_KEYS = table("product_search_key", column("seq"), column("product_id"))


async def _matching(session: AsyncSession, stmt: Select[Any], needle: str) -> Select[Any]:
    """`stmt` narrowed to products whose name, SKU or brand contains `needle`, ignoring case.

    The condition is always the substring match itself; an index only narrows the rows it is
    checked on, so every path gives the same answer. PostgreSQL: ILIKE, which the trigram
    indexes serve (`lower(x) LIKE lower(y)`, what `icontains` writes, they cannot). SQLite:
    the FTS5 trigram table names the candidates first, unless the needle is shorter than a
    trigram or matches more than `SEARCH_CANDIDATES` products; then matches are dense, and
    walking the products in page order finds a page of them after few rows.
    """
    pattern = "%" + _escape_like(needle) + "%"
    columns = (product.c.name, product.c.sku, product.c.brand)
    stmt = stmt.where(or_(*(c.ilike(pattern, escape=LIKE_ESCAPE) for c in columns)))
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # asyncpg prepares statements, and after five runs PostgreSQL may keep one generic
        # plan for them: not knowing the needle, it walks the primary key in page order,
        # fine for a common word but 600 ms for one rare SKU in 100,000 products. Planned for
        # each needle, the trigram indexes serve the rare ones.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    if dialect != "sqlite" or len(needle) < SEARCH_MIN_CHARS:
        return stmt
    # An FTS5 phrase: the needle quoted, its quotes doubled, so no character is an operator.
    phrase = '"' + needle.replace('"', '""') + '"'
    found = await session.scalars(
        select(_SEARCH_KEYS.c.product_id)
        .select_from(
            _SEARCH_KEYS.join(
                text("product_search"), text("product_search.rowid = product_search_key.seq")
            )
        )
        .where(text("product_search MATCH :phrase").bindparams(phrase=phrase))
        .limit(SEARCH_CANDIDATES + 1)
    )
    candidates = list(found)
    if len(candidates) > SEARCH_CANDIDATES:
        return stmt
    return stmt.where(product.c.id.in_(candidates))


LIKE_ESCAPE = "/"


def _escape_like(value: str) -> str:
    """`value` matched literally by LIKE with `LIKE_ESCAPE`, as `icontains(autoescape=True)`."""
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


# The statements of every create, built once: SQLAlchemy then finds their compiled form
# from a key computed once, not from a new statement built and keyed per request.
_REQUIRED_ATTRIBUTES = select(product_type.c.required_attributes).where(
    product_type.c.code == bindparam("code")
)
_INSERT_PRODUCT = insert(product).returning(*product.c)


async def _required_attributes(session: AsyncSession, code: str) -> list[str]:
    required = await session.scalar(_REQUIRED_ATTRIBUTES, {"code": code})
    if required is None:
        raise _unknown_product_type_field(code)
    return list(required)


async def _required_attributes_of(uow: UnitOfWork, codes: set[str]) -> dict[str, list[str]]:
    """The required attributes of each of the product types `codes` names that exists."""
    found = await uow.session.execute(
        _required_attributes_of_codes(uow.dialect),
        {"codes": one_of_values(codes, dialect=uow.dialect)},
    )
    return {code: list(required) for code, required in found}


@cache
def _required_attributes_of_codes(dialect: str) -> Select[Any]:
    return select(product_type.c.code, product_type.c.required_attributes).where(
        one_of_param(product_type.c.code, "codes", dialect=dialect)
    )


def _unknown_product_type_field(code: str) -> Invalid:
    return field_error(
        "product_type",
        "unknown product type",
        detail=f"unknown product type {code!r}; create it with POST /v1/product-types first",
    )


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
    return {
        "name": row.name,
        "brand": row.brand,
        "product_type": row.product_type,
        "vendor": row.vendor,
        "description": row.description,
        "attributes": dict(row.attributes),
        "cost": cost_value(row.cost_amount, row.cost_currency),
    }


def _completeness_values(completeness: Completeness) -> dict[str, Any]:
    return {
        "completeness_score": completeness.score,
        "completeness_missing": list(completeness.missing),
    }


def _duplicate_type(code: str) -> Conflict:
    return Conflict(f"a product type with code {code!r} already exists", code=code)


def _duplicate_sku(sku: str, **extra: Any) -> Conflict:
    return Conflict(f"a product with SKU {sku!r} already exists", sku=sku, **extra)


def _product_not_found(product_id: str) -> NotFound:
    return NotFound(f"no product with id {product_id!r}")
