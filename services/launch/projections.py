"""Launch's projections of other services' facts: kept from their events, read as the
domain's `Facts` of one product.

Each writer applies one event's state only when it is newer than what is held (the
catalog's product version, a decision's number, a price's or a finding's own version), so
an older or repeated event, a snapshot included, changes nothing; it says whether it
changed anything, so the plans are re-evaluated only when a fact did.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.launch.contracts import (
    DecisionRecorded,
    FindingState,
    LifecycleChanged,
    PriceState,
    ProductState,
    ProductUpdated,
)
from services.launch.facts import Facts, FindingFacts, PriceFacts, ProductFacts
from services.launch.tables import finding, price, product
from shared.uow import UnitOfWork


async def facts_of(session: AsyncSession, product_id: str) -> Facts:
    """Everything launch knows of the product; `product` None until the catalog described it."""
    row = (await session.execute(select(product).where(product.c.id == product_id))).first()
    prices = (
        await session.execute(
            select(price).where(price.c.product_id == product_id).order_by(price.c.id)
        )
    ).all()
    findings = (
        await session.execute(
            select(finding).where(finding.c.product_id == product_id).order_by(finding.c.id)
        )
    ).all()
    return Facts(
        product=_product_facts(row),
        prices=tuple(
            PriceFacts(p.id, p.price_list, p.kind, p.status, p.valid_from, p.valid_to)
            for p in prices
        ),
        findings=tuple(
            FindingFacts(f.id, f.kind, f.severity, f.status, f.item_count, f.quote)
            for f in findings
        ),
    )


def _product_facts(row: Any) -> ProductFacts | None:
    if row is None or row.lifecycle is None or row.completeness is None:
        return None
    return ProductFacts(
        product_id=row.id,
        lifecycle=row.lifecycle,
        completeness=row.completeness,
        missing=tuple(row.missing or ()),
        product_type=row.product_type,
        decision=row.decision,
    )


# --- catalog ------------------------------------------------------------------------------------


async def apply_product(uow: UnitOfWork, data: ProductState) -> bool:
    """A whole product (created, or a snapshot with its current decision)."""
    changed = await _product_version(
        uow,
        data.product_id,
        data.version,
        lifecycle=data.lifecycle,
        completeness=data.completeness.score,
        missing=list(data.completeness.missing),
        product_type=data.product_type,
    )
    if data.decision is not None:
        decided = await apply_decision(
            uow,
            DecisionRecorded(
                product_id=data.product_id,
                number=data.decision.number,
                outcome=data.decision.outcome,
            ),
        )
        changed = changed or decided
    return changed


async def apply_product_update(uow: UnitOfWork, data: ProductUpdated) -> bool:
    """Completeness (always sent) and the product type (when it changed)."""
    values: dict[str, Any] = {
        "completeness": data.completeness.score,
        "missing": list(data.completeness.missing),
    }
    if (product_type := data.new_product_type()) is not None:
        values["product_type"] = product_type
    return await _product_version(uow, data.product_id, data.version, **values)


async def apply_lifecycle(uow: UnitOfWork, data: LifecycleChanged) -> bool:
    return await _product_version(uow, data.product_id, data.version, lifecycle=data.to)


async def apply_decision(uow: UnitOfWork, data: DecisionRecorded) -> bool:
    """The product's current decision: the one with the highest number."""
    row = await _product_row(uow, data.product_id)
    if row is not None and row.decision_number is not None and data.number <= row.decision_number:
        return False
    values = {"decision": data.outcome, "decision_number": data.number}
    await _upsert_product(uow, data.product_id, row, values)
    return True


async def _product_version(uow: UnitOfWork, product_id: str, version: int, **values: Any) -> bool:
    row = await _product_row(uow, product_id)
    if row is not None and row.catalog_version is not None and version <= row.catalog_version:
        return False
    await _upsert_product(uow, product_id, row, {**values, "catalog_version": version})
    return True


async def _product_row(uow: UnitOfWork, product_id: str) -> Any:
    stmt = select(product).where(product.c.id == product_id).with_for_update()
    return (await uow.session.execute(stmt)).first()


async def _upsert_product(
    uow: UnitOfWork, product_id: str, row: Any, values: dict[str, Any]
) -> None:
    values = {**values, "updated_at": uow.clock()}
    if row is None:
        await uow.session.execute(insert(product).values(id=product_id, **values))
    else:
        await uow.session.execute(update(product).where(product.c.id == product_id).values(values))


# --- pricing and feedback -----------------------------------------------------------------------


async def apply_price(uow: UnitOfWork, data: PriceState) -> bool:
    valid_from, valid_to = data.window
    values = {
        "product_id": data.product_id,
        "price_list": data.price_list,
        "kind": data.kind,
        "status": data.status,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    return await _versioned(uow, price, data.price_id, data.version, values)


async def apply_finding(uow: UnitOfWork, data: FindingState) -> bool:
    values = {
        "product_id": data.product_id,
        "kind": data.kind,
        "severity": data.severity,
        "status": data.status,
        "item_count": data.item_count,
        "quote": data.representative_quote,
    }
    return await _versioned(uow, finding, data.finding_id, data.version, values)


async def _versioned(
    uow: UnitOfWork, table: Table, key: str, version: int, values: dict[str, Any]
) -> bool:
    """Insert or update the row `key` with `values` unless it holds `version` or newer."""
    stmt = select(table.c.version).where(table.c.id == key).with_for_update()
    held = (await uow.session.execute(stmt)).scalar_one_or_none()
    if held is not None and version <= held:
        return False
    values = {**values, "version": version, "updated_at": uow.clock()}
    if held is None:
        await uow.session.execute(insert(table).values(id=key, **values))
    else:
        await uow.session.execute(update(table).where(table.c.id == key).values(values))
    return True
