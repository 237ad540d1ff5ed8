"""Core notices reach the sub-domains that subscribed to them, inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.catalog.domain import Lifecycle
from services.catalog.notices import ClaimingSkus, CoreNotices, LifecycleMoved, MovingLifecycle
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

    async def claims(given: UnitOfWork, claiming: ClaimingSkus) -> None:
        heard.append(("claims", claiming))

    notices = CoreNotices()
    notices.subscribe(LifecycleMoved, first)
    notices.subscribe(ClaimingSkus, claims)
    notices.subscribe(LifecycleMoved, second)
    moved = LifecycleMoved(product_id="p1", from_=Lifecycle.ACTIVE, to=Lifecycle.DISCONTINUED)

    async with uow:
        await notices.send(uow, moved)
        await notices.send(uow, MovingLifecycle(product_id="p1", to=Lifecycle.ACTIVE))

    assert heard == [("first", moved), ("second", moved)]


async def test_a_subscriber_that_raises_refuses_the_change(uow: UnitOfWork) -> None:
    later: list[MovingLifecycle] = []

    async def refuse(given: UnitOfWork, moving: MovingLifecycle) -> None:
        raise Conflict(f"product {moving.product_id!r} may not move", product_id=moving.product_id)

    async def after(given: UnitOfWork, moving: MovingLifecycle) -> None:
        later.append(moving)

    notices = CoreNotices()
    notices.subscribe(MovingLifecycle, refuse)
    notices.subscribe(MovingLifecycle, after)

    with pytest.raises(Conflict) as refused:
        async with uow:
            await notices.send(uow, MovingLifecycle(product_id="p1", to=Lifecycle.ACTIVE))

    assert refused.value.status == 409
    assert refused.value.extra == {"product_id": "p1"}
    assert later == []


async def test_a_claim_collects_each_subscribers_refusals(uow: UnitOfWork) -> None:
    async def variants(given: UnitOfWork, claiming: ClaimingSkus) -> None:
        claiming.refused["KT-2"] = Conflict("a variant holds KT-2", sku="KT-2")

    async def bundles(given: UnitOfWork, claiming: ClaimingSkus) -> None:
        claiming.refused["KT-3"] = Conflict("a bundle holds KT-3", sku="KT-3")

    notices = CoreNotices()
    notices.subscribe(ClaimingSkus, variants)
    notices.subscribe(ClaimingSkus, bundles)
    claiming = ClaimingSkus(skus=("KT-1", "KT-2", "KT-3"))

    async with uow:
        await notices.send(uow, claiming)

    assert {sku: conflict.extra for sku, conflict in claiming.refused.items()} == {
        "KT-2": {"sku": "KT-2"},
        "KT-3": {"sku": "KT-3"},
    }
