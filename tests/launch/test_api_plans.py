"""The launch API's plans on SQLite and PostgreSQL: planning, reading, listing, updating,
approving, cancelling and the history; every refusal a problem+json body, the events of
each change in the outbox with the product's launch sequence."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from tests.launch.conftest import (
    ADMIN,
    BOSS,
    GOALS,
    LIST,
    OTHER_PM,
    PM,
    PM_WHO_APPROVES,
    READER,
    START,
    TARGET,
    FakeClock,
    deliver,
    finding_event,
    gate,
    known_product,
    lifecycle_changed,
    make_ready,
    new_id,
    ok,
    outbox_events,
    outbox_types,
    plan,
    product_created,
)
from tests.support import assert_problem, auth


async def test_planning_a_launch_evaluates_its_gates_from_the_facts_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await known_product(app)
    body = {"product_id": product_id, "target_date": "2030-04-01", "price_list": LIST}
    resp = await client.post("/v1/launches", json=body, headers=PM)
    launch = ok(resp, 201)
    assert resp.headers["Location"] == f"/v1/launches/{launch['id']}"
    assert resp.headers["ETag"] == '"1"'
    assert (launch["owner"], launch["status"], launch["readiness"]) == (
        "key-pm",
        "planned",
        "pending",
    )
    assert (launch["product_type"], launch["version"], launch["qa_kinds"]) == ("kettle", 1, ["qa"])
    statuses = {g["name"]: g["status"] for g in launch["gates"]}
    assert statuses == {
        "catalog_complete": "pass",
        "price_approved": "pass",
        "no_critical_defects": "pass",
        "spec_improvements": "pending",
        "business_documents": "pending",
        "regulatory_compliance": "pending",
        "qa_signoff": "pending",
        "marketing_plan": "pending",
    }
    assert launch["blocking"] == [
        "spec_improvements",
        "business_documents",
        "regulatory_compliance",
        "qa_signoff",
        "marketing_plan",
    ]
    assert gate(launch, "business_documents")["reasons"][0] == {
        "code": "goals_missing",
        "ref": "goals",
        "detail": "the plan has no goals for 90 days",
        "data": {},
    }
    [created] = await outbox_events(app, product_id)
    assert (created.type, created.subject, created.sequence, created.source) == (
        "launch.plan.created.v1",
        product_id,
        "1",
        "/launch",
    )
    assert created.data["launch_id"] == launch["id"]
    assert created.time == START
    got = await client.get(f"/v1/launches/{launch['id']}", headers=READER)
    assert ok(got) == launch
    assert got.headers["ETag"] == '"1"'


async def test_a_plan_for_a_product_with_an_open_critical_finding_starts_blocked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await known_product(app)
    await deliver(app, finding_event(product_id, item_count=4))
    launch = await plan(client, product_id)
    assert (launch["readiness"], launch["blocking"][0]) == ("blocked", "no_critical_defects")
    [reason] = gate(launch, "no_critical_defects")["reasons"]
    assert (reason["code"], reason["ref"]) == ("critical_finding", f"finding-{product_id}")
    assert reason["data"] == {
        "kind": "defect",
        "severity": "critical",
        "status": "open",
        "item_count": 4,
        "quote": "the lid came off and burned my hand",
    }
    assert await outbox_types(app, product_id) == ["launch.plan.created.v1", "launch.blocked.v1"]
    assert [e.sequence for e in await outbox_events(app, product_id)] == ["1", "2"]


async def test_planning_refusals(app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> None:
    product_id = await known_product(app)
    body = {"product_id": product_id, "target_date": TARGET.isoformat(), "price_list": LIST}

    unknown = assert_problem(
        await client.post("/v1/launches", json={**body, "product_id": "nope"}, headers=PM),
        422,
        detail_has="unknown product nope",
    )
    assert unknown["errors"] == [{"loc": ["body", "product_id"], "msg": "unknown product nope"}]

    past = {**body, "target_date": (START - timedelta(days=1)).date().isoformat()}
    bad = assert_problem(await client.post("/v1/launches", json=past, headers=PM), 422)
    assert bad["field"] == "target_date"

    invalid = assert_problem(
        await client.post("/v1/launches", json={**body, "status": "approved"}, headers=PM), 422
    )
    assert invalid["errors"][0]["loc"] == ["body", "status"]

    other = assert_problem(
        await client.post("/v1/launches", json={**body, "owner": "someone"}, headers=PM), 403
    )
    assert other["type"].endswith("/owner-not-allowed")
    assert_problem(await client.post("/v1/launches", json=body, headers=READER), 403)
    assert_problem(await client.post("/v1/launches", json=body), 401)

    first = await plan(client, product_id)
    duplicate = assert_problem(await client.post("/v1/launches", json=body, headers=PM), 409)
    assert (duplicate["type"].endswith("/duplicate-plan"), duplicate["launch_id"]) == (
        True,
        first["id"],
    )
    # Another price list is another plan; an admin may plan in someone else's name.
    other_list = await plan(client, product_id, price_list="eu-shop", headers=ADMIN, owner="key-pm")
    assert other_list["owner"] == "key-pm"

    gone = await known_product(app)
    await deliver(app, lifecycle_changed(gone, "discontinued", version=2))
    refused = assert_problem(
        await client.post("/v1/launches", json={**body, "product_id": gone}, headers=PM), 409
    )
    assert refused["type"].endswith("/product-discontinued")
    # Refused requests wrote nothing.
    assert await outbox_types(app, gone) == []


async def test_an_idempotency_key_replays_the_plan(app: FastAPI, client: httpx.AsyncClient) -> None:
    product_id = await known_product(app)
    body = {"product_id": product_id, "target_date": TARGET.isoformat(), "price_list": LIST}
    headers = {**PM, "Idempotency-Key": "plan-1"}
    first = await client.post("/v1/launches", json=body, headers=headers)
    again = await client.post("/v1/launches", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    changed = {**body, "target_date": "2030-05-01"}
    problem = assert_problem(await client.post("/v1/launches", json=changed, headers=headers), 422)
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await outbox_types(app, product_id) == ["launch.plan.created.v1"]


async def test_lists_filter_and_page_by_target_date(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    made = []
    for days in (20, 5, 10):
        product_id = await known_product(app)
        made.append(await plan(client, product_id, target=TARGET + timedelta(days=days)))
    blocked_product = await known_product(app)
    await deliver(app, finding_event(blocked_product))
    blocked = await plan(client, blocked_product, target=TARGET, headers=OTHER_PM)

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = ok(await client.get("/v1/launches", params=params, headers=READER))
        seen += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == [blocked["id"], made[1]["id"], made[2]["id"], made[0]["id"]]

    async def ids(**params: str) -> list[str]:
        page = ok(await client.get("/v1/launches", params=params, headers=READER))
        return [item["id"] for item in page["items"]]

    assert await ids(readiness="blocked") == [blocked["id"]]
    assert await ids(owner="key-pm-2") == [blocked["id"]]
    assert await ids(product_id=made[0]["product_id"]) == [made[0]["id"]]
    assert await ids(**{"from": "2030-04-06", "to": "2030-04-11"}) == [made[1]["id"], made[2]["id"]]
    assert await ids(status="approved") == []

    bad = assert_problem(
        await client.get("/v1/launches", params={"cursor": "garbage!"}, headers=READER), 422
    )
    assert bad["errors"][0]["loc"] == ["query", "cursor"]
    backwards = assert_problem(
        await client.get(
            "/v1/launches", params={"from": "2030-05-01", "to": "2030-04-01"}, headers=READER
        ),
        422,
    )
    assert backwards["errors"][0]["loc"] == ["query", "to"]
    wrong = assert_problem(
        await client.get("/v1/launches", params={"readiness": "soon"}, headers=READER), 422
    )
    assert wrong["errors"][0]["loc"] == ["query", "readiness"]
    assert_problem(await client.get("/v1/launches", headers=auth("pricing:read")), 403)


async def test_get_of_an_unknown_plan_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/v1/launches/nope", "/v1/launches/nope/history"):
        body = assert_problem(await client.get(path, headers=READER), 404, detail_has="nope")
        assert body["launch_id"] == "nope"
    resp = await client.post("/v1/launches/nope/cancel", json={"reason": "x"}, headers=PM)
    assert_problem(resp, 404)


async def test_patch_sets_goals_and_reschedules_with_if_match(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await known_product(app)
    launch = await plan(client, product_id)
    url = f"/v1/launches/{launch['id']}"

    resp = await client.patch(url, json={"goals": GOALS}, headers={**PM, "If-Match": '"1"'})
    updated = ok(resp)
    assert resp.headers["ETag"] == '"2"'
    assert updated["goals"] == {**GOALS, "period_days": 90}
    assert gate(updated, "business_documents")["reasons"][0]["code"] == "signoff_missing"

    stale = assert_problem(
        await client.patch(url, json={"goals": None}, headers={**PM, "If-Match": "1"}), 412
    )
    assert stale["current_version"] == 2
    not_a_version = assert_problem(
        await client.patch(url, json={"goals": None}, headers={**PM, "If-Match": "two"}), 422
    )
    assert not_a_version["errors"][0]["loc"] == ["header", "If-Match"]

    moved = ok(
        await client.patch(
            url, json={"target_date": "2030-04-15", "reason": "supplier late"}, headers=PM
        )
    )
    assert moved["target_date"] == "2030-04-15"
    assert moved["reschedules"] == [
        {
            "old_date": "2030-04-01",
            "new_date": "2030-04-15",
            "reason": "supplier late",
            "by": "key-pm",
            "at": "2030-03-01T09:00:00Z",
        }
    ]
    nothing = assert_problem(await client.patch(url, json={}, headers=PM), 422)
    assert nothing["errors"] == [
        {"loc": ["body"], "msg": "send goals, or target_date with a reason"}
    ]
    no_reason = assert_problem(
        await client.patch(url, json={"target_date": "2030-04-20"}, headers=PM), 422
    )
    assert no_reason["field"] == "reason"
    lonely = assert_problem(await client.patch(url, json={"reason": "why"}, headers=PM), 422)
    assert lonely["field"] == "reason"
    same = assert_problem(
        await client.patch(url, json={"target_date": "2030-04-15", "reason": "x"}, headers=PM),
        422,
    )
    assert same["field"] == "target_date"
    goals = {**GOALS, "margin_pct": "150"}
    out_of_range = assert_problem(await client.patch(url, json={"goals": goals}, headers=PM), 422)
    assert out_of_range["field"] == "goals.margin_pct"
    floaty = assert_problem(
        await client.patch(url, json={"goals": {**GOALS, "margin_pct": 32.5}}, headers=PM), 422
    )
    assert floaty["errors"][0]["loc"][:3] == ["body", "goals", "margin_pct"]
    text_units = {"goals": {**GOALS, "units": "500"}}
    stringly = assert_problem(await client.patch(url, json=text_units, headers=PM), 422)
    assert stringly["errors"][0]["loc"] == ["body", "goals", "units"]
    cleared = ok(await client.patch(url, json={"goals": None}, headers=PM))
    assert cleared["goals"] is None

    types = await outbox_types(app, product_id)
    assert types.count("launch.rescheduled.v1") == 1
    history = ok(await client.get(f"{url}/history", headers=READER))["items"]
    assert [(e["action"], e["reason"]) for e in history] == [
        ("planned", None),
        ("goals_set", None),
        ("rescheduled", "supplier late"),
        ("goals_cleared", None),
    ]
    assert history[2]["data"] == {"old_date": "2030-04-01", "new_date": "2030-04-15"}
    assert history[1]["data"]["goals"] == {**GOALS, "period_days": 90}


async def test_approval_four_eyes_and_not_ready(app: FastAPI, client: httpx.AsyncClient) -> None:
    product_id = await known_product(app)
    launch = await plan(client, product_id)
    url = f"/v1/launches/{launch['id']}/approve"

    not_ready = assert_problem(await client.post(url, headers=BOSS), 409)
    assert not_ready["type"].endswith("/not-ready")
    assert [g["name"] for g in not_ready["blocking_gates"]] == launch["blocking"]
    assert not_ready["blocking_gates"][0]["reasons"][0]["code"] == "improvement_undecided" or (
        not_ready["blocking_gates"][0]["name"] == "spec_improvements"
    )

    await make_ready(client, launch)
    own = assert_problem(await client.post(url, headers=PM_WHO_APPROVES), 403)
    assert (own["type"].endswith("/four-eyes"), own["owner"]) == (True, "key-pm")
    missing = assert_problem(await client.post(url, headers=OTHER_PM), 403)
    assert missing["required_scope"] == "launch:approve"

    approved = ok(await client.post(url, headers=BOSS))
    assert (approved["status"], approved["approved_by"], approved["launch_at"]) == (
        "approved",
        "key-boss",
        "2030-04-01T00:00:00Z",
    )
    again = assert_problem(await client.post(url, headers=BOSS), 409)
    assert again["type"].endswith("/invalid-plan-transition")
    assert (await outbox_types(app, product_id))[-2:] == ["launch.ready.v1", "launch.approved.v1"]


async def test_approval_on_the_target_date_launches_at_once(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await known_product(app)
    launch = await make_ready(client, await plan(client, product_id, target=START.date()))
    assert launch["readiness"] == "ready"
    launched = ok(await client.post(f"/v1/launches/{launch['id']}/approve", headers=BOSS))
    assert (launched["status"], launched["launched_at"]) == ("launched", "2030-03-01T09:00:00Z")
    assert launched["monitored_until"] == "2030-03-31T09:00:00Z"
    events = await outbox_events(app, product_id)
    assert [e.type for e in events][-2:] == ["launch.approved.v1", "launch.launched.v1"]
    assert events[-1].data["goals"] == {**GOALS, "period_days": 90}
    # One counter for the product: every event numbered once, in order.
    assert [int(e.sequence or 0) for e in events] == list(range(1, len(events) + 1))


async def test_cancel_and_the_history_of_a_plan(app: FastAPI, client: httpx.AsyncClient) -> None:
    product_id = await known_product(app)
    launch = await plan(client, product_id)
    url = f"/v1/launches/{launch['id']}"
    ok(await client.patch(url, json={"goals": GOALS}, headers=PM))
    await deliver(app, finding_event(product_id))
    empty = assert_problem(
        await client.post(f"{url}/cancel", json={"reason": " "}, headers=PM), 422
    )
    assert empty["field"] == "reason"
    cancelled = ok(await client.post(f"{url}/cancel", json={"reason": "market gone"}, headers=PM))
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation"] == {
        "reason": "market gone",
        "by": "key-pm",
        "at": "2030-03-01T09:00:00Z",
    }
    twice = assert_problem(
        await client.post(f"{url}/cancel", json={"reason": "x"}, headers=PM), 409
    )
    assert (twice["current"], twice["to"], twice["allowed"]) == ("cancelled", "cancelled", [])

    page = ok(await client.get(f"{url}/history", headers=READER))
    entries = [(e["action"], e["changed_by"], e["reason"], e["events"]) for e in page["items"]]
    assert entries == [
        ("planned", "key-pm", None, ["launch.plan.created.v1"]),
        ("goals_set", "key-pm", None, ["launch.gate.changed.v1"]),
        (
            "facts_changed",
            None,
            None,
            ["launch.gate.changed.v1", "launch.gate.changed.v1", "launch.blocked.v1"],
        ),
        ("cancelled", "key-pm", "market gone", ["launch.cancelled.v1"]),
    ]
    assert page["items"][2]["data"] == {"source": "feedback"}
    assert [e["version"] for e in page["items"]] == [1, 2, 3, 4]
    first = ok(await client.get(f"{url}/history", params={"limit": 1}, headers=READER))
    rest = ok(
        await client.get(f"{url}/history", params={"cursor": first["next_cursor"]}, headers=READER)
    )
    assert [e["action"] for e in first["items"] + rest["items"]] == [e[0] for e in entries]


async def test_a_discontinued_product_cancels_its_open_plans(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = new_id()
    await deliver(app, product_created(product_id))
    launch = await plan(client, product_id)
    await deliver(app, lifecycle_changed(product_id, "discontinued", version=2))
    got = ok(await client.get(f"/v1/launches/{launch['id']}", headers=READER))
    assert (got["status"], got["cancellation"]["by"]) == ("cancelled", None)
    assert got["cancellation"]["reason"] == "the product was discontinued"
    cancelled = (await outbox_events(app, product_id))[-1]
    assert (cancelled.type, cancelled.data["automatic"]) == ("launch.cancelled.v1", True)
