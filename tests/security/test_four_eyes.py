"""Finding 2 of issue 12: four eyes compare people (key owners), not API keys.

Through the gateway with real keys: one person holding two keys (or a rotated one) is still
one person, for pricing approvals and rejections, launch approvals and launch waivers; a
second person passes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from services.launch.app import create_app as launch_app
from services.launch.settings import LaunchSettings
from services.pricing.app import create_app as pricing_app
from shared.settings import Settings
from tests.launch import conftest as launch
from tests.pricing import conftest as pricing
from tests.security.gateway import Gateway, behind_gateway
from tests.support import assert_problem

PRICING = "/v1/pricing"
LAUNCH = "/v1/launch"


@pytest.fixture
async def gateway(make_settings: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    settings = make_settings(run_consumers=False)
    apps = {
        "pricing": pricing_app(settings, clock=pricing.FakeClock(), scheduler_poll_s=0.05),
        "launch": launch_app(
            settings,
            clock=launch.FakeClock(),
            launch=LaunchSettings(scheduler_poll_s=0.05),
        ),
    }
    async with behind_gateway(settings, **apps) as running:
        yield running


async def _proposal(gateway: Gateway, proposer: dict[str, str]) -> str:
    app = gateway.apps["pricing"]
    product_id = await pricing.add_product(app, app.state.runtime.clock)
    plist = {"code": "eu-web", "currency": "EUR", "channel": "web"}
    listed = await gateway.client.post(f"{PRICING}/price-lists", json=plist, headers=proposer)
    assert listed.status_code in (201, 409), listed.text
    body = {"product_id": product_id, "price_list": "eu-web", "amount": "15.00"}
    proposed = await gateway.client.post(f"{PRICING}/prices", json=body, headers=proposer)
    assert proposed.status_code == 201, proposed.text
    return str(proposed.json()["id"])


@pytest.mark.parametrize(("action", "body"), [("approve", None), ("reject", {"reason": "no"})])
async def test_a_second_key_of_the_proposer_cannot_decide_on_a_price(
    gateway: Gateway, action: str, body: dict[str, str] | None
) -> None:
    pat_writing = await gateway.key(owner="pat", scopes="pricing:read pricing:write")
    pat_approving = await gateway.key(owner="pat", scopes="pricing:read pricing:approve")
    dana = await gateway.key(owner="dana", scopes="pricing:read pricing:approve")
    price_id = await _proposal(gateway, pat_writing)
    url = f"{PRICING}/prices/{price_id}/{action}"

    refused = await gateway.client.post(url, json=body, headers=pat_approving)

    problem = assert_problem(refused, 403, detail_has="you proposed this price")
    assert problem["type"].endswith("/four-eyes")
    decided = await gateway.client.post(url, json=body, headers=dana)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == {"approve": "approved", "reject": "rejected"}[action]


async def _plan(gateway: Gateway, planner: dict[str, str], **extra: str) -> dict:
    product_id = await launch.known_product(gateway.apps["launch"])
    body = {
        "product_id": product_id,
        "target_date": launch.TARGET.isoformat(),
        "price_list": "eu-web",
    }
    planned = await gateway.client.post(
        f"{LAUNCH}/launches", json={**body, **extra}, headers=planner
    )
    assert planned.status_code == 201, planned.text
    return dict(planned.json())


async def _ready(gateway: Gateway, plan: dict, who: dict[str, str]) -> None:
    base = f"{LAUNCH}/launches/{plan['id']}"
    calls = [
        ("PATCH", base, {"goals": launch.GOALS}),
        *[
            (
                "POST",
                f"{base}/gates/{name}/signoff",
                {"evidence": "reviewed", "documents": [launch.DOC]},
            )
            for name in ("spec_improvements", "business_documents", "regulatory_compliance")
        ],
        ("POST", f"{base}/gates/marketing_plan/signoff", {"evidence": "campaign booked"}),
        ("POST", f"{base}/qa-reports", {"kind": "qa", "result": "passed", "notes": "green"}),
    ]
    for method, url, body in calls:
        answer = await gateway.client.request(method, url, json=body, headers=who)
        assert answer.is_success, answer.text


async def test_a_second_key_of_the_plan_owner_cannot_approve_the_launch(gateway: Gateway) -> None:
    pat_planning = await gateway.key(owner="pat", scopes="launch:read launch:write")
    pat_approving = await gateway.key(owner="pat", scopes="launch:read launch:approve")
    dana = await gateway.key(owner="dana", scopes="launch:read launch:approve")
    plan = await _plan(gateway, pat_planning)
    await _ready(gateway, plan, pat_planning)
    url = f"{LAUNCH}/launches/{plan['id']}/approve"

    problem = assert_problem(await gateway.client.post(url, headers=pat_approving), 403)

    assert problem["type"].endswith("/four-eyes")
    assert problem["owner"] == "pat"
    approved = await gateway.client.post(url, headers=dana)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] in ("approved", "launched")


async def test_an_admin_who_planned_for_someone_else_cannot_approve_it(gateway: Gateway) -> None:
    ops = await gateway.key(owner="ops", scopes="admin")
    ops_second = await gateway.key(owner="ops", scopes="launch:read launch:approve")
    plan = await _plan(gateway, ops, owner="pat")
    await _ready(gateway, plan, ops)
    url = f"{LAUNCH}/launches/{plan['id']}/approve"

    for who in (ops, ops_second):
        problem = assert_problem(await gateway.client.post(url, headers=who), 403)
        assert problem["type"].endswith("/four-eyes")
        assert problem["created_by"] == "ops"


async def test_a_second_key_of_the_plan_owner_cannot_waive_its_gates(gateway: Gateway) -> None:
    pat_planning = await gateway.key(owner="pat", scopes="launch:read launch:write")
    pat_approving = await gateway.key(owner="pat", scopes="launch:read launch:approve")
    dana = await gateway.key(owner="dana", scopes="launch:read launch:approve")
    plan = await _plan(gateway, pat_planning)
    url = f"{LAUNCH}/launches/{plan['id']}/waivers"
    expires = (launch.START + timedelta(days=10)).isoformat()
    body = {"gate": "marketing_plan", "reason": "campaign runs later", "expires_at": expires}

    problem = assert_problem(await gateway.client.post(url, json=body, headers=pat_approving), 403)

    assert problem["type"].endswith("/four-eyes")
    waived = await gateway.client.post(url, json=body, headers=dana)
    assert waived.status_code == 201, waived.text
