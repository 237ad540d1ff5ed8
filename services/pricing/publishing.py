"""The publishing scheduler: approved prices are published when they take effect and
expire when their window ends.

The schedule is the `price` table itself, so a restart loses nothing: the first tick
publishes whatever came due while the process was down. Each price moves by a guarded
state change (`... WHERE status = 'approved'`) in the same transaction as its event, so
however many schedulers run, a price is published once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.domain import SCHEDULED_STATUSES, PriceStatus
from services.pricing.events import PRICE_EVENT_COLUMNS
from services.pricing.service import WINDOW_COLUMNS, publish_price_events, window_of
from services.pricing.tables import price
from services.pricing.timeline import PriceWindow, replaced
from shared.app import Runtime
from shared.db import one_of
from shared.due import DueJob
from shared.uow import UnitOfWork

APPROVED = PriceStatus.APPROVED.value
PUBLISHED = PriceStatus.PUBLISHED.value
_SCHEDULED = frozenset(status.value for status in SCHEDULED_STATUSES)
# What a state change returns: its event's columns, not the other third of the row.
_RETURNED = tuple(price.c[name] for name in PRICE_EVENT_COLUMNS)


def _due(uow: UnitOfWork, stmt: Any) -> Any:
    # Replicas sharing a PostgreSQL database take disjoint batches instead of queueing.
    return stmt.with_for_update(skip_locked=True) if uow.dialect == "postgresql" else stmt


async def publish_due(*, uow: UnitOfWork, now: datetime, limit: int) -> int:
    """Publish up to `limit` approved prices whose time has come; returns how many."""
    stmt = (
        select(*WINDOW_COLUMNS)
        .where(price.c.status == APPROVED, price.c.effective_from <= now)
        .order_by(price.c.effective_from, price.c.id)
        .limit(limit)
    )
    due = (await uow.session.execute(_due(uow, stmt))).all()
    if not due:
        return 0
    replaces = await _replaced(uow, due)
    published = await _publish(uow, [row.id for row in due], replaces, now)
    await publish_price_events(uow, published)
    return len(published)


async def _publish(
    uow: UnitOfWork, ids: list[str], replaces: dict[str, str | None], now: datetime
) -> Sequence[Mapping[Any, Any]]:
    """Publish those of `ids` still approved, each linked to the price it replaces; returns
    their event columns."""
    publish = (
        update(price)
        .where(price.c.status == APPROVED)
        .values(status=PUBLISHED, published_at=now, version=price.c.version + 1)
        .returning(*_RETURNED)
    )
    if uow.dialect == "postgresql":
        # The link goes in with the status, in one statement joined to the (id, replaced)
        # pairs: a second UPDATE would write every row (and all its indexes) again and cost
        # a round trip per price; arrays keep the text the same batch after batch, so the
        # prepared statement is reused instead of parsed again for each IN list.
        pairs = (
            func.unnest(
                bindparam("b_ids", ids, type_=ARRAY(String)),
                bindparam("b_replaces", [replaces[i] for i in ids], type_=ARRAY(String)),
            )
            .table_valued("id", "replaces")
            .render_derived()
        )
        linked = publish.where(price.c.id == pairs.c.id).values(replaces_price_id=pairs.c.replaces)
        return (await uow.session.execute(linked)).mappings().all()
    published = (await uow.session.execute(publish.where(price.c.id.in_(ids)))).all()
    links = [
        {"b_id": row.id, "b_replaces": replaces[row.id]} for row in published if replaces[row.id]
    ]
    if links:
        await uow.session.execute(
            update(price)
            .where(price.c.id == bindparam("b_id"))
            .values(replaces_price_id=bindparam("b_replaces")),
            links,
        )
    return [{**row._mapping, "replaces_price_id": replaces[row.id]} for row in published]


async def expire_due(*, uow: UnitOfWork, now: datetime, limit: int) -> int:
    """Expire up to `limit` published prices whose window has ended; returns how many."""
    stmt = (
        select(price.c.id)
        .where(price.c.status == PUBLISHED, price.c.effective_to <= now)
        .order_by(price.c.effective_to, price.c.id)
        .limit(limit)
    )
    ids = list((await uow.session.execute(_due(uow, stmt))).scalars())
    if not ids:
        return 0
    expire = (
        update(price)
        .where(price.c.id.in_(ids), price.c.status == PUBLISHED)
        .values(
            status=PriceStatus.EXPIRED.value,
            closed_at=now,
            closed_by="scheduler",
            close_reason="valid_to reached",
            version=price.c.version + 1,
        )
        .returning(*_RETURNED)
    )
    expired = (await uow.session.execute(expire)).all()
    await publish_price_events(uow, expired)
    return len(expired)


async def next_due(session: AsyncSession) -> datetime | None:
    """When the schedule next needs the scheduler (None: nothing is scheduled)."""
    starts = await session.scalar(
        select(func.min(price.c.effective_from)).where(price.c.status == APPROVED)
    )
    ends = await session.scalar(
        select(func.min(price.c.effective_to)).where(price.c.status == PUBLISHED)
    )
    return min((t for t in (starts, ends) if t is not None), default=None)


async def _replaced(uow: UnitOfWork, due: Sequence[Any]) -> dict[str, str | None]:
    """For each due price, the id of the price it replaces as it takes effect."""
    products_by_list: dict[str, set[str]] = {}
    for row in due:
        products_by_list.setdefault(row.price_list, set()).add(row.product_id)
    earliest = min(row.effective_from for row in due)
    latest = max(row.effective_from for row in due)
    # Only windows that can cover the instant before one of the due starts, on the due
    # prices' own (product, list) pairs: a condition per list, each a range of the
    # (product, list, start) index. A row-value IN over the pairs would read every row of
    # the table on SQLite; the products alone read every list of each product, half the
    # rows of a burst of the bench's. The status is checked here rather than in SQL: given
    # it, SQLite (without statistics) walks the status index over every scheduled price of
    # every product instead of these products' few rows (issue 16's profile).
    stmt = select(*WINDOW_COLUMNS, price.c.status).where(
        or_(
            *(
                and_(
                    price.c.price_list == code,
                    one_of(price.c.product_id, products, dialect=uow.dialect),
                )
                for code, products in products_by_list.items()
            )
        ),
        price.c.effective_from <= latest,
        or_(price.c.effective_to.is_(None), price.c.effective_to >= earliest),
    )
    windows: dict[tuple[str, str], list[PriceWindow]] = {}
    for row in (await uow.session.execute(stmt)).all():
        if row.status in _SCHEDULED:
            windows.setdefault((row.product_id, row.price_list), []).append(window_of(row))
    result: dict[str, str | None] = {}
    for row in due:
        before = replaced(windows.get((row.product_id, row.price_list), []), window_of(row))
        result[row.id] = before.price_id if before else None
    return result


class Scheduler:
    """Runs the schedule on a `DueJob`: wakes when the next price is due (at most `poll_s`
    apart, to notice prices approved by other processes) or when told a price was approved.

    A background job of the service (`ServiceSpec.background` runs `job.run`, and
    `ServiceSpec.on_stop` calls `job.stop`); it works on the runtime's database and clock.
    """

    def __init__(self, *, poll_s: float = 1.0, batch_size: int = 500) -> None:
        self.batch_size = batch_size
        self.job = DueJob(work=self.tick, next_due=_next_due, poll_s=poll_s)

    def notify(self) -> None:
        """A price was approved: look at the schedule now."""
        self.job.notify()

    async def tick(self, runtime: Runtime) -> int:
        """Publish, then expire, everything due now, batch by batch; returns the count."""
        done = 0
        for step in (publish_due, expire_due):
            while True:
                async with runtime.uow() as uow:
                    count = await step(uow=uow, now=uow.clock(), limit=self.batch_size)
                done += count
                if count < self.batch_size:
                    break
        return done


async def _next_due(runtime: Runtime) -> datetime | None:
    async with runtime.db.reader() as session:
        return await next_due(session)
