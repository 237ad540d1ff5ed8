"""The launch scheduler: its schedule is the database, so a restart launches what came due
while it was down, once; competing schedulers never launch a plan twice; a waiver expires
at its moment; monitoring ends after its window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.launch.scheduler import Scheduler
from services.launch.tables import launch_plan
from shared.settings import Settings
from tests.launch.conftest import (
    BOSS,
    READER,
    START,
    TARGET,
    FakeClock,
    deliver,
    finding_event,
    known_product,
    make_ready,
    new_app,
    ok,
    outbox_events,
    outbox_types,
    plan,
)
from tests.support import eventually, running

MOMENT = datetime(TARGET.year, TARGET.month, TARGET.day, tzinfo=UTC)


async def nothing_due(app: FastAPI, now: datetime) -> bool:
    async with app.state.runtime.db.reader() as session:
        due = await session.scalar(
            select(func.count()).select_from(launch_plan).where(launch_plan.c.wake_at <= now)
        )
    return due == 0


async def settle(app: FastAPI, clock: FakeClock) -> None:
    """Let the background scheduler catch up with the (moved) clock."""
    app.state.launch.scheduler.notify()
    await eventually(lambda: nothing_due(app, clock()), timeout_s=15)


async def history_actions(client: httpx.AsyncClient, launch: dict) -> list[str]:
    page = ok(await client.get(f"/v1/launches/{launch['id']}/history", headers=READER))
    return [entry["action"] for entry in page["items"]]


async def approved_plan(app: FastAPI, client: httpx.AsyncClient) -> tuple[str, dict]:
    product_id = await known_product(app)
    launch = await make_ready(client, await plan(client, product_id))
    approved = ok(await client.post(f"/v1/launches/{launch['id']}/approve", headers=BOSS))
    assert (approved["status"], approved["launch_at"]) == ("approved", "2030-04-01T00:00:00Z")
    return product_id, approved


async def test_a_restart_launches_what_came_due_while_down_exactly_once(
    settings: Settings, clock: FakeClock
) -> None:
    first = new_app(settings, clock)
    async with running(first) as client:
        product_id, launch = await approved_plan(first, client)
        clock.set(MOMENT - timedelta(microseconds=1))
        await settle(first, clock)
        assert (await client.get(f"/v1/launches/{launch['id']}", headers=READER)).json()[
            "status"
        ] == "approved"

    clock.set(MOMENT + timedelta(hours=5))  # the service was down on the day
    second = new_app(settings, clock)
    async with running(second) as client:
        await settle(second, clock)
        launched = ok(await client.get(f"/v1/launches/{launch['id']}", headers=READER))
        assert (launched["status"], launched["launched_at"]) == (
            "launched",
            "2030-04-01T05:00:00Z",
        )
        assert launched["monitored_until"] == "2030-05-01T05:00:00Z"
        assert (await history_actions(client, launch))[-1] == "launched"

    third = new_app(settings, clock)
    async with running(third):
        third.state.launch.scheduler.notify()
        await asyncio.sleep(0.3)  # several scheduler rounds
    events = await outbox_events(third, product_id)
    assert [e.type for e in events].count("launch.launched.v1") == 1
    assert events[-1].type == "launch.launched.v1"
    assert events[-1].time == MOMENT + timedelta(hours=5)


async def test_competing_schedulers_launch_each_plan_once(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    made = [await approved_plan(app, client) for _ in range(6)]
    runtime = app.state.runtime
    # Three more schedulers on the same database, small batches, racing the app's own.
    rivals = [Scheduler(monitoring=timedelta(days=30), batch_size=2) for _ in range(3)]
    clock.set(MOMENT)
    app.state.launch.scheduler.notify()
    done = await asyncio.gather(*(rival.tick(runtime) for rival in rivals))
    await settle(app, clock)
    assert sum(done) <= len(made)
    for product_id, launch in made:
        events = await outbox_events(app, product_id)
        assert [e.type for e in events].count("launch.launched.v1") == 1, launch["id"]
        # The product's launch-event sequence stayed gap-free under the race.
        assert [int(e.sequence or 0) for e in events] == list(range(1, len(events) + 1))
        got = ok(await client.get(f"/v1/launches/{launch['id']}", headers=READER))
        assert got["status"] == "launched"


async def test_an_expired_waiver_fails_its_gate_again_at_that_moment(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await known_product(app)
    launch = await make_ready(client, await plan(client, product_id))
    await deliver(app, finding_event(product_id))
    url = f"/v1/launches/{launch['id']}"
    ok(
        await client.post(
            f"{url}/improvements/finding-{product_id}/decline",
            json={"reason": "fixed in production"},
            headers=BOSS,
        )
    )
    expires = START + timedelta(days=2)
    body = {"gate": "no_critical_defects", "reason": "fix ships", "expires_at": expires.isoformat()}
    waived = ok(await client.post(f"{url}/waivers", json=body, headers=BOSS), 201)
    assert waived["readiness"] == "ready"

    clock.set(expires - timedelta(microseconds=1))
    await settle(app, clock)
    assert ok(await client.get(url, headers=READER))["readiness"] == "ready"
    clock.set(expires)
    await settle(app, clock)
    blocked = ok(await client.get(url, headers=READER))
    assert blocked["readiness"] == "blocked"
    assert (blocked["waivers"][0]["live"], blocked["blocking"]) == (False, ["no_critical_defects"])
    assert (await outbox_types(app, product_id))[-2:] == [
        "launch.gate.changed.v1",
        "launch.blocked.v1",
    ]
    page = ok(await client.get(f"{url}/history", headers=READER))
    last = page["items"][-1]
    assert (last["action"], last["changed_by"], last["data"]) == (
        "waiver_expired",
        None,
        {"source": "scheduler", "gates": ["no_critical_defects"]},
    )


async def test_monitoring_ends_after_its_window(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id, launch = await approved_plan(app, client)
    clock.set(MOMENT)
    await settle(app, clock)
    clock.set(MOMENT + timedelta(days=30))
    await settle(app, clock)
    assert (await history_actions(client, launch))[-2:] == ["launched", "monitoring_ended"]
    async with app.state.runtime.db.reader() as session:
        wake_at = await session.scalar(
            select(launch_plan.c.wake_at).where(launch_plan.c.id == launch["id"])
        )
    assert wake_at is None
    # No longer watched: a new critical finding does not touch the plan.
    before = await outbox_types(app, product_id)
    await deliver(app, finding_event(product_id))
    assert await outbox_types(app, product_id) == before
