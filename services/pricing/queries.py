"""Pricing reads: price lists, prices, the effective price, history and metrics.

Each takes a read-only session; none writes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.accounts import ListRef, PriceSource, account_list_for, choose_list
from services.pricing.domain import GuardrailChangeStatus, Money, PriceKind, PriceStatus
from services.pricing.projection import FIT_DAYS, Projection, Sale, project
from services.pricing.service import scheduled_windows, window_of
from services.pricing.tables import (
    guardrail_change,
    price,
    price_list,
    product,
    product_cost,
    purchase,
)
from services.pricing.timeline import (
    OMNIBUS_LOOKBACK,
    CostPoint,
    Figures,
    Purchase,
    daily_figures,
    prior_price,
    resolve,
    totals,
)
from shared.errors import NotFound, field_error
from shared.pagination import Keyset, Page

MAX_METRICS_DAYS = 366
PRICE_LISTS = Keyset(price_list.c.code)
# Ids are UUIDv7: their order is proposal order.
PRICES = Keyset(price.c.id)
HISTORY = Keyset(price.c.published_at.desc(), price.c.id.desc())
# Ids are UUIDv7: the latest change first.
GUARDRAIL_CHANGES = Keyset(guardrail_change.c.id.desc())


async def get_price_list(*, session: AsyncSession, code: str) -> Any:
    """One price list; 404 if unknown."""
    row = (await session.execute(select(price_list).where(price_list.c.code == code))).first()
    if row is None:
        raise NotFound(f"no price list with code {code!r}")
    return row


async def list_price_lists(
    *, session: AsyncSession, channel: str | None, limit: int, cursor: str | None
) -> Page[Row[Any]]:
    """Price lists by code, one keyset page."""
    stmt = select(price_list)
    if channel is not None:
        stmt = stmt.where(price_list.c.channel == channel)
    return await PRICE_LISTS.page(session, stmt, limit=limit, cursor=cursor)


async def list_guardrail_changes(
    *,
    session: AsyncSession,
    code: str,
    status: GuardrailChangeStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[Row[Any]]:
    """A list's guardrail changes, latest first, one keyset page; 404 for an unknown list."""
    await get_price_list(session=session, code=code)
    stmt = select(guardrail_change).where(guardrail_change.c.price_list == code)
    if status is not None:
        stmt = stmt.where(guardrail_change.c.status == status.value)
    return await GUARDRAIL_CHANGES.page(session, stmt, limit=limit, cursor=cursor)


