"""The launch API's gates and evidence on SQLite and PostgreSQL: sign-offs and their
revocation, improvements and change requests, QA reports, marketing tasks, waivers, gate
templates and the calendar; every refusal a problem+json body."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

import httpx
from fastapi import FastAPI

from tests.launch.conftest import (
    BOSS,
    DOC,
    GOALS,
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
    ok,
    outbox_types,
    plan,
)
from tests.support import assert_problem

SHA = "ab" * 32


async def test_sign_off_and_revoke_with_their_rules(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await known_product(app)
    launch = await plan(client, product_id)
    url = f"/v1/launches/{launch['id']}/gates"

    def signoff(name: str, body: dict[str, object]) -> Awaitable[httpx.Response]:
        return client.post(f"{url}/{name}/signoff", json=body, headers=PM)

    no_docs = assert_problem(await signoff("regulatory_compliance", {"evidence": "CE ok"}), 422)
    assert no_docs["field"] == "documents"
    file_doc = {"title": "Declaration", "url": "https://docs.example/ce.pdf"}
    unhashed = assert_problem(
        await signoff("regulatory_compliance", {"evidence": "x", "documents": [file_doc]}), 422
    )
    assert unhashed["errors"] == [
        {
            "loc": ["body", "documents", "0", "sha256"],
            "msg": "a reference to a file needs the file's sha256",
        }
    ]
    both = {"title": "t", "url": "https://x.example/a", "ref": "A-1"}
    assert_problem(
        await signoff("regulatory_compliance", {"evidence": "x", "documents": [both]}), 422
    )
    no_goals = assert_problem(await signoff("business_documents", {"evidence": "plan"}), 409)
    assert no_goals["type"].endswith("/not-signable")
    qa = assert_problem(await signoff("qa_signoff", {"evidence": "fine"}), 409)
    assert qa["gate"] == "qa_signoff"
    auto = assert_problem(await signoff("catalog_complete", {"evidence": "fine"}), 409)
    assert auto["type"].endswith("/not-signable")
    unknown = assert_problem(await signoff("moon_landing", {"evidence": "fine"}), 404)
    assert (unknown["type"].endswith("/gate-not-found"), unknown["gate"]) == (True, "moon_landing")
    empty = assert_problem(await signoff("marketing_plan", {"evidence": "  "}), 422)
    assert empty["field"] == "evidence"
    assert_problem(
        await client.post(f"{url}/marketing_plan/signoff", json={"evidence": "x"}, headers=READER),
        403,
    )

    hashed = {**file_doc, "sha256": SHA.upper()}
    signed = ok(
        await signoff("regulatory_compliance", {"evidence": "CE ok", "documents": [DOC, hashed]})
    )
    regulatory = gate(signed, "regulatory_compliance")
    assert regulatory["status"] == "pass"
    assert regulatory["signoff"]["by"] == "key-pm"
    assert regulatory["signoff"]["documents"][1] == {
        "title": "Declaration",
        "url": "https://docs.example/ce.pdf",
        "ref": None,
        "sha256": SHA,
    }
    twice = assert_problem(await signoff("regulatory_compliance", {"evidence": "again"}), 409)
    assert "revoke that first" in twice["detail"]

    revoke = f"{url}/regulatory_compliance/revoke"
    revoked = ok(await client.post(revoke, json={"reason": "declaration expired"}, headers=PM))
    regulatory = gate(revoked, "regulatory_compliance")
    assert (regulatory["status"], regulatory["signoff"]) == ("pending", None)
    assert regulatory["revocation"]["reason"] == "declaration expired"
    assert "revoked by key-pm: declaration expired" in regulatory["reasons"][0]["detail"]
    again = assert_problem(await client.post(revoke, json={"reason": "x"}, headers=PM), 409)
    assert again["gate"] == "regulatory_compliance"
    assert (await outbox_types(app, product_id))[-2:] == [
        "launch.gate.changed.v1",
        "launch.gate.changed.v1",
    ]


async def test_improvements_become_change_requests(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await known_product(app)
    mod = f"mod-{product_id}"
    await deliver(
        app,
        finding_event(product_id, finding_id=mod, kind="modification_request", severity="low"),
    )
    launch = await plan(client, product_id)
    url = f"/v1/launches/{launch['id']}"
    spec = gate(launch, "spec_improvements")
    assert [(r["code"], r["ref"]) for r in spec["reasons"]] == [
        ("improvement_undecided", mod),
        ("signoff_missing", "spec_improvements"),
    ]
    undecided = assert_problem(
        await client.post(
            f"{url}/gates/spec_improvements/signoff", json={"evidence": "x"}, headers=PM
        ),
        409,
    )
    assert undecided["undecided"] == [mod]

    accept = {"addressee": "vendor", "owner": "Acme QA", "due_date": "2030-03-20"}
    unknown = assert_problem(
        await client.post(f"{url}/improvements/nope/accept", json=accept, headers=PM), 404
    )
    assert unknown["type"].endswith("/item-not-found")
    late = {**accept, "due_date": "2030-02-01"}
    assert_problem(
        await client.post(f"{url}/improvements/{mod}/accept", json=late, headers=PM), 422
    )
    who = {**accept, "addressee": "the moon"}
    bad = assert_problem(
        await client.post(f"{url}/improvements/{mod}/accept", json=who, headers=PM), 422
    )
    assert bad["errors"][0]["loc"] == ["body", "addressee"]

    accepted = ok(await client.post(f"{url}/improvements/{mod}/accept", json=accept, headers=PM))
    [improvement] = accepted["improvements"]
    assert improvement["decision"] == "accepted"
    assert improvement["change_request"] == {
        "addressee": "vendor",
        "owner": "Acme QA",
        "due_date": "2030-03-20",
        "status": "requested",
        "overdue": False,
        "updated_at": "2030-03-01T09:00:00Z",
    }
    move = f"{url}/improvements/{mod}/change-request"
    skip = assert_problem(await client.post(move, json={"status": "verified"}, headers=PM), 409)
    assert (skip["current"], skip["to"]) == ("requested", "verified")
    for status in ("in_progress", "implemented", "verified"):
        moved = ok(await client.post(move, json={"status": status}, headers=PM))
    assert moved["improvements"][0]["change_request"]["status"] == "verified"
    assert [r["code"] for r in gate(moved, "spec_improvements")["reasons"]] == ["signoff_missing"]
    redecide = assert_problem(
        await client.post(f"{url}/improvements/{mod}/decline", json={"reason": "no"}, headers=PM),
        409,
    )
    assert redecide["status_now"] == "verified"

    other = f"def-{product_id}"
    await deliver(app, finding_event(product_id, finding_id=other, severity="low"))
    declined = ok(
        await client.post(
            f"{url}/improvements/{other}/decline", json={"reason": "cosmetic"}, headers=PM
        )
    )
    assert declined["improvements"][1]["reason"] == "cosmetic"
    assert_problem(
        await client.post(
            f"{url}/improvements/{other}/change-request", json={"status": "verified"}, headers=PM
        ),
        409,
    )
    signed = ok(
        await client.post(
            f"{url}/gates/spec_improvements/signoff", json={"evidence": "decided"}, headers=PM
        )
    )
    assert gate(signed, "spec_improvements")["status"] == "pass"


async def test_qa_reports_and_marketing_tasks(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await known_product(app)
    launch = await plan(client, product_id)
    url = f"/v1/launches/{launch['id']}"

    report = {"kind": "qa", "result": "failed", "notes": "lid loose", "documents": [DOC]}
    resp = await client.post(f"{url}/qa-reports", json=report, headers=PM)
    failed = ok(resp, 201)
    assert resp.headers["ETag"] == '"2"'
    qa = gate(failed, "qa_signoff")
    assert (qa["status"], qa["reasons"][0]["code"]) == ("fail", "qa_report_failed")
    assert failed["readiness"] == "blocked"
    wrong = assert_problem(
        await client.post(f"{url}/qa-reports", json={**report, "kind": "vibes"}, headers=PM), 422
    )
    assert wrong["errors"][0]["loc"] == ["body", "kind"]
    clock.advance(hours=1)
    passed = ok(
        await client.post(f"{url}/qa-reports", json={**report, "result": "passed"}, headers=PM), 201
    )
    assert gate(passed, "qa_signoff")["status"] == "pass"
    assert [r["result"] for r in passed["qa_reports"]] == ["failed", "passed"]

    task = {"title": "Teaser campaign", "phase": "before", "owner": "marketing", "offset_days": -14}
    headers = {**PM, "Idempotency-Key": "task-1"}
    added = ok(await client.post(f"{url}/tasks", json=task, headers=headers), 201)
    replay = await client.post(f"{url}/tasks", json=task, headers=headers)
    assert (replay.status_code, replay.json()) == (201, added)
    [made] = added["tasks"]
    assert (made["due_date"], made["status"]) == ("2030-03-18", "open")
    assert gate(added, "marketing_plan")["reasons"][0]["code"] == "marketing_task_open"
    after = {**task, "phase": "after", "offset_days": -1}
    assert (
        assert_problem(await client.post(f"{url}/tasks", json=after, headers=PM), 422)["field"]
        == "offset_days"
    )
    unknown = assert_problem(await client.post(f"{url}/tasks/nope/complete", headers=PM), 404)
    assert unknown["task_id"] == "nope"

    done = ok(await client.post(f"{url}/tasks/{made['id']}/complete", headers=PM))
    assert (done["tasks"][0]["status"], done["tasks"][0]["done_by"]) == ("done", "key-pm")
    assert gate(done, "marketing_plan")["status"] == "pass"
    twice = assert_problem(await client.post(f"{url}/tasks/{made['id']}/complete", headers=PM), 409)
    assert twice["task_id"] == made["id"]
    reopened = ok(await client.post(f"{url}/tasks/{made['id']}/reopen", headers=PM))
    assert gate(reopened, "marketing_plan")["status"] == "pending"

    # Moving the target date moves the tasks with it.
    moved = ok(
        await client.patch(url, json={"target_date": "2030-04-11", "reason": "later"}, headers=PM)
    )
    assert moved["tasks"][0]["due_date"] == "2030-03-28"


async def test_waivers_need_another_approver_and_a_future_expiry(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await known_product(app)
    await deliver(app, finding_event(product_id))
    launch = await plan(client, product_id)
    url = f"/v1/launches/{launch['id']}/waivers"
    expires = (START + timedelta(days=10)).isoformat()
    body = {"gate": "no_critical_defects", "reason": "fix shipped to stock", "expires_at": expires}

    own = assert_problem(await client.post(url, json=body, headers=PM_WHO_APPROVES), 403)
    assert own["type"].endswith("/four-eyes")
    assert_problem(await client.post(url, json=body, headers=OTHER_PM), 403)
    past = {**body, "expires_at": (START - timedelta(hours=1)).isoformat()}
    assert assert_problem(await client.post(url, json=past, headers=BOSS), 422)["field"] == (
        "expires_at"
    )
    naive = {**body, "expires_at": "2030-03-10T00:00:00"}
    assert_problem(await client.post(url, json=naive, headers=BOSS), 422)
    passing = {**body, "gate": "catalog_complete"}
    assert assert_problem(await client.post(url, json=passing, headers=BOSS), 409)["gate"] == (
        "catalog_complete"
    )

    waived = ok(await client.post(url, json=body, headers=BOSS), 201)
    defects = gate(waived, "no_critical_defects")
    assert (defects["status"], defects["waived"]) == ("fail", True)
    [waiver] = waived["waivers"]
    assert (waiver["by"], waiver["live"], waiver["expires_at"]) == (
        "key-boss",
        True,
        "2030-03-11T09:00:00Z",
    )
    assert "no_critical_defects" not in waived["blocking"]
    assert waived["readiness"] == "pending"


async def test_gate_templates_add_gates_to_new_plans(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    url = "/v1/gate-templates/kettle"
    missing = assert_problem(await client.get(url, headers=READER), 404)
    assert missing["product_type"] == "kettle"
    body = {"gates": ["ce_declaration", "electrical_safety_test"], "qa_kinds": ["qa", "usability"]}
    resp = await client.put(url, json=body, headers=PM)
    created = ok(resp, 201)
    assert (created["version"], created["updated_by"], resp.headers["ETag"]) == (1, "key-pm", '"1"')
    for bad, field in (
        ({"gates": ["Bad Name"]}, "gates.0"),
        ({"gates": ["price_approved"]}, "gates.0"),
        ({"gates": ["a_b", "a_b"]}, "gates.1"),
        ({"qa_kinds": []}, "qa_kinds"),
        ({"qa_kinds": ["vibes"]}, "qa_kinds.0"),
    ):
        problem = assert_problem(await client.put(url, json=bad, headers=PM), 422)
        assert problem["field"] == field, bad
    stale = assert_problem(await client.put(url, json=body, headers={**PM, "If-Match": "7"}), 412)
    assert stale["current_version"] == 1
    assert_problem(await client.put(url, json=body, headers=READER), 403)

    product_id = await known_product(app)
    launch = await plan(client, product_id)
    assert [g["name"] for g in launch["gates"]][-2:] == ["ce_declaration", "electrical_safety_test"]
    assert launch["qa_kinds"] == ["qa", "usability"]

    replaced = ok(await client.put(url, json={"gates": [], "qa_kinds": ["qa"]}, headers=PM))
    assert (replaced["version"], replaced["gates"]) == (2, [])
    # The plan keeps the template it was made with.
    kept = ok(await client.get(f"/v1/launches/{launch['id']}", headers=READER))
    assert len(kept["gates"]) == 10
    listed = ok(await client.get("/v1/gate-templates", headers=READER))
    assert [t["product_type"] for t in listed["items"]] == ["kettle"]
    got = await client.get(url, headers=READER)
    assert (ok(got)["version"], got.headers["ETag"]) == (2, '"2"')


async def test_the_calendar_flags_behind_slipped_and_conflicts(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # 2030-03-04 is a Monday: these three launches share an ISO week.
    first = await plan(client, await known_product(app), target=START.date() + timedelta(days=3))
    second = await plan(client, await known_product(app), target=START.date() + timedelta(days=5))
    third = await plan(
        client, await known_product(app, product_type="toaster"), target=TARGET, headers=OTHER_PM
    )
    ok(
        await client.patch(
            f"/v1/launches/{third['id']}",
            json={"target_date": "2030-04-05", "reason": "stock"},
            headers=OTHER_PM,
        )
    )
    cancelled = await plan(
        client, await known_product(app), target=START.date() + timedelta(days=4)
    )
    ok(
        await client.post(
            f"/v1/launches/{cancelled['id']}/cancel", json={"reason": "x"}, headers=PM
        )
    )

    resp = await client.get(
        "/v1/launch-calendar", params={"from": "2030-03-01", "to": "2030-04-30"}, headers=READER
    )
    body = ok(resp)
    assert (body["from"], body["to"], body["today"]) == ("2030-03-01", "2030-04-30", "2030-03-01")
    entries = {entry["launch_id"]: entry for entry in body["items"]}
    assert list(entries) == [first["id"], second["id"], third["id"]]
    one = entries[first["id"]]
    assert (one["days_left"], one["behind"], one["conflict"]) == (3, True, True)
    assert one["conflicts"] == [{"launch_id": second["id"], "shared": ["owner", "product_type"]}]
    late = entries[third["id"]]
    assert (late["slipped"], late["slip"], late["behind"], late["conflict"]) == (
        True,
        {"times": 1, "days": 4},
        False,
        False,
    )
    only_mine = ok(
        await client.get(
            "/v1/launch-calendar",
            params={"from": "2030-03-01", "to": "2030-04-30", "owner": "key-pm-2"},
            headers=READER,
        )
    )
    assert [e["launch_id"] for e in only_mine["items"]] == [third["id"]]
    default = ok(await client.get("/v1/launch-calendar", headers=READER))
    assert (default["from"], default["to"]) == ("2030-03-01", "2030-05-30")
    backwards = assert_problem(
        await client.get(
            "/v1/launch-calendar", params={"from": "2030-04-01", "to": "2030-03-01"}, headers=READER
        ),
        422,
    )
    assert backwards["errors"][0]["loc"] == ["query", "to"]
    too_long = assert_problem(
        await client.get(
            "/v1/launch-calendar", params={"from": "2030-01-01", "to": "2031-06-01"}, headers=READER
        ),
        422,
    )
    assert too_long["field"] == "to"
    assert_problem(
        await client.get("/v1/launch-calendar", params={"from": "soon"}, headers=READER), 422
    )
    # Not 1970-01-01, as pydantic alone reads "0" (schemathesis found it).
    epoch = assert_problem(
        await client.get("/v1/launch-calendar", params={"from": "0"}, headers=READER), 422
    )
    assert epoch["errors"][0]["loc"] == ["query", "from"]
    assert_problem(await client.get("/v1/launch-calendar"), 401)


async def test_goals_let_business_documents_be_signed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    launch = await plan(client, await known_product(app))
    url = f"/v1/launches/{launch['id']}"
    ok(await client.patch(url, json={"goals": GOALS}, headers=PM))
    signed = ok(
        await client.post(
            f"{url}/gates/business_documents/signoff", json={"evidence": "plan v3"}, headers=PM
        )
    )
    assert gate(signed, "business_documents")["status"] == "pass"


async def test_a_closed_plan_takes_no_more_evidence(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    launch = await plan(client, await known_product(app))
    url = f"/v1/launches/{launch['id']}"
    task = {"title": "Press release", "phase": "during", "owner": "pr", "offset_days": 0}
    added = ok(await client.post(f"{url}/tasks", json=task, headers=PM), 201)
    task_id = added["tasks"][0]["id"]
    not_done = assert_problem(await client.post(f"{url}/tasks/{task_id}/reopen", headers=PM), 409)
    assert not_done["task_id"] == task_id
    ok(await client.post(f"{url}/cancel", json={"reason": "range dropped"}, headers=PM))

    refusals = [
        client.post(f"{url}/gates/marketing_plan/signoff", json={"evidence": "x"}, headers=PM),
        client.post(f"{url}/qa-reports", json={"kind": "qa", "result": "passed"}, headers=PM),
        client.post(f"{url}/tasks", json=task, headers=PM),
        client.post(f"{url}/tasks/{task_id}/complete", headers=PM),
        client.patch(url, json={"goals": GOALS}, headers=PM),
        client.post(
            f"{url}/waivers",
            json={"gate": "qa_signoff", "reason": "x", "expires_at": "2030-03-09T00:00:00Z"},
            headers=BOSS,
        ),
    ]
    for request in refusals:
        problem = assert_problem(await request, 409, detail_has="a cancelled plan cannot")
        assert problem["status_now"] == "cancelled"
    history = ok(await client.get(f"{url}/history", headers=READER))
    assert [e["action"] for e in history["items"]] == ["planned", "task_added", "cancelled"]
