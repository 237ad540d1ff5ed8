"""Financial plans over HTTP on SQLite and PostgreSQL: create, list, read and edit; actuals
from purchases and returns with variance and forecast; plans made from launch goals; every
bad input with its problem+json."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.pricing.tables import sale_return
from shared.events import CloudEvent
from tests.pricing.conftest import (
    FINANCE,
    PM,
    READ,
    FakeClock,
    add_product,
    cost_changed,
    deliver,
    new_id,
    outbox_types,
    purchase_event,
)
from tests.support import assert_problem, auth

TARGETS = [
    {"month": "2030-03", "units": 100, "revenue": "2000.00", "margin": "600.00"},
    {"month": "2030-04", "units": 120, "revenue": "2400.00", "margin": "720.00"},
]


def plan_body(subject: str, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "product",
        "subject": subject,
        "currency": "EUR",
        "targets": TARGETS,
    } | overrides


async def make_plan(client: httpx.AsyncClient, subject: str, **overrides: Any) -> dict[str, Any]:
    resp = await client.post("/v1/plans", json=plan_body(subject, **overrides), headers=PM)
    assert resp.status_code == 201, resp.text
    return resp.json()


def return_event(
    product_id: str,
    *,
    occurred_at: datetime,
    quantity: int | None = None,
    event_id: str = "",
    account: str | None = None,
) -> CloudEvent:
    """A return as feedback forwards it: no price, and a quantity when the storefront named one."""
    data: dict[str, Any] = {
        "event_id": event_id or new_id("ret"),
        "source": "shop",
        "kind": "return",
        "occurred_at": occurred_at.isoformat(),
        "product_id": product_id,
        "sku": "SKU-1",
        "customer_ref": "cust-42",
        "reason": "defective",
    }
    if quantity is not None:
        data["quantity"] = quantity
    if account is not None:
        data["account"] = account
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/feedback",
        type="feedback.customer_event.accepted.v1",
        subject=product_id,
        time=occurred_at,
        data=data,
    )


def launched_event(
    product_id: str, *, at: datetime, goals: dict[str, Any] | None, launch_id: str = ""
) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/launch",
        type="launch.launched.v1",
        subject=product_id,
        time=at,
        data={
            "launch_id": launch_id or new_id("launch"),
            "product_id": product_id,
            "price_list": "eu-web",
            "owner": "olivia",
            "target_date": at.date().isoformat(),
            "status": "launched",
            "readiness": "ready",
            "launched_at": at.isoformat(),
            "monitored_until": (at + timedelta(days=30)).isoformat(),
            "goals": goals,
        },
        sequence="3",
    )


GOALS = {
    "units": 500,
    "revenue": {"amount": "25000.00", "currency": "EUR"},
    "margin_pct": "32.5",
    "period_days": 90,
}


async def test_a_plan_is_created_read_listed_and_announced(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock)
    resp = await client.post("/v1/plans", json=plan_body(product_id), headers=PM)

    assert resp.status_code == 201, resp.text
    plan = resp.json()
    assert resp.headers["Location"] == f"/v1/plans/{plan['id']}"
    assert resp.headers["ETag"] == '"1"'
    assert (plan["kind"], plan["subject"], plan["source"], plan["version"]) == (
        "product",
        product_id,
        "manual",
        1,
    )
    assert plan["targets"] == TARGETS
    assert plan["created_by"] == "key-pm"

    got = await client.get(f"/v1/plans/{plan['id']}", headers=FINANCE)
    assert (got.status_code, got.json()) == (200, plan)
    # A reader without pricing:finance sees units and revenue but no margin.
    hidden = (await client.get(f"/v1/plans/{plan['id']}", headers=READ)).json()
    assert [t["margin"] for t in hidden["targets"]] == [None, None]
    assert [t["revenue"] for t in hidden["targets"]] == ["2000.00", "2400.00"]

    other = await add_product(app, clock)
    second = await make_plan(client, other)
    account = await make_plan(client, "acme-corp", kind="account")
    listed = (await client.get("/v1/plans", params={"limit": 2}, headers=READ)).json()
    assert [p["id"] for p in listed["items"]] == [plan["id"], second["id"]]
    rest = await client.get("/v1/plans", params={"cursor": listed["next_cursor"]}, headers=READ)
    assert [p["id"] for p in rest.json()["items"]] == [account["id"]]
    by_kind = await client.get("/v1/plans", params={"kind": "account"}, headers=READ)
    assert [p["subject"] for p in by_kind.json()["items"]] == ["acme-corp"]
    by_subject = await client.get("/v1/plans", params={"subject": other}, headers=READ)
    assert [p["id"] for p in by_subject.json()["items"]] == [second["id"]]

    assert await outbox_types(app, product_id) == ["pricing.plan.created.v1"]
    assert await outbox_types(app, "acme-corp") == ["pricing.plan.created.v1"]


async def test_targets_are_edited_with_if_match(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock)
    plan = await make_plan(client, product_id)
    url = f"/v1/plans/{plan['id']}"
    change = {"targets": [{"month": "2030-04", "units": 90, "revenue": "1800", "margin": "-50"}]}

    stale = await client.patch(url, json=change, headers={**PM, "If-Match": '"7"'})
    assert assert_problem(stale, 412, detail_has="version 1")["current_version"] == 1

    resp = await client.patch(url, json=change, headers={**PM, "If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == '"2"'
    assert resp.json()["targets"] == [
        TARGETS[0],
        {"month": "2030-04", "units": 90, "revenue": "1800.00", "margin": "-50.00"},
    ]
    added = {"targets": [{"month": "2030-05", "units": 1, "revenue": "1", "margin": "0"}]}
    resp = await client.patch(url, json=added, headers=PM)
    assert [t["month"] for t in resp.json()["targets"]] == ["2030-03", "2030-04", "2030-05"]
    assert await outbox_types(app, product_id) == [
        "pricing.plan.created.v1",
        "pricing.plan.targets_changed.v1",
        "pricing.plan.targets_changed.v1",
    ]


@pytest.mark.parametrize(
    ("overrides", "loc", "detail"),
    [
        ({"kind": "region"}, ["body", "kind"], "Input should be"),
        ({"currency": "XXX"}, ["body", "currency"], "unknown currency"),
        ({"targets": []}, ["body", "targets"], "at least 1"),
        (
            {"targets": [TARGETS[0] | {"month": "2030-13"}]},
            ["body", "targets", "0", "month"],
            "YYYY-MM",
        ),
        (
            {"targets": [TARGETS[0] | {"month": 202603}]},
            ["body", "targets", "0", "month"],
            "YYYY-MM",
        ),
        ({"targets": [TARGETS[0] | {"units": -1}]}, ["body", "targets", "0", "units"], "greater"),
        ({"targets": [TARGETS[0] | {"units": "5"}]}, ["body", "targets", "0", "units"], "integer"),
        (
            {"targets": [TARGETS[0] | {"revenue": 10.5}]},
            ["body", "targets", "0", "revenue"],
            "decimal string",
        ),
        (
            {"targets": [TARGETS[0] | {"revenue": "-1"}]},
            ["body", "targets", "0", "revenue"],
            "decimal string",
        ),
        (
            {"targets": [TARGETS[0] | {"margin": "--1"}]},
            ["body", "targets", "0", "margin"],
            "decimal string",
        ),
        (
            {"targets": [TARGETS[0] | {"revenue": "1.005"}]},
            ["body", "targets", "0", "revenue"],
            "at most 2 decimals",
        ),
        ({"targets": [TARGETS[0], TARGETS[0]]}, ["body", "targets", "1", "month"], "given twice"),
        (
            {"targets": [TARGETS[0] | {"extra": 1}]},
            ["body", "targets", "0", "extra"],
            "Extra inputs",
        ),
        ({"status": "approved"}, ["body", "status"], "Extra inputs"),
        ({"subject": "nobody-knows"}, ["body", "subject"], "has not heard of it"),
        ({"kind": "account", "subject": "acme corp!"}, ["body", "subject"], "an account must be"),
        ({"subject": "x" * 129}, ["body", "subject"], "at most 128"),
    ],
)
async def test_bad_plans_are_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    clock: FakeClock,
    overrides: dict[str, Any],
    loc: list[Any],
    detail: str,
) -> None:
    product_id = await add_product(app, clock)
    resp = await client.post("/v1/plans", json=plan_body(product_id) | overrides, headers=PM)
    problem = assert_problem(resp, 422)
    errors = problem["errors"]
    assert loc in [e["loc"] for e in errors], errors
    assert any(detail in e["msg"] for e in errors), errors
    assert (await client.get("/v1/plans", headers=READ)).json()["items"] == []


async def test_one_plan_per_product_scopes_and_unknown_plans(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock)
    plan = await make_plan(client, product_id)
    again = await client.post("/v1/plans", json=plan_body(product_id), headers=PM)
    assert assert_problem(again, 409, detail_has="exists already")["subject"] == product_id

    body = plan_body(await add_product(app, clock))
    assert_problem(await client.post("/v1/plans", json=body, headers=READ), 403)
    assert_problem(await client.post("/v1/plans", json=body), 401)
    assert_problem(await client.get("/v1/plans", headers=auth("catalog:read")), 403)
    change = {"targets": TARGETS}
    assert_problem(await client.patch(f"/v1/plans/{plan['id']}", json=change, headers=READ), 403)

    assert_problem(await client.get("/v1/plans/nope", headers=READ), 404, detail_has="'nope'")
    assert_problem(await client.patch("/v1/plans/nope", json=change, headers=PM), 404)
    assert_problem(await client.get("/v1/plans/nope/performance", headers=READ), 404)
    bad_patch = await client.patch(f"/v1/plans/{plan['id']}", json={"targets": []}, headers=PM)
    assert_problem(bad_patch, 422)
    bad_version = await client.patch(
        f"/v1/plans/{plan['id']}", json=change, headers={**PM, "If-Match": "abc"}
    )
    assert_problem(bad_version, 422, detail_has="If-Match")
    bad_kind = await client.get("/v1/plans", params={"kind": "x"}, headers=READ)
    assert_problem(bad_kind, 422)
    bad_day = await client.get(
        f"/v1/plans/{plan['id']}/performance", params={"as_of": "2030-02-30"}, headers=READ
    )
    assert_problem(bad_day, 422)


async def test_performance_counts_purchases_less_returns_with_variance_and_forecast(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # Cost 10.00 from 1 March: 30 at 20.00 and 10 at 25.00 make 450.00 margin, the return of
    # 2 takes 2 * 15.00 off: 420.00.
    product_id = await add_product(app, clock, cost="10.00")
    plan = await make_plan(client, product_id)
    march = datetime(2030, 3, 5, 10, tzinfo=UTC)
    await deliver(
        app,
        purchase_event(product_id, occurred_at=march, quantity=30, amount="20.00"),
        purchase_event(
            product_id, occurred_at=march + timedelta(days=1), quantity=10, amount="25.00"
        ),
        # Valued at the last earlier sale price, 25.00: -50.00 revenue, -30.00 margin.
        return_event(product_id, occurred_at=march + timedelta(days=2), quantity=2),
        # Another currency: not this plan's.
        purchase_event(product_id, occurred_at=march, quantity=5, amount="9.00", currency="USD"),
    )
    resp = await client.get(
        f"/v1/plans/{plan['id']}/performance", params={"as_of": "2030-03-10"}, headers=FINANCE
    )
    assert resp.status_code == 200, resp.text
    view = resp.json()
    assert view["as_of"] == "2030-03-10"
    march_view, april_view = view["months"]
    assert march_view["state"] == "current"
    assert march_view["actual"] == {
        "units": 38,
        "revenue": "800.00",
        "margin": "420.00",
        "units_sold": 40,
        "units_returned": 2,
        "units_without_cost": 0,
        "returns_unvalued": 0,
    }
    # 38 units against 100: -62 (-62%); 800.00 against 2000.00: -1200.00 (-60%).
    assert march_view["variance"] == {
        "units": -62,
        "revenue": "-1200.00",
        "margin": "-180.00",
        "units_pct": "-62",
        "revenue_pct": "-60",
        "margin_pct": "-30",
    }
    # 10 of March's 31 days: 38 -> 117.8 -> 118; 800.00 -> 2480.00; 420.00 -> 1302.00.
    assert march_view["forecast"] == {"units": 118, "revenue": "2480.00", "margin": "1302.00"}
    # April (30 days) at March's daily pace: 114 units, 2400.00, 1260.00.
    assert april_view["state"] == "future"
    assert april_view["forecast"] == {"units": 114, "revenue": "2400.00", "margin": "1260.00"}
    totals = view["totals"]
    assert totals["target"] == {"units": 220, "revenue": "4400.00", "margin": "1320.00"}
    assert totals["forecast"] == {"units": 232, "revenue": "4880.00", "margin": "2562.00"}
    assert totals["forecast_variance"]["units"] == 12
    # The viewer without pricing:finance: the same units and revenue, no margins.
    hidden = (
        await client.get(
            f"/v1/plans/{plan['id']}/performance", params={"as_of": "2030-03-10"}, headers=READ
        )
    ).json()
    assert hidden["months"][0]["actual"]["revenue"] == "800.00"
    assert hidden["months"][0]["actual"]["margin"] is None
    assert hidden["months"][0]["variance"]["margin_pct"] is None
    assert hidden["totals"]["forecast"]["margin"] is None


async def test_a_plan_with_no_sales_yet_has_a_margin_of_zero(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Nothing sold is a known margin, 0.00, short of the target by all of it (null before,
    as if the cost were unknown)."""
    plan = await make_plan(client, await add_product(app, clock, cost="10.00"))
    view = (
        await client.get(
            f"/v1/plans/{plan['id']}/performance", params={"as_of": "2030-03-10"}, headers=FINANCE
        )
    ).json()
    march = view["months"][0]
    target = march["target"]["margin"]
    assert (march["actual"]["units"], march["actual"]["margin"]) == (0, "0.00")
    assert march["variance"]["margin"] == f"-{target}"
    assert view["totals"]["forecast"]["margin"] == "0.00"


