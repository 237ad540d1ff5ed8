"""`GET /v1/launches/stats` on SQLite and PostgreSQL: every plan by status, the open ones by
readiness whatever their target date, the launched ones at risk."""

from __future__ import annotations

from datetime import date

import httpx
from fastapi import FastAPI

from tests.launch.conftest import (
    BOSS,
    PM,
    READER,
    START,
    deliver,
    finding_event,
    known_product,
    make_ready,
    ok,
    plan,
)
from tests.support import assert_problem, auth


async def stats(client: httpx.AsyncClient) -> dict[str, object]:
    return ok(await client.get("/v1/launches/stats", headers=READER))


async def test_no_plans_count_zero_in_every_status_and_readiness(
    client: httpx.AsyncClient,
) -> None:
    assert await stats(client) == {
        "total": 0,
        "by_status": {"planned": 0, "approved": 0, "launched": 0, "cancelled": 0},
        "open": 0,
        "by_readiness": {"ready": 0, "blocked": 0, "pending": 0},
        "at_risk": 0,
    }


async def test_plans_are_counted_by_status_and_the_open_ones_by_readiness(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Far beyond any calendar window: the stats count every target date.
    pending = await plan(client, await known_product(app), target=date(2031, 9, 1))
    assert pending["readiness"] == "pending"
    hazardous = await known_product(app)
    await deliver(app, finding_event(hazardous))
    assert (await plan(client, hazardous))["readiness"] == "blocked"
    ready = await make_ready(client, await plan(client, await known_product(app)))
    assert ready["readiness"] == "ready"
    dropped = await plan(client, await known_product(app))
    ok(
        await client.post(
            f"/v1/launches/{dropped['id']}/cancel", json={"reason": "market gone"}, headers=PM
        )
    )
    # Launched at once on its target date; then a critical finding puts it at risk.
    live_product = await known_product(app)
    live = await make_ready(client, await plan(client, live_product, target=START.date()))
    launched = ok(await client.post(f"/v1/launches/{live['id']}/approve", headers=BOSS))
    assert launched["status"] == "launched"
    await deliver(app, finding_event(live_product))

    assert await stats(client) == {
        "total": 5,
        "by_status": {"planned": 3, "approved": 0, "launched": 1, "cancelled": 1},
        "open": 3,
        "by_readiness": {"ready": 1, "blocked": 1, "pending": 1},
        "at_risk": 1,
    }


async def test_stats_need_launch_read(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/launches/stats"), 401)
    denied = await client.get("/v1/launches/stats", headers=auth("catalog:read"))
    assert assert_problem(denied, 403)["required_scope"] == "launch:read"
