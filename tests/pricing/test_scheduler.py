"""The publishing scheduler: its schedule is the database, so a restart publishes what it
missed, once; competing schedulers never publish a price twice."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.pricing.app import create_app
from services.pricing.publishing import Scheduler
from services.pricing.tables import price
from shared.clock import utc_now
from shared.events import decode
from shared.settings import Settings
from shared.tables import outbox
from tests.pricing.conftest import (
    BOSS,
    READ,
    FakeClock,
    add_product,
    approve,
    created,
    deliver,
    eventually,
    make_list,
    new_id,
    nothing_due,
    propose,
)
from tests.support import running


async def events_of(app: FastAPI, event_type: str) -> list[str]:
    """The price ids of the outbox's events of one type."""
    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(outbox).where(outbox.c.type == event_type))).all()
    return [decode(row.payload).data["price_id"] for row in rows]


async def status_of(client: httpx.AsyncClient, price: dict) -> str:
    return (await client.get(f"/v1/prices/{price['id']}", headers=READ)).json()["status"]


def new_app(settings: Settings, clock: FakeClock) -> FastAPI:
    return create_app(settings, clock=clock, scheduler_poll_s=0.05)


async def test_a_restart_publishes_what_came_due_while_down_exactly_once(
    settings: Settings, clock: FakeClock
) -> None:
    t0 = clock()
    first = new_app(settings, clock)
    async with running(first) as client:
        await make_list(client)
        product_id = await add_product(first, clock)
        soon = await propose(
            client, product_id, "20.00", valid_from=(t0 + timedelta(hours=1)).isoformat()
        )
        # Its whole window passes while the service is down.
        brief = await propose(
            client,
            product_id,
            "18.00",
            kind="promotion",
            valid_from=(t0 + timedelta(hours=2)).isoformat(),
            valid_to=(t0 + timedelta(hours=3)).isoformat(),
        )
        later = await propose(
            client, product_id, "21.00", valid_from=(t0 + timedelta(days=9)).isoformat()
        )
        for p in (soon, brief, later):
            await approve(client, p)
        assert [await status_of(client, p) for p in (soon, brief, later)] == ["approved"] * 3
    assert await events_of(first, "pricing.price.published.v1") == []

    clock.advance(hours=5)  # the service was down meanwhile
    second = new_app(settings, clock)
    async with running(second) as client:
        await eventually(lambda: nothing_due(second, clock()))
        assert [await status_of(client, p) for p in (soon, brief, later)] == [
            "published",
            "expired",
            "approved",
        ]
        resp = await client.get(
            f"/v1/products/{product_id}/price", params={"price_list": "eu-web"}, headers=READ
        )
        assert (resp.json()["price_id"], resp.json()["amount"]) == (soon["id"], "20.00")
        published_at = (await client.get(f"/v1/prices/{soon['id']}", headers=READ)).json()
        assert published_at["published_at"] == clock().isoformat().replace("+00:00", "Z")
    assert sorted(await events_of(second, "pricing.price.published.v1")) == sorted(
        [soon["id"], brief["id"]]
    )
    assert await events_of(second, "pricing.price.expired.v1") == [brief["id"]]

    # A third start with nothing new due publishes nothing again.
    third = new_app(settings, clock)
    async with running(third):
        third.state.pricing.scheduler.notify()
        await eventually(lambda: nothing_due(third, clock()))
        await asyncio.sleep(0.3)  # several scheduler rounds
    assert len(await events_of(third, "pricing.price.published.v1")) == 2
    assert len(await events_of(third, "pricing.price.expired.v1")) == 1


async def test_competing_schedulers_publish_each_price_once(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await make_list(client)
    products = [await add_product(app, clock) for _ in range(8)]
    starts = (clock() + timedelta(hours=1)).isoformat()
    made = []
    for product_id in products:
        for amount in ("10.00", "11.00", "12.00"):
            made.append(await propose(client, product_id, amount, valid_from=starts))
    for p in made:
        await approve(client, p)
    runtime = app.state.runtime
    # Three more schedulers on the same database, small batches, racing the app's own.
    rivals = [Scheduler(batch_size=5) for _ in range(3)]
    clock.advance(hours=1)
    app.state.pricing.scheduler.notify()
    await asyncio.gather(*(rival.tick(runtime) for rival in rivals))
    await eventually(lambda: nothing_due(app, clock()))
    published = await events_of(app, "pricing.price.published.v1")
    assert sorted(published) == sorted(p["id"] for p in made)
    # The per-product event sequence stayed gap-free and unique under the race.
    async with runtime.db.reader() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
    for product_id in products:
        sequences = [decode(r.payload).sequence_number for r in rows if r.key == product_id]
        assert sorted(sequences) == list(range(1, len(sequences) + 1))


async def test_the_scheduler_wakes_when_a_price_is_due_not_at_the_next_poll(
    settings: Settings,
) -> None:
    # The real clock, and a poll interval far longer than the wait: only the schedule
    # itself can wake the scheduler on time.
    app = create_app(settings, scheduler_poll_s=30)
    async with running(app) as client:
        await make_list(client)
        product_id = new_id()
        await deliver(app, created(product_id, at=utc_now()))
        due = utc_now() + timedelta(seconds=1.5)
        p = await propose(client, product_id, valid_from=due.isoformat())
        await approve(client, p)
        started = time.monotonic()
        await eventually(lambda: _published(app, p["id"]), timeout_s=10)
        assert time.monotonic() - started < 5
    async with app.state.runtime.db.reader() as session:
        row = (await session.execute(select(price).where(price.c.id == p["id"]))).one()
    lateness = (row.published_at - row.effective_from).total_seconds()
    assert 0 <= lateness < 1.0, lateness


async def _published(app: FastAPI, price_id: str) -> bool:
    async with app.state.runtime.db.reader() as session:
        status = await session.scalar(select(price.c.status).where(price.c.id == price_id))
    return status == "published"


async def test_approving_a_due_price_publishes_it_at_once(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await make_list(client)
    product_id = await add_product(app, clock)
    p = await propose(client, product_id)
    resp = await client.post(f"/v1/prices/{p['id']}/approve", headers=BOSS)
    assert resp.status_code == 200
    # Woken by the approval: no clock movement, no poll needed.
    await eventually(lambda: _published(app, p["id"]), timeout_s=5)
