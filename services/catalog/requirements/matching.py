"""Which active products meet which product ideas, kept at write time.

`product_term` holds the terms of active products only (`domain.product_terms`), and
`recommendation_term` the terms of each idea's key. A new idea looks for a product offering all
of its terms; a product whose terms change (it became active, stopped being active, or an active
one was renamed or re-attributed) re-evaluates the ideas it may now meet or stop meeting, and the
requirements about it. `product_changed` subscribes to the core's product changes, so it runs
in the product use case's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.domain import Lifecycle
from services.catalog.notices import ProductChanged
from services.catalog.requirements.domain import Part, Tally, product_terms, summarise
from services.catalog.requirements.tables import (
    product_term,
    recommendation,
    recommendation_term,
    requirement,
)
from services.catalog.tables import product
from shared.uow import UnitOfWork


def tally_of(row: Any) -> Tally:
    """A `requirement` row's tally, as the domain sees it."""
    return Tally(
        count=row.count,
        search_miss_count=row.search_miss_count,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        quotes=tuple(row.quotes),
        feedback_refs=tuple(row.feedback_refs),
        weight_log2=row.weight_log2,
    )


async def find_match(
    session: AsyncSession, *, key: str, adopted_product_id: str | None
) -> str | None:
    """The active product meeting an idea: the one it was adopted as, else one with its terms."""
    if adopted_product_id is not None:
        lifecycle = await session.scalar(
            select(product.c.lifecycle).where(product.c.id == adopted_product_id)
        )
        if lifecycle == Lifecycle.ACTIVE.value:
            return adopted_product_id
    terms = key.split(" ")
    # The primary key (product_id, term) makes the count the number of distinct terms offered.
    stmt = (
        select(product_term.c.product_id)
        .where(product_term.c.term.in_(terms))
        .group_by(product_term.c.product_id)
        .having(func.count() == len(terms))
        .order_by(product_term.c.product_id)
        .limit(1)
    )
    return await session.scalar(stmt)


async def index_idea(session: AsyncSession, *, recommendation_id: str, key: str) -> None:
    """Record a new idea's terms, so products can find it."""
    await session.execute(
        insert(recommendation_term),
        [{"recommendation_id": recommendation_id, "term": term} for term in key.split(" ")],
    )


async def refresh_ideas(session: AsyncSession, ids: Iterable[str], *, now: datetime) -> None:
    """Recompute the match and the demand of these ideas from their requirements."""
    # In id order, so two transactions refreshing overlapping ideas cannot deadlock.
    for idea_id in sorted(set(ids)):
        idea = (
            await session.execute(
                select(recommendation).where(recommendation.c.id == idea_id).with_for_update()
            )
        ).first()
        if idea is None:
            continue
        matched = await find_match(session, key=idea.key, adopted_product_id=idea.product_id)
        rows = (
            await session.execute(
                select(requirement).where(requirement.c.recommendation_id == idea_id)
            )
        ).all()
        demand = summarise(
            (Part(tally=tally_of(row), met_by_product=row.met_by_product) for row in rows),
            matched=matched is not None,
        )
        values: dict[str, Any] = {"matched_product_id": matched}
        if demand is not None:
            values |= {
                "count": demand.count,
                "unmet_count": demand.unmet_count,
                "search_miss_count": demand.search_miss_count,
                "requirement_count": demand.requirement_count,
                "weight_log2": demand.weight_log2,
                "first_seen": demand.first_seen,
                "last_seen": demand.last_seen,
            }
        changed = any(getattr(idea, column) != value for column, value in values.items())
        if changed:
            values["updated_at"] = now
            await session.execute(
                update(recommendation).where(recommendation.c.id == idea_id).values(values)
            )


async def product_changed(uow: UnitOfWork, changed: ProductChanged) -> None:
    """Bring the product's terms, and the ideas and requirements it meets, up to date."""
    session, product = uow.session, changed.product
    active = product.lifecycle == Lifecycle.ACTIVE.value
    terms = (
        product_terms(
            name=product.name, product_type=product.product_type, attributes=product.attributes
        )
        if active
        else frozenset()
    )
    old = set(
        await session.scalars(
            select(product_term.c.term).where(product_term.c.product_id == product.id)
        )
    )
    # An active product always has terms (its type code) and an inactive one none, so equal
    # terms mean nothing that matching depends on has changed: a price edit stops here.
    if terms == old:
        return
    if removed := old - terms:
        await session.execute(
            delete(product_term).where(
                product_term.c.product_id == product.id, product_term.c.term.in_(removed)
            )
        )
    if added := terms - old:
        await session.execute(
            insert(product_term), [{"product_id": product.id, "term": term} for term in added]
        )
    affected: set[str] = set(
        await session.scalars(
            update(requirement)
            .where(requirement.c.product_id == product.id, requirement.c.met_by_product != active)
            .values(met_by_product=active)
            .returning(requirement.c.recommendation_id)
        )
    )
    affected |= set(
        await session.scalars(
            select(recommendation.c.id).where(
                or_(
                    recommendation.c.matched_product_id == product.id,
                    recommendation.c.product_id == product.id,
                )
            )
        )
    )
    if terms:
        # Unmet ideas all of whose terms the product now offers.
        gained = (
            select(recommendation_term.c.recommendation_id)
            .join(recommendation, recommendation.c.id == recommendation_term.c.recommendation_id)
            .where(
                recommendation_term.c.term.in_(terms),
                recommendation.c.matched_product_id.is_(None),
            )
            .group_by(recommendation_term.c.recommendation_id, recommendation.c.term_count)
            .having(func.count() == recommendation.c.term_count)
        )
        affected |= set(await session.scalars(gained))
    await refresh_ideas(session, affected, now=uow.clock())
