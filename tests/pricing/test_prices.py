"""Prices over HTTP: proposals with guardrails, four-eyes decisions, withdrawal, listing,
and every error with its problem+json."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.pricing.events import registry
from shared.events import decode
from shared.tables import outbox
from tests.pricing.conftest import (
    BOSS,
    FINANCE,
    OTHER_PM,
    PM,
    PM_WHO_APPROVES,
    READ,
    FakeClock,
    add_product,
    approve,
    cost_changed,
    deliver,
    lifecycle_changed,
    make_list,
    outbox_types,
    propose,
    settle,
)
from tests.support import assert_problem, auth

RAILS = {"min_margin_pct": "20", "max_change_pct": "10", "floor": "5.00", "ceiling": "100.00"}


@pytest.fixture
async def product_id(app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> str:
    await make_list(client, guardrails=RAILS)
    return await add_product(app, clock, cost="10.00")


# --- proposals ----------------------------------------------------------------------------------


async def test_propose_a_price(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    resp = await client.post(
        "/v1/prices",
        json={
            "product_id": product_id,
            "price_list": "eu-web",
            "amount": "14.9",
            "reason": "  match the market  ",
        },
        headers=PM,
    )
    assert resp.status_code == 201, resp.text
    price = resp.json()
    assert resp.headers["Location"] == f"/v1/prices/{price['id']}"
    assert resp.headers["ETag"] == '"1"'
    assert price["amount"] == "14.90"
    assert price["currency"] == "EUR"
    assert price["kind"] == "base"
    assert price["status"] == "proposed"
    assert price["valid_from"] == clock().isoformat().replace("+00:00", "Z")
    assert price["valid_to"] is None
    assert price["reason"] == "match the market"
    assert price["guardrail_violations"] == []
    assert price["cost"] == {"amount": "10.00", "currency": "EUR"}
    assert price["margin_pct"] == "32.89"
    assert price["current_price"] is None
    assert price["proposed_by"] == {"subject": "key-pm", "name": "tester"}
    assert price["decided_by"] is None
    assert price["effective_from"] is None
    assert price["version"] == 1

    fetched = await client.get(f"/v1/prices/{price['id']}", headers=FINANCE)
    assert fetched.json() == price
    assert await outbox_types(app, product_id) == ["pricing.price.proposed.v1"]


async def test_violations_are_computed_and_listed(
    client: httpx.AsyncClient, product_id: str
) -> None:
    price = await propose(client, product_id, "4.00")
    assert [v["code"] for v in price["guardrail_violations"]] == [
        "below_cost",
        "margin_below_minimum",
        "below_floor",
    ]
    below_cost, margin, floor = price["guardrail_violations"]
    assert below_cost == {
        "code": "below_cost",
        "detail": "the price 4.00 is below the cost 10.00",
        "limit": "10.00",
        "actual": "4.00",
    }
    assert (margin["limit"], margin["actual"]) == ("20", "-150")
    assert (floor["limit"], floor["actual"]) == ("5.00", "4.00")
    assert price["margin_pct"] == "-150"
    ceiling = await propose(client, product_id, "120.00")
    assert [v["code"] for v in ceiling["guardrail_violations"]] == ["above_ceiling"]


async def test_change_is_measured_against_the_base_price_in_effect(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    await approve(client, await propose(client, product_id, "20.00"))
    clock.advance(seconds=1)
    small = await propose(client, product_id, "21.00")
    assert small["current_price"] == "20.00"
    assert small["guardrail_violations"] == []
    big = await propose(client, product_id, "23.00")
    (violation,) = big["guardrail_violations"]
    assert (violation["code"], violation["limit"], violation["actual"]) == (
        "change_too_large",
        "10",
        "15",
    )


async def test_a_jpy_list_takes_whole_amounts(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await make_list(client, "jp-web", currency="JPY")
    product_id = await add_product(app, clock, cost="900", currency="JPY")
    price = await propose(client, product_id, "1980", price_list="jp-web")
    assert (price["amount"], price["currency"], price["margin_pct"]) == ("1980", "JPY", "54.55")
    resp = await client.post(
        "/v1/prices",
        json={"product_id": product_id, "price_list": "jp-web", "amount": "1980.5"},
        headers=PM,
    )
    problem = assert_problem(resp, 422, detail_has="JPY amounts have no decimals")
    assert problem["errors"] == [
        {"loc": ["body", "amount"], "msg": "JPY amounts have no decimals; got 1980.5"}
    ]


async def test_a_cost_in_another_currency_is_shown_but_not_compared(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await make_list(client, guardrails={"min_margin_pct": "50"})
    product_id = await add_product(app, clock, cost="100.00", currency="USD")
    price = await propose(client, product_id, "1.00")
    assert price["cost"] == {"amount": "100.00", "currency": "USD"}
    assert price["margin_pct"] is None
    assert price["guardrail_violations"] == []


@pytest.mark.parametrize(
    ("overrides", "loc", "detail"),
    [
        ({"amount": 19.99}, ["body", "amount"], "decimal string"),
        ({"amount": 19}, ["body", "amount"], "decimal string"),
        ({"amount": "abc"}, ["body", "amount"], "decimal string"),
        ({"amount": "-1.00"}, ["body", "amount"], "non-negative"),
        ({"amount": "NaN"}, ["body", "amount"], "decimal string"),
        ({"amount": "Infinity"}, ["body", "amount"], "decimal string"),
        ({"amount": "1e3"}, ["body", "amount"], "decimal string"),
        ({"amount": "1.5E+2"}, ["body", "amount"], "decimal string"),
        ({"amount": "12.999"}, ["body", "amount"], "EUR amounts have at most 2 decimals"),
        ({"amount": "1.23456"}, ["body", "amount"], "more than 4 decimals"),
        ({"amount": "1234567890123"}, ["body", "amount"], "decimal string"),
        ({"amount": None}, ["body", "amount"], "decimal string"),
        ({"kind": "clearance"}, ["body", "kind"], "body.kind"),
        ({"valid_from": "2030-03-02T00:00:00"}, ["body", "valid_from"], "timezone"),
        ({"valid_from": "tomorrow"}, ["body", "valid_from"], "body.valid_from"),
        # No UTC form a datetime can hold: converting it was a 500.
        ({"valid_from": "9999-12-31T23:00:00-05:00"}, ["body", "valid_from"], "in UTC it must"),
        (
            {"valid_from": "2030-03-05T00:00:00Z", "valid_to": "2030-03-04T00:00:00Z"},
            ["body", "valid_to"],
            "valid_to must be after valid_from",
        ),
        (
            {"valid_from": "2030-03-05T00:00:00Z", "valid_to": "2030-03-05T00:00:00Z"},
            ["body", "valid_to"],
            "valid_to must be after valid_from",
        ),
        (
            {"valid_from": "2030-02-01T00:00:00Z", "valid_to": "2030-02-10T00:00:00Z"},
            ["body", "valid_to"],
            "valid_to is in the past",
        ),
        ({"kind": "promotion"}, ["body", "valid_to"], "a promotion needs valid_to"),
        ({"price_list": "nope"}, ["body", "price_list"], "unknown price list 'nope'"),
        (
            {"product_id": "never-heard-of"},
            ["body", "product_id"],
            "unknown product 'never-heard-of'",
        ),
        ({"product_id": ""}, ["body", "product_id"], "body.product_id"),
        ({"reason": "r" * 2001}, ["body", "reason"], "body.reason"),
        ({"status": "published"}, ["body", "status"], "Extra inputs"),
        ({"currency": "USD"}, ["body", "currency"], "Extra inputs"),
        ({"proposed_by": "someone"}, ["body", "proposed_by"], "Extra inputs"),
    ],
)
async def test_invalid_proposals_are_rejected(
    app: FastAPI,
    client: httpx.AsyncClient,
    product_id: str,
    overrides: dict[str, Any],
    loc: list[str],
    detail: str,
) -> None:
    body = {"product_id": product_id, "price_list": "eu-web", "amount": "15.00", **overrides}
    resp = await client.post("/v1/prices", json=body, headers=PM)
    problem = assert_problem(resp, 422, detail_has=detail)
    assert loc in [error["loc"] for error in problem["errors"]]
    assert (await client.get("/v1/prices", headers=READ)).json()["items"] == []
    assert await outbox_types(app) == []


async def test_malformed_json_is_rejected(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/v1/prices", content=b'{"amount": ', headers={**PM, "Content-Type": "application/json"}
    )
    assert_problem(resp, 422, detail_has="JSON")


async def test_a_discontinued_product_takes_no_proposals(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    await deliver(app, lifecycle_changed(product_id, "discontinued", version=2, at=clock()))
    resp = await client.post(
        "/v1/prices",
        json={"product_id": product_id, "price_list": "eu-web", "amount": "15.00"},
        headers=PM,
    )
    problem = assert_problem(resp, 409, detail_has="discontinued")
    assert problem["product_id"] == product_id


async def test_idempotent_proposal_replays(client: httpx.AsyncClient, product_id: str) -> None:
    headers = {**PM, "Idempotency-Key": "proposal-1"}
    body = {"product_id": product_id, "price_list": "eu-web", "amount": "15.00"}
    first = await client.post("/v1/prices", json=body, headers=headers)
    again = await client.post("/v1/prices", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len((await client.get("/v1/prices", headers=READ)).json()["items"]) == 1
    changed = await client.post("/v1/prices", json={**body, "amount": "16.00"}, headers=headers)
    assert_problem(changed, 422, detail_has="different request body")


# --- approval -----------------------------------------------------------------------------------


async def test_approve_by_a_second_person(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    price = await propose(client, product_id, valid_from=(clock() + timedelta(days=1)).isoformat())
    clock.advance(hours=1)
    resp = await client.post(
        f"/v1/prices/{price['id']}/approve", headers={**BOSS, "If-Match": '"1"'}
    )
    assert resp.status_code == 200, resp.text
    approved = resp.json()
    assert resp.headers["ETag"] == '"2"'
    assert approved["status"] == "approved"
    assert approved["decided_by"] == {"subject": "key-boss", "name": "tester"}
    assert approved["decided_at"] == clock().isoformat().replace("+00:00", "Z")
    assert approved["effective_from"] == approved["valid_from"]
    assert approved["override_reason"] is None
    assert approved["version"] == 2
    assert await outbox_types(app, product_id) == [
        "pricing.price.proposed.v1",
        "pricing.price.approved.v1",
    ]


async def test_the_proposer_can_never_approve_their_own_price(
    app: FastAPI, client: httpx.AsyncClient, product_id: str
) -> None:
    # Even holding pricing:approve.
    price = await propose(client, product_id, headers=PM_WHO_APPROVES)
    for action, body in (("approve", None), ("reject", {"reason": "no"})):
        resp = await client.post(
            f"/v1/prices/{price['id']}/{action}", json=body, headers=PM_WHO_APPROVES
        )
        problem = assert_problem(resp, 403, detail_has="you proposed this price")
        assert problem["type"].endswith("/four-eyes")
        assert problem["title"] == "Four-eyes rule"
        assert problem["proposed_by"] == "key-pm"
    fetched = await client.get(f"/v1/prices/{price['id']}", headers=READ)
    assert fetched.json()["status"] == "proposed"
    assert await outbox_types(app, product_id) == ["pricing.price.proposed.v1"]


async def test_one_owner_with_two_keys_cannot_decide_on_their_own_price(
    app: FastAPI, client: httpx.AsyncClient, product_id: str
) -> None:
    # Pat proposes with one key and holds a second one with pricing:approve.
    pat_proposing = auth("pricing:read pricing:write", subject="key-pat-1", owner="pat")
    pat_approving = auth("pricing:read pricing:approve", subject="key-pat-2", owner="pat")
    dana = auth("pricing:read pricing:approve", subject="key-dana", owner="dana")
    price = await propose(client, product_id, headers=pat_proposing)
    for action, body in (("approve", None), ("reject", {"reason": "no"})):
        resp = await client.post(
            f"/v1/prices/{price['id']}/{action}", json=body, headers=pat_approving
        )
        problem = assert_problem(resp, 403, detail_has="you proposed this price")
        assert problem["type"].endswith("/four-eyes")
        assert problem["proposed_by"] == "key-pat-1"
    assert await outbox_types(app, product_id) == ["pricing.price.proposed.v1"]

    approved = await client.post(f"/v1/prices/{price['id']}/approve", headers=dana)

    assert approved.status_code == 200, approved.text
    assert approved.json()["decided_by"]["subject"] == "key-dana"


async def test_the_proposer_withdraws_with_any_of_their_keys(
    client: httpx.AsyncClient, product_id: str
) -> None:
    pat_desktop = auth("pricing:read pricing:write", subject="key-pat-1", owner="pat")
    pat_laptop = auth("pricing:read pricing:write", subject="key-pat-2", owner="pat")
    price = await propose(client, product_id, headers=pat_desktop)

    resp = await client.post(f"/v1/prices/{price['id']}/withdraw", headers=pat_laptop)

    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "withdrawn"


async def test_violations_need_an_override_reason_which_is_recorded(
    client: httpx.AsyncClient, product_id: str
) -> None:
    price = await propose(client, product_id, "9.00")
    url = f"/v1/prices/{price['id']}/approve"
    for body in (None, {}, {"override_reason": None}):
        problem = assert_problem(
            await client.post(url, json=body, headers=BOSS), 422, detail_has="override_reason"
        )
        assert problem["field"] == "override_reason"
        assert problem["violations"] == ["below_cost", "margin_below_minimum"]
        assert problem["errors"][0]["loc"] == ["body", "override_reason"]
    blank = await client.post(url, json={"override_reason": "   "}, headers=BOSS)
    assert_problem(blank, 422, detail_has="override_reason")
    approved = await approve(client, price, override="clearance: the model is replaced")
    assert approved["status"] == "approved"
    assert approved["override_reason"] == "clearance: the model is replaced"
    assert [v["code"] for v in approved["guardrail_violations"]] == [
        "below_cost",
        "margin_below_minimum",
    ]


async def test_guardrails_are_checked_again_on_approval(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    price = await propose(client, product_id, "13.00")
    assert price["guardrail_violations"] == []
    # The cost rose after the proposal: 13.00 is now under the minimum margin.
    await deliver(app, cost_changed(product_id, "10.00", "11.00", version=2, at=clock()))
    resp = await client.post(f"/v1/prices/{price['id']}/approve", headers=BOSS)
    problem = assert_problem(resp, 422, detail_has="margin_below_minimum")
    assert problem["violations"] == ["margin_below_minimum"]
    approved = await approve(client, price, override="accepted for the launch week")
    assert approved["cost"] == {"amount": "11.00", "currency": "EUR"}
    assert [v["code"] for v in approved["guardrail_violations"]] == ["margin_below_minimum"]


async def test_decisions_on_a_decided_price_conflict(
    client: httpx.AsyncClient, product_id: str
) -> None:
    price = await propose(client, product_id)
    await approve(client, price)
    again = await client.post(f"/v1/prices/{price['id']}/approve", headers=BOSS)
    problem = assert_problem(again, 409, detail_has="only a proposed price can be approved")
    # Approved, or already published by the scheduler: decided either way.
    assert problem["current"] in ("approved", "published")
    reject = await client.post(
        f"/v1/prices/{price['id']}/reject", json={"reason": "late"}, headers=BOSS
    )
    assert_problem(reject, 409, detail_has="only a proposed price can be rejected")


async def test_stale_if_match_on_a_decision(client: httpx.AsyncClient, product_id: str) -> None:
    price = await propose(client, product_id)
    resp = await client.post(
        f"/v1/prices/{price['id']}/approve", headers={**BOSS, "If-Match": '"7"'}
    )
    problem = assert_problem(resp, 412, detail_has="version 1")
    assert problem["current_version"] == 1


async def test_a_window_that_ended_before_approval_conflicts(
    client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    price = await propose(client, product_id, valid_to=(clock() + timedelta(days=2)).isoformat())
    clock.advance(days=3)
    resp = await client.post(f"/v1/prices/{price['id']}/approve", headers=BOSS)
    assert_problem(resp, 409, detail_has="window ended")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"override_reason": 5}, "body.override_reason"),
        ({"override_reason": "x" * 2001}, "body.override_reason"),
        ({"approved_by": "me"}, "Extra inputs"),
    ],
)
async def test_invalid_approval_bodies(
    client: httpx.AsyncClient, product_id: str, body: dict[str, Any], detail: str
) -> None:
    price = await propose(client, product_id)
    resp = await client.post(f"/v1/prices/{price['id']}/approve", json=body, headers=BOSS)
    assert_problem(resp, 422, detail_has=detail)


# --- rejection and withdrawal -------------------------------------------------------------------


async def test_reject_with_a_reason(
    app: FastAPI, client: httpx.AsyncClient, product_id: str
) -> None:
    price = await propose(client, product_id)
    resp = await client.post(
        f"/v1/prices/{price['id']}/reject", json={"reason": "too low for Q4"}, headers=BOSS
    )
    assert resp.status_code == 200, resp.text
    rejected = resp.json()
    assert rejected["status"] == "rejected"
    assert rejected["rejection_reason"] == "too low for Q4"
    assert rejected["decided_by"]["subject"] == "key-boss"
    assert await outbox_types(app, product_id) == [
        "pricing.price.proposed.v1",
        "pricing.price.rejected.v1",
    ]


@pytest.mark.parametrize(
    ("body", "detail"), [(None, "body"), ({}, "body.reason"), ({"reason": "  "}, "body.reason")]
)
async def test_a_rejection_needs_a_reason(
    client: httpx.AsyncClient, product_id: str, body: dict[str, Any] | None, detail: str
) -> None:
    price = await propose(client, product_id)
    resp = await client.post(f"/v1/prices/{price['id']}/reject", json=body, headers=BOSS)
    assert_problem(resp, 422, detail_has=detail)


async def test_withdraw_by_the_proposer_only(
    app: FastAPI, client: httpx.AsyncClient, product_id: str
) -> None:
    price = await propose(client, product_id)
    url = f"/v1/prices/{price['id']}/withdraw"
    other = await client.post(url, headers=OTHER_PM)
    problem = assert_problem(other, 403, detail_has="only the proposer")
    assert problem["proposed_by"] == "key-pm"
    resp = await client.post(url, json={"reason": "wrong list"}, headers=PM)
    assert resp.status_code == 200, resp.text
    withdrawn = resp.json()
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["close_reason"] == "wrong list"
    again = await client.post(url, headers=PM)
    assert_problem(again, 409, detail_has="this one is withdrawn")
    approve_it = await client.post(f"/v1/prices/{price['id']}/approve", headers=BOSS)
    assert_problem(approve_it, 409)
    assert (await outbox_types(app, product_id))[-1] == "pricing.price.withdrawn.v1"


async def test_an_approved_price_can_be_withdrawn_until_it_takes_effect(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    later = await propose(client, product_id, valid_from=(clock() + timedelta(days=1)).isoformat())
    now = await propose(client, product_id, "16.00")
    await approve(client, later)
    await approve(client, now)
    resp = await client.post(f"/v1/prices/{later['id']}/withdraw", headers=PM)
    assert resp.status_code == 200, resp.text
    assert resp.json()["close_reason"] == "withdrawn by the proposer"
    in_effect = await client.post(f"/v1/prices/{now['id']}/withdraw", headers=PM)
    assert_problem(in_effect, 409, detail_has="already in effect")


@pytest.mark.parametrize("action", ["approve", "reject", "withdraw"])
async def test_unknown_price_is_not_found(client: httpx.AsyncClient, action: str) -> None:
    headers = PM if action == "withdraw" else BOSS
    body = {"reason": "x"} if action == "reject" else None
    resp = await client.post(f"/v1/prices/nope/{action}", json=body, headers=headers)
    assert_problem(resp, 404, detail_has="no price with id 'nope'")
    assert_problem(await client.get("/v1/prices/nope", headers=READ), 404)


# --- listing ------------------------------------------------------------------------------------


async def test_list_prices_with_filters_and_pagination(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    other = await add_product(app, clock)
    await make_list(client, "eu-app", channel="app")
    made = [
        await propose(client, product_id, "15.00"),
        await propose(client, other, "16.00"),
        await propose(client, product_id, "17.00", price_list="eu-app"),
        await propose(
            client,
            product_id,
            "12.00",
            kind="promotion",
            valid_to=(clock() + timedelta(days=7)).isoformat(),
        ),
    ]
    await approve(client, made[1])
    await settle(app, clock)

    async def ids(**params: Any) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/prices", params=query, headers=READ)).json()
            found += [p["id"] for p in page["items"]]
            if (cursor := page["next_cursor"]) is None:
                return found

    assert await ids(limit=1) == [p["id"] for p in made]
    assert await ids(product_id=product_id, limit=2) == [
        made[0]["id"],
        made[2]["id"],
        made[3]["id"],
    ]
    assert await ids(price_list="eu-app") == [made[2]["id"]]
    assert await ids(status="published") == [made[1]["id"]]
    assert await ids(status="proposed", limit=1) == [made[0]["id"], made[2]["id"], made[3]["id"]]
    assert await ids(kind="promotion") == [made[3]["id"]]
    assert await ids(product_id="unknown") == []


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"status": "live"}, "query.status"),
        ({"kind": "sale"}, "query.kind"),
        ({"limit": 500}, "query.limit"),
        ({"cursor": "%%%"}, "cursor is malformed"),
        ({"product_id": "p" * 65}, "query.product_id"),
    ],
)
async def test_invalid_price_queries(
    client: httpx.AsyncClient, params: dict[str, Any], detail: str
) -> None:
    assert_problem(
        await client.get("/v1/prices", params=params, headers=READ), 422, detail_has=detail
    )


# --- events and scopes --------------------------------------------------------------------------


async def test_concurrent_proposals_for_one_product_are_all_taken_in_sequence(
    app: FastAPI, client: httpx.AsyncClient, product_id: str
) -> None:
    # Each insert's foreign key held a KEY SHARE lock on the product, which the event
    # counter's FOR UPDATE then waited for: on PostgreSQL all but one deadlocked (500).
    body = {"product_id": product_id, "price_list": "eu-web", "amount": "15.00"}
    sent = [client.post("/v1/prices", json=body, headers=PM) for _ in range(6)]
    responses = await asyncio.gather(*sent)
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(outbox.c.payload).order_by(outbox.c.seq))).all()
    assert sorted(decode(row.payload).sequence_number or 0 for row in rows) == [1, 2, 3, 4, 5, 6]


async def test_events_carry_the_price_and_a_sequence_per_product(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock, product_id: str
) -> None:
    first = await propose(client, product_id, "15.00")
    second = await propose(client, product_id, "9.00")
    await approve(client, first)
    await settle(app, clock)
    await client.post(f"/v1/prices/{second['id']}/reject", json={"reason": "no"}, headers=BOSS)
    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
    events = [decode(row.payload) for row in rows]
    assert [e.type for e in events] == [
        "pricing.price.proposed.v1",
        "pricing.price.proposed.v1",
        "pricing.price.approved.v1",
        "pricing.price.published.v1",
        "pricing.price.rejected.v1",
    ]
    assert [e.sequence_number for e in events] == [1, 2, 3, 4, 5]
    for row, event in zip(rows, events, strict=True):
        assert row.topic == "pricing.events"
        assert row.key == product_id == event.subject
        assert event.source == "/pricing"
        registry.payload(event)  # the data matches its registered model
    approved = events[2].data
    assert approved["price_id"] == first["id"]
    assert approved["amount"] == "15.00"  # a string, never a number
    assert approved["status"] == "approved"
    assert approved["decided_by"] == "key-boss"
    assert events[3].data["status"] == "published"
    rejected = events[4].data
    assert rejected["rejection_reason"] == "no"
    assert [v["code"] for v in rejected["guardrail_violations"]] == [
        "below_cost",
        "margin_below_minimum",
    ]


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/v1/prices", "pricing:write"),
        ("GET", "/v1/prices", "pricing:read"),
        ("GET", "/v1/prices/x", "pricing:read"),
        ("POST", "/v1/prices/x/approve", "pricing:approve"),
        ("POST", "/v1/prices/x/reject", "pricing:approve"),
        ("POST", "/v1/prices/x/withdraw", "pricing:write"),
    ],
)
async def test_scopes_are_enforced(
    client: httpx.AsyncClient, method: str, path: str, scope: str
) -> None:
    assert_problem(await client.request(method, path), 401)
    others = {"pricing:read", "pricing:write", "pricing:approve"} - {scope}
    lacking = auth(" ".join(sorted(others)), subject="key-lacking")
    problem = assert_problem(await client.request(method, path, headers=lacking), 403)
    assert problem["required_scope"] == scope
    admin = auth("admin", subject="key-admin")
    assert (await client.request(method, path, headers=admin)).status_code not in (401, 403)
