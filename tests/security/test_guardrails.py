"""Finding 3 of issue 12: guardrails cannot be loosened alone, and a violation stays on the
record.

Through the gateway with real keys, the attack as reported: a `pricing:write` key sets a
list's guardrails to nothing, then a proposal under the old floor is approved without an
override reason and shows no violation. Now the change needs a reason, waits for another
person with `pricing:approve`, and the approval still sees the violation the proposal had.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from services.pricing.app import create_app
from shared.settings import Settings
from tests.pricing.conftest import FakeClock, add_product
from tests.security.gateway import Gateway, behind_gateway
from tests.support import assert_problem

LIST = "/v1/pricing/price-lists"
CHANGES = f"{LIST}/eu-web/guardrail-changes"


@pytest.fixture
async def gateway(make_settings: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    settings = make_settings(run_consumers=False)
    app = create_app(settings, clock=FakeClock(), scheduler_poll_s=0.05)
    async with behind_gateway(settings, pricing=app) as running:
        yield running


async def test_loosening_guardrails_needs_a_second_person_and_keeps_the_violation(
    gateway: Gateway,
) -> None:
    http = gateway.client
    pat = await gateway.key(owner="pat", scopes="pricing:read pricing:write")
    pat_approving = await gateway.key(owner="pat", scopes="pricing:read pricing:approve")
    dana = await gateway.key(owner="dana", scopes="pricing:read pricing:approve")
    app = gateway.apps["pricing"]
    product_id = await add_product(app, app.state.runtime.clock, cost="5.00")
    body = {"code": "eu-web", "currency": "EUR", "channel": "web", "guardrails": {"floor": "12.00"}}
    assert (await http.post(LIST, json=body, headers=pat)).status_code == 201
    proposed = await http.post(
        "/v1/pricing/prices",
        json={"product_id": product_id, "price_list": "eu-web", "amount": "10.00"},
        headers=pat,
    )
    price = proposed.json()
    assert [v["code"] for v in price["violations_at_proposal"]] == ["below_floor"]

    # The old way, guardrails in the list's PATCH, is closed; a change needs a reason.
    patched = await http.patch(f"{LIST}/eu-web", json={"guardrails": {}}, headers=pat)
    assert_problem(patched, 422, detail_has="guardrails")
    unexplained = await http.post(CHANGES, json={"guardrails": {}}, headers=pat)
    assert assert_problem(unexplained, 422)["errors"][0]["loc"] == ["body", "reason"]
    asked = await http.post(
        CHANGES, json={"guardrails": {}, "reason": "clear old stock"}, headers=pat
    )
    change = asked.json()
    assert (change["status"], change["loosens"]) == ("pending", ["floor"])
    floor = (await http.get(f"{LIST}/eu-web", headers=pat)).json()["guardrails"]["floor"]
    assert floor == "12.00"

    own = await http.post(f"{CHANGES}/{change['id']}/approve", headers=pat_approving)
    assert assert_problem(own, 403, detail_has="you asked for this").get("requested_by")
    applied = await http.post(f"{CHANGES}/{change['id']}/approve", headers=dana)
    assert applied.json()["status"] == "applied"

    approve_url = f"/v1/pricing/prices/{price['id']}/approve"
    silent = await http.post(approve_url, headers=dana)
    problem = assert_problem(silent, 422, detail_has="when proposed")
    assert problem["violations"] == ["below_floor"]
    approved = await http.post(approve_url, json={"override_reason": "clearance"}, headers=dana)
    assert approved.status_code == 200, approved.text
    shown = approved.json()
    assert shown["guardrail_violations"] == []  # the list has no floor any more
    assert [v["code"] for v in shown["violations_at_proposal"]] == ["below_floor"]
    assert shown["override_reason"] == "clearance"
    history = (await http.get(f"{CHANGES}", headers=pat)).json()["items"]
    assert [(c["status"], c["reason"]) for c in history] == [("applied", "clear old stock")]
