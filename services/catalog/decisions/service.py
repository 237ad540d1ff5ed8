"""Use cases of cases and decisions; writes add their events to the caller's unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.catalog.decisions.domain import (
    Decision,
    Outcome,
    Stance,
    check_decision,
    check_lifecycle,
    count_stances,
)
from services.catalog.decisions.events import (
    ActorData,
    CaseAdded,
    DecisionRecorded,
    EvidenceData,
)
from services.catalog.decisions.schemas import CaseCreate, DecisionCreate
from services.catalog.decisions.tables import product_case, product_decision
from services.catalog.domain import Lifecycle
from services.catalog.events import DecisionData, catalog_event
from services.catalog.notices import MovingLifecycle
from services.catalog.tables import product
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

CASES = Keyset(product_case.c.id)
# A product's decisions are numbered 1, 2, 3...: latest first.
DECISIONS = Keyset(product_decision.c.number.desc())


# --- cases -------------------------------------------------------------------------------------


async def add_case(
    *, uow: UnitOfWork, product_id: str, data: CaseCreate, actor: Principal
) -> Row[Any]:
    """Add a case for or against a product; 404 if the product is unknown."""
    await _ensure_product(uow.session, product_id)
    values = {
        "id": str(uuid7()),
        "product_id": product_id,
        "stance": data.stance.value,
        "summary": data.summary,
        "evidence": [link.model_dump() for link in data.evidence],
        "author": actor.subject,
        "author_name": actor.name,
        "created_at": uow.clock(),
    }
    row = (
        await uow.session.execute(insert(product_case).values(values).returning(*product_case.c))
    ).one()
    payload = CaseAdded(
        case_id=row.id,
        product_id=row.product_id,
        stance=Stance(row.stance),
        summary=row.summary,
        evidence=[EvidenceData(**link) for link in row.evidence],
        author=ActorData(subject=row.author, name=row.author_name),
        created_at=row.created_at,
    )
    uow.publish(catalog_event(payload, subject=product_id, sequence=None))
    return row


async def get_case(*, session: AsyncSession, product_id: str, case_id: str) -> Row[Any]:
    """One case of a product; 404 if either is unknown."""
    await _ensure_product(session, product_id)
    stmt = select(product_case).where(
        product_case.c.product_id == product_id, product_case.c.id == case_id
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"product {product_id!r} has no case with id {case_id!r}")
    return row


async def list_cases(
    *,
    session: AsyncSession,
    product_id: str,
    stance: Stance | None,
    limit: int,
    cursor: str | None,
) -> Page[Row[Any]]:
    """A product's cases, oldest first, optionally of one stance; 404 if the product is unknown."""
    await _ensure_product(session, product_id)
    stmt = select(product_case).where(product_case.c.product_id == product_id)
    if stance is not None:
        stmt = stmt.where(product_case.c.stance == stance.value)
    return await CASES.page(session, stmt, limit=limit, cursor=cursor)


# --- decisions ---------------------------------------------------------------------------------


async def record_decision(
    *, uow: UnitOfWork, product_id: str, data: DecisionCreate, actor: Principal
) -> Row[Any]:
    """Record a decision, which becomes the current one; 409 when the rules need a case first."""
    # The product's row lock orders decisions (their numbers) and lifecycle moves.
    locked = select(product.c.id).where(product.c.id == product_id).with_for_update()
    if await uow.session.scalar(locked) is None:
        raise _product_not_found(product_id)
    counts = await uow.session.execute(
        select(product_case.c.stance, func.count())
        .where(product_case.c.product_id == product_id)
        .group_by(product_case.c.stance)
    )
    cases_for, cases_against = count_stances({stance: n for stance, n in counts.all()})
    check_decision(data.outcome, cases_for=cases_for, cases_against=cases_against)
    last = await uow.session.scalar(
        select(func.max(product_decision.c.number)).where(
            product_decision.c.product_id == product_id
        )
    )
    values = {
        "id": str(uuid7()),
        "product_id": product_id,
        "number": (last or 0) + 1,
        "outcome": data.outcome.value,
        "rationale": data.rationale,
        "decided_by": actor.subject,
        "decided_by_name": actor.name,
        "decided_at": uow.clock(),
        "cases_for": cases_for,
        "cases_against": cases_against,
    }
    row = (
        await uow.session.execute(
            insert(product_decision).values(values).returning(*product_decision.c)
        )
    ).one()
    payload = DecisionRecorded(
        decision_id=row.id,
        product_id=row.product_id,
        number=row.number,
        outcome=Outcome(row.outcome),
        rationale=row.rationale,
        decided_by=ActorData(subject=row.decided_by, name=row.decided_by_name),
        decided_at=row.decided_at,
        cases_for=row.cases_for,
        cases_against=row.cases_against,
    )
    uow.publish(catalog_event(payload, subject=product_id, sequence=None))
    return row