async def test_a_return_is_recorded_once_and_valued_at_the_last_earlier_sale(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock)
    day = datetime(2030, 3, 3, tzinfo=UTC)
    early = return_event(product_id, occurred_at=day - timedelta(days=1), event_id="r-early")
    await deliver(
        app,
        early,
        purchase_event(product_id, occurred_at=day, amount="19.99"),
        purchase_event(product_id, occurred_at=day + timedelta(days=2), amount="17.50"),
        return_event(product_id, occurred_at=day + timedelta(days=1), event_id="r-1"),
        return_event(product_id, occurred_at=day + timedelta(days=1), event_id="r-1"),
    )
    async with app.state.runtime.db.reader() as session:
        rows = (
            await session.execute(
                select(sale_return.c.event_id, sale_return.c.unit_value, sale_return.c.quantity)
                .where(sale_return.c.product_id == product_id)
                .order_by(sale_return.c.event_id)
            )
        ).all()
    # Keyed by source and id; the early one had no sale before it to be valued by.
    assert [(r.event_id, r.unit_value, r.quantity) for r in rows] == [
        ("shop/r-1", Decimal("19.99"), 1),
        ("shop/r-early", None, 1),
    ]


async def test_launch_goals_become_the_first_three_monthly_targets_once(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock)
    at = datetime(2030, 4, 20, 9, tzinfo=UTC)
    event = launched_event(product_id, at=at, goals=GOALS, launch_id="launch-1")
    await deliver(app, event, event)

    listed = (await client.get("/v1/plans", params={"subject": product_id}, headers=FINANCE)).json()
    (plan,) = listed["items"]
    assert (plan["source"], plan["launch_id"], plan["currency"]) == ("launch", "launch-1", "EUR")
    assert plan["created_by"] == "launch"
    assert plan["targets"] == [
        {"month": "2030-04", "units": 167, "revenue": "8333.34", "margin": "2708.34"},
        {"month": "2030-05", "units": 167, "revenue": "8333.33", "margin": "2708.33"},
        {"month": "2030-06", "units": 166, "revenue": "8333.33", "margin": "2708.33"},
    ]
    assert await outbox_types(app, product_id) == ["pricing.plan.created.v1"]

    # A later launch of the product leaves the (maybe edited) plan alone; it stays editable.
    edit = {"targets": [{"month": "2030-04", "units": 200, "revenue": "9000", "margin": "3000"}]}
    assert (await client.patch(f"/v1/plans/{plan['id']}", json=edit, headers=PM)).status_code == 200
    await deliver(app, launched_event(product_id, at=at + timedelta(days=40), goals=GOALS))
    again = (await client.get(f"/v1/plans/{plan['id']}", headers=FINANCE)).json()
    assert again["targets"][0] == {
        "month": "2030-04",
        "units": 200,
        "revenue": "9000.00",
        "margin": "3000.00",
    }
    assert again["version"] == 2


