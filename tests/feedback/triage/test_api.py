"""The admin re-queue of events triage gave up on, over HTTP: who may call it, and what
bad input answers. Re-queued events being triaged: see test_worker.py."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import assert_problem, auth

ADMIN = auth("admin")
REQUEUE = "/v1/triage/requeue"


async def test_with_nothing_given_up_nothing_is_requeued(client: httpx.AsyncClient) -> None:
    for body in ({}, {"event_ids": ["ev-unknown"]}, None):
        response = await client.post(REQUEUE, json=body, headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.json() == {"requeued": 0}


async def test_requeue_is_for_admins(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(REQUEUE), 401)
    not_admin = auth("feedback:read feedback:write feedback:ingest")
    body = assert_problem(await client.post(REQUEUE, headers=not_admin), 403, detail_has="admin")
    assert body["required_scope"] == "admin"


async def test_bad_input_is_a_problem(client: httpx.AsyncClient) -> None:
    cases: list[tuple[Any, list[str]]] = [
        ({"event_ids": []}, ["body", "event_ids"]),
        ({"event_ids": "ev-1"}, ["body", "event_ids"]),
        ({"event_ids": ["ev 1; drop"]}, ["body", "event_ids", "0"]),
        ({"event_ids": [f"ev-{i}" for i in range(1001)]}, ["body", "event_ids"]),
        ({"status": "queued"}, ["body", "status"]),
        (["ev-1"], ["body"]),
    ]
    for content, loc in cases:
        response = await client.post(REQUEUE, json=content, headers=ADMIN)
        body = assert_problem(response, 422)
        assert [error["loc"] for error in body["errors"]] == [loc], body

    broken = await client.post(
        REQUEUE, content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert assert_problem(broken, 422)["errors"]
