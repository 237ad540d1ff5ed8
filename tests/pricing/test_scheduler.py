"""The publishing scheduler: its schedule is the database, so a restart publishes what it
missed, once; competing schedulers never publish a price twice."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any, cast

import httpx
from fastapi import FastAPI
from sqlalchemy import Update, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.app import create_app
from services.pricing.publishing import Scheduler
from services.pricing.tables import price
from shared.app import Runtime
from shared.db import Database
from shared.events import decode
from shared.settings import Settings
from shared.tables import outbox
from shared.uow import UnitOfWork
from tests.pricing.conftest import (
    BOSS,
    READ,
    FakeClock,
    add_product,
    approve,
    eventually,
    make_list,
    nothing_due,
    propose,
    sequence_of,
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

    # A third start with nothing new due publishes nothing again. A price approved after
    # the start is published by a later round than the first: once it is out, the rounds
    # that would have published the others again are over.
    third = new_app(settings, clock)
    async with running(third) as client:
        canary = await propose(client, await add_product(third, clock), "19.00")
        await approve(client, canary)
        await eventually(lambda: _published(third, canary["id"]))
    assert sorted(await events_of(third, "pricing.price.published.v1")) == sorted(
        [soon["id"], brief["id"], canary["id"]]
    )
    assert await events_of(third, "pricing.price.expired.v1") == [brief["id"]]


class Rendezvous:
    """Where two schedulers meet just before either writes a price, so both have read the
    same due rows first: the interleaving the guards exist for, forced instead of hoped for.

    A party waits until the other has arrived too, or has finished its tick without writing
    (on PostgreSQL the row lock makes it skip the rows held). If the other cannot come, it
    is held by a lock the first one holds (SQLite's write transaction): after `grace_s` the
    first one goes on alone, which is the guard doing its job.
    """

    def __init__(self, parties: int = 2, grace_s: float = 2.0) -> None:
        self._parties = parties
        self._grace_s = grace_s
        self._counted: set[object] = set()
        self._all_here = asyncio.Event()

    def count(self, party: object) -> None:
        """`party` arrived, or has nothing more to write: either way no one waits for it."""
        self._counted.add(party)
        if len(self._counted) >= self._parties:
            self._all_here.set()

    async def arrive(self, party: object) -> None:
        self.count(party)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._grace_s):
                await self._all_here.wait()


class GatedSession:
    """The real session; only its first UPDATE of a price waits at the rendezvous."""

    def __init__(self, session: AsyncSession, gate: SchedulerProcess) -> None:
        self._session = session
        self._gate = gate

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(statement, Update) and statement.table is price:
            await self._gate.before_first_write()
        return await self._session.execute(statement, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class GatedUnitOfWork(UnitOfWork):
    """The real unit of work, seen by the scheduler through a `GatedSession`."""

    def __init__(self, db: Database, clock: FakeClock, gate: SchedulerProcess) -> None:
        super().__init__(db, service="pricing", on_commit=lambda: None, clock=clock)
        self._gate = gate

    @property
    def session(self) -> Any:
        return GatedSession(super().session, self._gate)


class SchedulerProcess:
    """What another pricing process brings to the schedule: its own engines on the shared
    database, the shared clock, and a `Scheduler`. It is the runtime `Scheduler.tick` uses."""

    def __init__(self, url: str, clock: FakeClock, rendezvous: Rendezvous) -> None:
        self.db = Database(url)
        self.clock = clock
        self._rendezvous = rendezvous
        self._met = False

    def uow(self) -> UnitOfWork:
        return GatedUnitOfWork(self.db, self.clock, self)

    async def before_first_write(self) -> None:
        if not self._met:
            self._met = True
            await self._rendezvous.arrive(self)

    async def tick(self) -> int:
        try:
            return await Scheduler().tick(cast(Runtime, self))
        finally:
            self._rendezvous.count(self)
            await self.db.dispose()


async def test_two_schedulers_that_read_the_same_due_prices_publish_each_once(
    settings: Settings, clock: FakeClock
) -> None:
    app = new_app(settings, clock)
    async with running(app) as client:
        await make_list(client)
        products = [await add_product(app, clock) for _ in range(4)]
        starts = (clock() + timedelta(hours=1)).isoformat()
        made = [
            await propose(client, product_id, amount, valid_from=starts)
            for product_id in products
            for amount in ("10.00", "11.00")
        ]
        for p in made:
            await approve(client, p)
    # The app's own scheduler has stopped: only the two below publish.
    clock.advance(hours=1)
    rendezvous = Rendezvous()
    url = settings.database_url("pricing")
    rivals = [SchedulerProcess(url, clock, rendezvous) for _ in range(2)]
    await asyncio.gather(*(rival.tick() for rival in rivals))

    published = await events_of(app, "pricing.price.published.v1")
    assert sorted(published) == sorted(p["id"] for p in made)
    async with app.state.runtime.db.reader() as session:
        versions = (await session.execute(select(price.c.status, price.c.version))).all()
        rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
    # Approval made each version 2; publishing moved it once more, not twice.
    assert set(versions) == {("published", 3)}
    # The per-product event sequence stayed gap-free and unique.
    for product_id in products:
        sequences = [sequence_of(decode(r.payload)) for r in rows if r.key == product_id]
        assert sorted(sequences) == list(range(1, len(sequences) + 1))


async def test_the_scheduler_wakes_when_a_price_is_due_not_at_the_next_poll(
    settings: Settings, clock: FakeClock
) -> None:
    # A poll interval far longer than the wait below: only the schedule itself can wake the
    # scheduler in time. How late it publishes under load is a figure: tests/perf/bench_pricing.
    app = create_app(settings, clock=clock, scheduler_poll_s=30)
    async with running(app) as client:
        await make_list(client)
        later, at_once = await add_product(app, clock), await add_product(app, clock)
        due = clock() + timedelta(seconds=1)
        p = await approve(client, await propose(client, later, valid_from=due.isoformat()))
        # Due now and approved last: once it is published, the scheduler has seen `p` in
        # the schedule and sleeps until `p` is due (or until its poll, if it ignored that).
        canary = await approve(client, await propose(client, at_once))
        await eventually(lambda: _published(app, canary["id"]))
        clock.advance(seconds=1)
        await eventually(lambda: _published(app, p["id"]), timeout_s=10)
    async with app.state.runtime.db.reader() as session:
        row = (await session.execute(select(price).where(price.c.id == p["id"]))).one()
    # Published by the round that ticked past its start, stamped with that round's time.
    assert row.published_at == row.effective_from == due


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