async def current_decision(*, session: AsyncSession, product_id: str) -> Row[Any]:
    """The product's latest decision; 404 if the product is unknown or has none."""
    await _ensure_product(session, product_id)
    row = await _latest(session, product_id)
    if row is None:
        raise NotFound(
            f"no decision has been recorded for product {product_id!r}",
            product_id=product_id,
        )
    return row


async def list_decisions(
    *, session: AsyncSession, product_id: str, limit: int, cursor: str | None
) -> Page[Row[Any]]:
    """A product's decisions, latest first, one keyset page; 404 if the product is unknown."""
    await _ensure_product(session, product_id)
    stmt = select(product_decision).where(product_decision.c.product_id == product_id)
    return await DECISIONS.page(session, stmt, limit=limit, cursor=cursor)


async def current_decisions(
    *, session: AsyncSession, product_ids: Sequence[str]
) -> dict[str, DecisionData]:
    """The current (latest) decision of each of `product_ids` that has one, for the
    catalog's product snapshots."""
    latest = (
        select(product_decision.c.product_id, func.max(product_decision.c.number).label("number"))
        .where(product_decision.c.product_id.in_(product_ids))
        .group_by(product_decision.c.product_id)
        .subquery()
    )
    stmt = select(product_decision).join(
        latest,
        (product_decision.c.product_id == latest.c.product_id)
        & (product_decision.c.number == latest.c.number),
    )
    return {
        row.product_id: DecisionData(
            decision_id=row.id, number=row.number, outcome=row.outcome, decided_at=row.decided_at
        )
        for row in (await session.execute(stmt)).all()
    }


async def check_move(
    *, session: AsyncSession, product_id: str, to: Lifecycle, what: str = "product"
) -> None:
    """409 with the decision when the product's current decision forbids moving to `to`.

    Called by the variant lifecycle use case, and for products through
    `refuse_move_against_decision`, under the product's row lock.
    """
    if Lifecycle(to) is not Lifecycle.ACTIVE:
        return
    row = await _latest(session, product_id)
    current = (
        None
        if row is None
        else Decision(
            outcome=Outcome(row.outcome),
            rationale=row.rationale,
            decided_by=row.decided_by,
            decided_by_name=row.decided_by_name,
            decided_at=row.decided_at,
        )
    )
    check_lifecycle(current, to, what=what)


async def refuse_move_against_decision(uow: UnitOfWork, moving: MovingLifecycle) -> None:
    """Subscribes to the core's product lifecycle moves: `check_move` for the product."""
    await check_move(session=uow.session, product_id=moving.product_id, to=moving.to)


# --- helpers -----------------------------------------------------------------------------------


async def _latest(session: AsyncSession, product_id: str) -> Row[Any] | None:
    stmt = (
        select(product_decision)
        .where(product_decision.c.product_id == product_id)
        .order_by(product_decision.c.number.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).first()


async def _ensure_product(session: AsyncSession, product_id: str) -> None:
    found = await session.scalar(select(product.c.id).where(product.c.id == product_id))
    if found is None:
        raise _product_not_found(product_id)


def _product_not_found(product_id: str) -> NotFound:
    return NotFound(f"no product with id {product_id!r}")
