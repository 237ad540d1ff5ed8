"""Core notices reach the sub-domains that subscribed to them, inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.catalog.domain import Lifecycle
from services.catalog.notices import ClaimingSku, CoreNotices, LifecycleMoved, MovingLifecycle
from shared.db import Database
from shared.errors import Conflict
from shared.uow import UnitOfWork


@pytest.fixture
async def uow(tmp_path: Path) -> AsyncIterator[UnitOfWork]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    try:
        yield UnitOfWork(db, service="catalog", on_commit=lambda: None)
    finally:
        await db.dispose()


async def test_a_notice_reaches_its_kind_of_subscriber_in_subscription_order(
    uow: UnitOfWork,
) -> None:
    heard: list[tuple[str, object]] = []

    async def first(given: UnitOfWork, moved: LifecycleMoved) -> None:
        assert given is uow
        heard.append(("first", moved))

    async def second(given: UnitOfWork, moved: LifecycleMoved) -> None:
        heard.append(("second", moved))

    async def claims(given: UnitOfWork, claiming: ClaimingSku) -> None:
        heard.append(("claims", claiming))

    notices = CoreNotices()
    notices.subscribe(LifecycleMoved, first)
    notices.subscribe(ClaimingSku, claims)
    notices.subscribe(LifecycleMoved, second)
    moved = LifecycleMoved(product_id="p1", from_=Lifecycle.ACTIVE, to=Lifecycle.DISCONTINUED)

    async with uow:
        await notices.send(uow, moved)
        await notices.send(uow, MovingLifecycle(product_id="p1", to=Lifecycle.ACTIVE))

    assert heard == [("first", moved), ("second", moved)]


async def test_a_subscriber_that_raises_refuses_the_change(uow: UnitOfWork) -> None:
    later: list[ClaimingSku] = []

    async def refuse(given: UnitOfWork, claiming: ClaimingSku) -> None:
        raise Conflict(f"SKU {claiming.sku!r} is taken", sku=claiming.sku)

    async def after(given: UnitOfWork, claiming: ClaimingSku) -> None:
        later.append(claiming)

    notices = CoreNotices()
    notices.subscribe(ClaimingSku, refuse)
    notices.subscribe(ClaimingSku, after)

    with pytest.raises(Conflict) as refused:
        async with uow:
            await notices.send(uow, ClaimingSku(sku="KT-1"))

    assert refused.value.status == 409
    assert refused.value.extra == {"sku": "KT-1"}
    assert later == []