async def test_a_launch_without_goals_or_with_a_manual_plan_makes_none(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    bare = await add_product(app, clock)
    await deliver(app, launched_event(bare, at=clock(), goals=None))
    assert (await client.get("/v1/plans", params={"subject": bare}, headers=READ)).json()[
        "items"
    ] == []

    planned = await add_product(app, clock)
    plan = await make_plan(client, planned)
    await deliver(app, launched_event(planned, at=clock(), goals=GOALS))
    listed = (await client.get("/v1/plans", params={"subject": planned}, headers=READ)).json()
    assert [(p["id"], p["source"]) for p in listed["items"]] == [(plan["id"], "manual")]


async def test_an_account_plan_covers_the_accounts_purchases_and_returns(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    kettle = await add_product(app, clock, cost="10.00")
    toaster = await add_product(app, clock, cost="30.00")
    plan = await make_plan(client, "acme-corp", kind="account")
    day = datetime(2030, 3, 2, tzinfo=UTC)
    await deliver(
        app,
        purchase_event(kettle, occurred_at=day, quantity=4, amount="20.00", account="acme-corp"),
        # Someone else's purchase at a lower price: not acme's, and not its return's value.
        purchase_event(kettle, occurred_at=day + timedelta(hours=1), amount="15.00"),
        purchase_event(toaster, occurred_at=day, quantity=1, amount="40.00", account="acme-corp"),
        return_event(kettle, occurred_at=day + timedelta(days=1), account="acme-corp"),
    )
    view = (
        await client.get(
            f"/v1/plans/{plan['id']}/performance", params={"as_of": "2030-03-31"}, headers=FINANCE
        )
    ).json()
    # 4 * 20.00 + 40.00 - 20.00 (the return at acme's own price); margin 40 + 10 - 10.
    assert view["months"][0]["actual"] == {
        "units": 4,
        "revenue": "100.00",
        "margin": "40.00",
        "units_sold": 5,
        "units_returned": 1,
        "units_without_cost": 0,
        "returns_unvalued": 0,
    }
    assert view["months"][0]["state"] == "current"


async def test_the_sales_report_of_a_period(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    kettle = await add_product(app, clock, cost="10.00")
    toaster = await add_product(app, clock, cost="30.00")
    await make_plan(client, kettle)
    day = datetime(2030, 3, 10, tzinfo=UTC)
    await deliver(
        app,
        purchase_event(kettle, occurred_at=day, quantity=10, amount="20.00", account="acme-corp"),
        purchase_event(kettle, occurred_at=day, quantity=5, amount="20.00"),
        return_event(kettle, occurred_at=day + timedelta(days=1), quantity=3),
        # The toaster sells below its cost: 2 at 25.00, cost 30.00.
        purchase_event(toaster, occurred_at=day, quantity=2, amount="25.00", account="acme-corp"),
        # April: in the second quarter only.
        purchase_event(toaster, occurred_at=datetime(2030, 4, 1, tzinfo=UTC), amount="25.00"),
    )
    resp = await client.get("/v1/reports/sales", params={"period": "2030-03"}, headers=FINANCE)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert (report["period"], report["truncated"]) == ("2030-03", False)
    rows = {(r["key"], r["currency"]): r for r in report["products"]}
    assert [r["key"] for r in report["products"]] == [kettle, toaster]
    assert rows[(kettle, "EUR")] == {
        "key": kettle,
        "currency": "EUR",
        "units": 12,
        "revenue": "240.00",
        "margin": "120.00",
        "units_sold": 15,
        "units_returned": 3,
        "units_without_cost": 0,
        "returns_unvalued": 0,
    }
    assert (rows[(toaster, "EUR")]["revenue"], rows[(toaster, "EUR")]["margin"]) == (
        "50.00",
        "-10.00",
    )
    (acme,) = report["accounts"]
    assert (acme["key"], acme["units"], acme["revenue"], acme["margin"]) == (
        "acme-corp",
        12,
        "250.00",
        "90.00",
    )
    (planned,) = report["plans"]
    assert (planned["subject"], planned["target"], planned["actual"]) == (
        kettle,
        {"units": 100, "revenue": "2000.00", "margin": "600.00"},
        {"units": 12, "revenue": "240.00", "margin": "120.00"},
    )
    assert planned["variance"]["revenue_pct"] == "-88"

    quarter = await client.get("/v1/reports/sales", params={"period": "2030-Q1"}, headers=READ)
    assert [r["key"] for r in quarter.json()["products"]] == [kettle, toaster]
    assert [r["margin"] for r in quarter.json()["products"]] == [None, None]
    second = await client.get("/v1/reports/sales", params={"period": "2030-Q2"}, headers=READ)
    assert [(r["key"], r["units"]) for r in second.json()["products"]] == [(toaster, 1)]
    # The plan's April target is the second quarter's; it has no sales yet.
    assert [
        (p["subject"], p["target"]["units"], p["actual"]["units"]) for p in second.json()["plans"]
    ] == [(kettle, 120, 0)]


@pytest.mark.parametrize(
    # 9999-12 and 9999-Q4 end in a year no date holds: a 500, before.
    "period",
    ["2030-13", "2030-Q5", "March", "2030-3", "2030-03-01", "9999-12", "9999-Q4", "0000-01"],
)
async def test_the_sales_report_refuses_other_periods(
    client: httpx.AsyncClient, period: str
) -> None:
    resp = await client.get("/v1/reports/sales", params={"period": period}, headers=READ)
    problem = assert_problem(resp, 422)
    assert ["query", "period"] in [e["loc"] for e in problem["errors"]]


async def test_the_sales_report_needs_a_period_and_a_reader(client: httpx.AsyncClient) -> None:
    missing = assert_problem(await client.get("/v1/reports/sales", headers=READ), 422)
    assert ["query", "period"] in [e["loc"] for e in missing["errors"]]
    denied = await client.get(
        "/v1/reports/sales", params={"period": "2030-03"}, headers=auth("catalog:read")
    )
    assert_problem(denied, 403)


async def test_the_sales_report_takes_the_cost_of_each_sales_time(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await add_product(app, clock, cost="10.00")
    plan = await make_plan(client, product_id)
    change = datetime(2030, 3, 15, tzinfo=UTC)
    await deliver(
        app,
        purchase_event(product_id, occurred_at=change - timedelta(seconds=1), amount="20.00"),
        cost_changed(product_id, "10.00", "12.00", version=2, at=change),
        # At the instant the cost changes, the new cost applies.
        purchase_event(product_id, occurred_at=change, amount="20.00"),
        purchase_event(product_id, occurred_at=change + timedelta(days=1), amount="20.00"),
    )
    report = await client.get("/v1/reports/sales", params={"period": "2030-03"}, headers=FINANCE)
    (row,) = report.json()["products"]
    # 10.00 + 8.00 + 8.00: the same margin the plan's own reading finds.
    assert (row["units"], row["margin"]) == (3, "26.00")
    view = await client.get(
        f"/v1/plans/{plan['id']}/performance", params={"as_of": "2030-03-31"}, headers=FINANCE
    )
    assert view.json()["months"][0]["actual"]["margin"] == "26.00"