async def get_guardrail_change(*, session: AsyncSession, code: str, change_id: str) -> Any:
    """One guardrail change of a list; 404 if unknown."""
    stmt = select(guardrail_change).where(
        guardrail_change.c.id == change_id, guardrail_change.c.price_list == code
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no guardrail change {change_id!r} on price list {code!r}")
    return row


async def get_price(*, session: AsyncSession, price_id: str) -> Any:
    """One price; 404 if unknown."""
    row = (await session.execute(select(price).where(price.c.id == price_id))).first()
    if row is None:
        raise NotFound(f"no price with id {price_id!r}")
    return row


async def list_prices(
    *,
    session: AsyncSession,
    product_id: str | None,
    price_list_code: str | None,
    status: PriceStatus | None,
    kind: PriceKind | None,
    limit: int,
    cursor: str | None,
) -> Page[Row[Any]]:
    """Prices in proposal order, filtered, one keyset page."""
    stmt = select(price)
    if product_id is not None:
        stmt = stmt.where(price.c.product_id == product_id)
    if price_list_code is not None:
        stmt = stmt.where(price.c.price_list == price_list_code)
    if status is not None:
        stmt = stmt.where(price.c.status == status.value)
    if kind is not None:
        stmt = stmt.where(price.c.kind == kind.value)
    return await PRICES.page(session, stmt, limit=limit, cursor=cursor)


@dataclass(frozen=True)
class Effective:
    row: Any
    prior_price: Decimal | None
    # The account of the list the price came from (None: an unscoped list), and why that
    # list (`services.pricing.accounts`).
    account: str | None = None
    source: PriceSource = PriceSource.REQUESTED


async def effective_price(
    *,
    session: AsyncSession,
    product_id: str,
    price_list_code: str,
    at: datetime,
    account: str | None = None,
) -> Effective:
    """The price in effect at `at`, and for a promotion its Omnibus prior price; for an
    `account`, from its own list in the same currency when that has a price in effect."""
    requested = await _list_ref(session, price_list_code)
    if requested is not None:
        lists = await _account_lists(session, account)
        own = account_list_for(requested, account, lists)
        own_found = None
        if own is not None and own != requested:
            own_found = await _in_effect(session, product_id, own.code, at)
        choice = choose_list(requested, own, own_has_price=own_found is not None)
        if own_found is not None and choice.price_list == own:
            return replace(own_found, account=own.account, source=choice.source)
        found = await _in_effect(session, product_id, price_list_code, at)
        if found is not None:
            return replace(found, account=requested.account, source=choice.source)
    # Only now tell an unknown product or list from one with no price at that time.
    await _known_product(session, product_id)
    await _known_list(session, price_list_code)
    raise NotFound(
        f"product {product_id!r} has no price on list {price_list_code!r} at {at.isoformat()}",
        product_id=product_id,
        price_list=price_list_code,
    )


async def _list_ref(session: AsyncSession, code: str) -> ListRef | None:
    row = (
        await session.execute(
            select(price_list.c.code, price_list.c.currency, price_list.c.account).where(
                price_list.c.code == code
            )
        )
    ).first()
    return None if row is None else ListRef(row.code, row.currency, row.account)


async def _account_lists(session: AsyncSession, account: str | None) -> list[ListRef]:
    if account is None:
        return []
    rows = await session.execute(
        select(price_list.c.code, price_list.c.currency, price_list.c.account).where(
            price_list.c.account == account
        )
    )
    return [ListRef(row.code, row.currency, row.account) for row in rows.all()]


async def effective_prices(
    *, session: AsyncSession, product_id: str, at: datetime, limit: int, cursor: str | None
) -> Page[Effective]:
    """The price in effect at `at` on each list the product has prices on, by list code: a
    keyset page of those lists, leaving out the ones where no price is in effect then."""
    lists = select(price_list.c.code, price_list.c.account).where(
        price_list.c.code.in_(select(price.c.price_list).where(price.c.product_id == product_id))
    )
    page = await PRICE_LISTS.page(session, lists, limit=limit, cursor=cursor)
    found = [
        (row.account, await _in_effect(session, product_id, row.code, at)) for row in page.items
    ]
    return Page(
        items=[replace(f, account=account) for account, f in found if f is not None],
        next_cursor=page.next_cursor,
    )


async def _in_effect(
    session: AsyncSession, product_id: str, price_list_code: str, at: datetime
) -> Effective | None:
    stmt = scheduled_windows(
        product_id=product_id, price_list_code=price_list_code, starts_before=at, ends_after=at
    )
    rows = {row.id: row for row in (await session.execute(stmt)).all()}
    winner = resolve([window_of(row) for row in rows.values()], at)
    if winner is None:
        return None
    prior = None
    if winner.kind is PriceKind.PROMOTION:
        start = winner.effective_from
        stmt = scheduled_windows(
            product_id=product_id,
            price_list_code=price_list_code,
            starts_before=start,
            ends_after=start - OMNIBUS_LOOKBACK,
        )
        windows = [window_of(row) for row in (await session.execute(stmt)).all()]
        prior = prior_price(windows, winner)
    return Effective(row=rows[winner.price_id], prior_price=prior)


@dataclass(frozen=True)
class Projected:
    row: Any
    projection: Projection


async def price_projection(*, session: AsyncSession, price_id: str, now: datetime) -> Projected:
    """What the price would do over the next 30 days (`services.pricing.projection`), from
    the product's purchases in the price's currency (only the list's account's, when the
    list is scoped to one) and its current cost; 404 for an unknown price."""
    row = await get_price(session=session, price_id=price_id)
    account = await session.scalar(
        select(price_list.c.account).where(price_list.c.code == row.price_list)
    )
    stmt = select(purchase.c.occurred_at, purchase.c.quantity, purchase.c.unit_price).where(
        purchase.c.product_id == row.product_id,
        purchase.c.currency == row.currency,
        purchase.c.occurred_at >= now - timedelta(days=FIT_DAYS),
        purchase.c.occurred_at < now,
    )
    if account is not None:
        stmt = stmt.where(purchase.c.account == account)
    sales = [Sale(r.occurred_at, r.quantity, r.unit_price) for r in await session.execute(stmt)]
    item = (
        await session.execute(
            select(product.c.cost_amount, product.c.cost_currency).where(
                product.c.id == row.product_id
            )
        )
    ).one()
    cost = None
    if item.cost_amount is not None and item.cost_currency:
        cost = Money(item.cost_amount, item.cost_currency)
    proposed = Money(row.amount, row.currency)
    return Projected(row, project(proposed=proposed, cost=cost, sales=sales, now=now))


async def price_stats(*, session: AsyncSession) -> dict[str, int]:
    """How many prices are in each status, every status named (zeros included)."""
    counted = await session.execute(select(price.c.status, func.count()).group_by(price.c.status))
    by_status = dict.fromkeys((status.value for status in PriceStatus), 0)
    by_status.update({status: count for status, count in counted.all()})
    return by_status


@dataclass(frozen=True)
class HistoryEntry:
    row: Any
    replaced: Any | None


async def price_history(
    *,
    session: AsyncSession,
    product_id: str,
    price_list_code: str | None,
    limit: int,
    cursor: str | None,
) -> Page[HistoryEntry]:
    """Every published price of a product, latest publication first, with what it
    replaced; 404 if pricing does not know the product."""
    await _known_product(session, product_id)
    stmt = select(price).where(price.c.product_id == product_id, price.c.published_at.is_not(None))
    if price_list_code is not None:
        stmt = stmt.where(price.c.price_list == price_list_code)
    page = await HISTORY.page(session, stmt, limit=limit, cursor=cursor)
    wanted = {row.replaces_price_id for row in page.items if row.replaces_price_id}
    replaced = {}
    if wanted:
        found = await session.execute(select(price).where(price.c.id.in_(wanted)))
        replaced = {row.id: row for row in found.all()}
    return page.map(lambda row: HistoryEntry(row, replaced.get(row.replaces_price_id)))


@dataclass(frozen=True)
class Metrics:
    start: date
    end: date
    days: list[Figures]
    totals: list[Figures]


async def metrics(
    *, session: AsyncSession, product_id: str, start: date | None, end: date | None, today: date
) -> Metrics:
    """Units, revenue and margin per UTC day from purchases, `start`..`end` inclusive
    (default: the last 30 days); 404 if pricing does not know the product."""
    end = end or today
    start = start or end - timedelta(days=29)
    if end < start:
        raise field_error("to", "to must not be before from", where="query")
    if (end - start).days >= MAX_METRICS_DAYS:
        raise field_error("to", f"at most {MAX_METRICS_DAYS} days at a time", where="query")
    await _known_product(session, product_id)
    lower = datetime.combine(start, time.min, tzinfo=UTC)
    upper = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    sales = await session.execute(
        select(
            purchase.c.occurred_at, purchase.c.quantity, purchase.c.unit_price, purchase.c.currency
        )
        .where(
            purchase.c.product_id == product_id,
            purchase.c.occurred_at >= lower,
            purchase.c.occurred_at < upper,
        )
        .order_by(purchase.c.occurred_at)
    )
    costs = await session.execute(
        select(product_cost)
        .where(product_cost.c.product_id == product_id)
        .order_by(product_cost.c.valid_from, product_cost.c.id)
    )
    points = [
        CostPoint(
            row.valid_from,
            Money(row.amount, row.currency) if row.amount is not None and row.currency else None,
        )
        for row in costs.all()
    ]
    days = daily_figures(
        (Purchase(r.occurred_at, r.quantity, Money(r.unit_price, r.currency)) for r in sales.all()),
        points,
    )
    return Metrics(start=start, end=end, days=days, totals=totals(days))


async def _known_product(session: AsyncSession, product_id: str) -> None:
    found = await session.scalar(select(product.c.id).where(product.c.id == product_id))
    if found is None:
        raise NotFound(
            f"no product with id {product_id!r}: pricing has not heard of it from the catalog"
        )


async def _known_list(session: AsyncSession, code: str) -> None:
    found = await session.scalar(select(price_list.c.code).where(price_list.c.code == code))
    if found is None:
        raise field_error("price_list", f"unknown price list {code!r}", where="query")
