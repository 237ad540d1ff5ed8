"""Guardrail changes over HTTP: who asked and why, tightening at once, loosening by a second
person, the events, the list's history, and every error with its problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shared.events import decode
from shared.tables import outbox
from tests.pricing.conftest import BOSS, PM, READ, make_list, outbox_types
from tests.support import assert_problem, auth

RAILS = {"min_margin_pct": "20", "max_change_pct": "10", "floor": "5.00", "ceiling": "100.00"}
URL = "/v1/price-lists/eu-web/guardrail-changes"
# The PM's second key, able to approve: still the PM.
PM_APPROVING = auth("pricing:read pricing:approve", subject="key-pm-approves", owner="key-pm")


@pytest.fixture
async def listed(client: httpx.AsyncClient) -> dict[str, Any]:
    return await make_list(client, guardrails=RAILS)


async def ask(
    client: httpx.AsyncClient, guardrails: dict[str, str], *, reason: str = "market moved"
) -> httpx.Response:
    return await client.post(URL, json={"guardrails": guardrails, "reason": reason}, headers=PM)


async def rails(client: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await client.get("/v1/price-lists/eu-web", headers=READ)).json())


async def test_a_tightening_applies_at_once_with_who_and_why(
    app: FastAPI, client: httpx.AsyncClient, listed: dict[str, Any]
) -> None:
    tighter = {**RAILS, "min_margin_pct": "25", "floor": "6.00", "ceiling": "90.00"}

    resp = await ask(client, tighter, reason="  costs rose  ")

    assert resp.status_code == 201, resp.text
    change = resp.json()
    assert resp.headers["Location"] == f"{URL}/{change['id']}"
    assert (change["status"], change["reason"], change["loosens"]) == ("applied", "costs rose", [])
    assert change["previous"] == {**RAILS, "max_change_pct": "10"}
    assert change["guardrails"] == {**tighter, "max_change_pct": "10"}
    assert change["requested_by"] == {"subject": "key-pm", "name": "tester"}
    assert change["decided_by"] is None
    after = await rails(client)
    assert (after["guardrails"], after["version"]) == (change["guardrails"], 2)
    assert await outbox_types(app, "eu-web") == ["pricing.price_list.guardrails_changed.v1"]


async def test_adding_a_limit_tightens(client: httpx.AsyncClient) -> None:
    await make_list(client)
    resp = await ask(client, {"floor": "1.00"})
    assert resp.json()["status"] == "applied"


@pytest.mark.parametrize(
    ("change", "loosens"),
    [
        ({"min_margin_pct": "15"}, ["min_margin_pct"]),
        ({"max_change_pct": "50"}, ["max_change_pct"]),
        ({"floor": "1.00"}, ["floor"]),
        ({"ceiling": "500.00"}, ["ceiling"]),
        ({"floor": None}, ["floor"]),
        ({"min_margin_pct": "30", "ceiling": None}, ["ceiling"]),
    ],
)
async def test_a_loosening_waits_for_a_second_person(
    app: FastAPI,
    client: httpx.AsyncClient,
    listed: dict[str, Any],
    change: dict[str, str | None],
    loosens: list[str],
) -> None:
    wanted = {k: v for k, v in {**RAILS, **change}.items() if v is not None}

    resp = await ask(client, wanted)

    assert resp.status_code == 201, resp.text
    pending = resp.json()
    assert (pending["status"], pending["loosens"]) == ("pending", loosens)
    assert (await rails(client))["guardrails"] == listed["guardrails"]
    assert await outbox_types(app, "eu-web") == ["pricing.guardrail_change.requested.v1"]

    url = f"{URL}/{pending['id']}/approve"
    own = assert_problem(await client.post(url, headers=PM_APPROVING), 403)
    assert (own["type"].endswith("/four-eyes"), own["requested_by"]) == (True, "key-pm")
    assert_problem(await client.post(url, headers=PM), 403)  # pricing:write is not approve

    approved = await client.post(url, headers=BOSS)

    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decided_by"]["subject"], body["version"]) == (
        "applied",
        "key-boss",
        2,
    )
    assert (await rails(client))["guardrails"] == body["guardrails"]
    assert await outbox_types(app, "eu-web") == [
        "pricing.guardrail_change.requested.v1",
        "pricing.price_list.guardrails_changed.v1",
    ]
    async with app.state.runtime.db.reader() as session:
        values = (await session.execute(select(outbox.c.payload).order_by(outbox.c.seq))).all()
    event = decode(values[-1].payload)
    assert (event.subject, event.data["decided_by_owner"], event.data["loosens"]) == (
        "eu-web",
        "key-boss",
        loosens,
    )
    again = assert_problem(await client.post(url, headers=BOSS), 409, detail_has="applied")
    assert again["current"] == "applied"


async def test_a_rejected_loosening_leaves_the_list_as_it_was(
    app: FastAPI, client: httpx.AsyncClient, listed: dict[str, Any]
) -> None:
    pending = (await ask(client, {})).json()
    url = f"{URL}/{pending['id']}"
    missing = await client.post(f"{url}/reject", json={}, headers=BOSS)
    assert assert_problem(missing, 422)["errors"][0]["loc"] == ["body", "reason"]

    rejected = await client.post(f"{url}/reject", json={"reason": "no"}, headers=PM_APPROVING)

    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["rejection_reason"]) == ("rejected", "no")
    assert (await rails(client))["guardrails"] == listed["guardrails"]
    assert_problem(await client.post(f"{url}/approve", headers=BOSS), 409, detail_has="rejected")
    assert_problem(await client.post(f"{url}/reject", json={"reason": "x"}, headers=BOSS), 409)
    assert (await outbox_types(app, "eu-web"))[-1] == "pricing.guardrail_change.rejected.v1"


async def test_a_loosening_asked_before_another_change_cannot_be_approved(
    client: httpx.AsyncClient, listed: dict[str, Any]
) -> None:
    pending = (await ask(client, {})).json()
    await ask(client, {**RAILS, "floor": "7.00"})  # a tightening applies meanwhile

    stale = await client.post(f"{URL}/{pending['id']}/approve", headers=BOSS)

    problem = assert_problem(stale, 409, detail_has="changed after this change was asked for")
    assert (problem["base_version"], problem["current_version"]) == (1, 2)
    assert (await rails(client))["guardrails"]["floor"] == "7.00"


async def test_changes_are_listed_latest_first_and_read_one_by_one(
    client: httpx.AsyncClient, listed: dict[str, Any]
) -> None:
    first = (await ask(client, {**RAILS, "floor": "6.00"})).json()
    second = (await ask(client, {})).json()

    page = (await client.get(URL, params={"limit": 1}, headers=READ)).json()
    assert [c["id"] for c in page["items"]] == [second["id"]]
    rest = await client.get(URL, params={"cursor": page["next_cursor"]}, headers=READ)
    assert [c["id"] for c in rest.json()["items"]] == [first["id"]]
    pending = await client.get(URL, params={"status": "pending"}, headers=READ)
    assert [c["id"] for c in pending.json()["items"]] == [second["id"]]
    one = await client.get(f"{URL}/{first['id']}", headers=READ)
    assert one.json() == first


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"guardrails": RAILS}, ["body", "reason"]),
        ({"guardrails": RAILS, "reason": "   "}, ["body", "reason"]),
        ({"reason": "why"}, ["body", "guardrails"]),
        (
            {"guardrails": {"floor": "3", "ceiling": "2"}, "reason": "x"},
            ["body", "guardrails", "ceiling"],
        ),
        ({"guardrails": {"floor": "3.001"}, "reason": "x"}, ["body", "guardrails", "floor"]),
        (
            {"guardrails": {"min_margin_pct": 20}, "reason": "x"},
            ["body", "guardrails", "min_margin_pct"],
        ),
        ({"guardrails": RAILS, "reason": "x", "status": "applied"}, ["body", "status"]),
        # Nothing would change.
        ({"guardrails": RAILS, "reason": "x"}, ["body", "guardrails"]),
    ],
)
async def test_invalid_changes_are_refused(
    client: httpx.AsyncClient, listed: dict[str, Any], body: dict[str, Any], loc: list[str]
) -> None:
    resp = await client.post(URL, json=body, headers=PM)
    assert assert_problem(resp, 422)["errors"][0]["loc"] == loc


async def test_unknown_lists_and_changes_and_stale_versions(
    client: httpx.AsyncClient, listed: dict[str, Any]
) -> None:
    body = {"guardrails": {}, "reason": "x"}
    assert_problem(
        await client.post("/v1/price-lists/nope/guardrail-changes", json=body, headers=PM), 404
    )
    assert_problem(await client.get("/v1/price-lists/nope/guardrail-changes", headers=READ), 404)
    assert_problem(await client.get(f"{URL}/nope", headers=READ), 404)
    assert_problem(await client.post(f"{URL}/nope/approve", headers=BOSS), 404)
    stale = await client.post(URL, json=body, headers={**PM, "If-Match": '"7"'})
    assert assert_problem(stale, 412)["current_version"] == 1


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("POST", URL, "pricing:write"),
        ("GET", URL, "pricing:read"),
        ("GET", f"{URL}/x", "pricing:read"),
        ("POST", f"{URL}/x/approve", "pricing:approve"),
        ("POST", f"{URL}/x/reject", "pricing:approve"),
    ],
)
async def test_scopes_are_enforced(
    client: httpx.AsyncClient, listed: dict[str, Any], method: str, path: str, needed: str
) -> None:
    body = {"guardrails": {}, "reason": "x"}
    assert_problem(await client.request(method, path, json=body), 401)
    wrong = auth("catalog:read catalog:write", subject="key-catalog")
    problem = assert_problem(await client.request(method, path, json=body, headers=wrong), 403)
    assert problem["required_scope"] == needed
