"""Finding 9 of issue 12: scopes that were too coarse.

Through the gateway with real keys: costs and margins (of proposals, approvals and sales)
need `pricing:finance`; a plain `pricing:read` sees them as null and its guardrail
violations without the cost. A questionnaire response is its caller's: the `vendor` is the
key's owner, and another vendor's name, or another vendor's response, is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from services.catalog.app import create_app as catalog_app
from services.pricing.app import create_app as pricing_app
from shared.settings import Settings
from tests.catalog.conftest import make_product, make_type
from tests.pricing.conftest import FakeClock, add_product, deliver, purchase_event
from tests.security.gateway import Gateway, behind_gateway
from tests.support import assert_problem

PRICING = "/v1/pricing"
CATALOG = "/v1/catalog"


@pytest.fixture
async def gateway(make_settings: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    settings = make_settings(run_consumers=False)
    apps = {
        "pricing": pricing_app(settings, clock=FakeClock(), scheduler_poll_s=0.05),
        "catalog": catalog_app(settings),
    }
    async with behind_gateway(settings, **apps) as running:
        yield running


async def test_costs_and_margins_need_pricing_finance(gateway: Gateway) -> None:
    http = gateway.client
    pricer = await gateway.key(owner="pat", scopes="pricing:read pricing:write pricing:finance")
    viewer = await gateway.key(owner="vic", scopes="pricing:read")
    controller = await gateway.key(owner="cleo", scopes="pricing:read pricing:finance")
    app = gateway.apps["pricing"]
    clock = app.state.runtime.clock
    product_id = await add_product(app, clock, cost="5.00")
    plist = {"code": "eu-web", "currency": "EUR", "channel": "web", "guardrails": {}}
    plist["guardrails"] = {"min_margin_pct": "50"}
    assert (await http.post(f"{PRICING}/price-lists", json=plist, headers=pricer)).is_success
    body = {"product_id": product_id, "price_list": "eu-web", "amount": "4.00"}
    proposed = (await http.post(f"{PRICING}/prices", json=body, headers=pricer)).json()
    assert (proposed["cost"], proposed["margin_pct"]) == (
        {"amount": "5.00", "currency": "EUR"},
        "-25",
    )

    url = f"{PRICING}/prices/{proposed['id']}"
    seen = (await http.get(url, headers=viewer)).json()
    listed = (await http.get(f"{PRICING}/prices", headers=viewer)).json()["items"]

    assert (seen["cost"], seen["margin_pct"]) == (None, None)
    assert listed == [seen]
    for violations in (seen["guardrail_violations"], seen["violations_at_proposal"]):
        assert violations == [
            {
                "code": "below_cost",
                "detail": "the price is below the product's cost",
                "limit": None,
                "actual": "4.00",
            },
            {
                "code": "margin_below_minimum",
                "detail": "the margin is under the list's minimum",
                "limit": "50",
                "actual": None,
            },
        ]
    assert "5.00" not in str(seen)
    full = (await http.get(url, headers=controller)).json()
    assert full == proposed

    await deliver(app, purchase_event(product_id, occurred_at=clock()))
    metrics = f"{PRICING}/products/{product_id}/metrics"
    (blind,) = (await http.get(metrics, headers=viewer)).json()["totals"]
    (told,) = (await http.get(metrics, headers=controller)).json()["totals"]
    assert (blind["revenue"], blind["cost"], blind["margin"], blind["margin_pct"]) == (
        "19.99",
        None,
        None,
        None,
    )
    assert (told["cost"], told["margin"]) == ("5.00", "14.99")


async def _questionnaire(gateway: Gateway) -> tuple[str, str]:
    """A kettle and a questionnaire for kettles, made straight on the catalog."""
    app = gateway.apps["catalog"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as direct:
        await make_type(direct, "kettle", ())
        product = await make_product(direct)
    admin = gateway.admin
    body = {
        "title": "Supplier survey",
        "questions": [{"key": "model", "text": "Model?", "type": "text"}],
    }
    made = await gateway.client.post(f"{CATALOG}/questionnaires", json=body, headers=admin)
    assert made.status_code == 201, made.text
    return str(made.json()["id"]), str(product["id"])


async def test_a_questionnaire_response_speaks_only_for_its_callers_vendor(
    gateway: Gateway,
) -> None:
    http = gateway.client
    acme = await gateway.key(owner="Acme Supply", scopes="catalog:read catalog:write")
    acme_second = await gateway.key(owner="Acme Supply", scopes="catalog:write")
    globex = await gateway.key(owner="Globex", scopes="catalog:read catalog:write")
    questionnaire_id, product_id = await _questionnaire(gateway)
    url = f"{CATALOG}/questionnaires/{questionnaire_id}/responses"
    answers = {"product_id": product_id, "answers": {"model": "Boil 9"}}

    forged = await http.post(url, json={**answers, "vendor": "Globex"}, headers=acme)

    problem = assert_problem(forged, 403, detail_has="only an admin records")
    assert (problem["type"].endswith("/vendor-not-allowed"), problem["vendor"]) == (True, "Globex")
    own = await http.post(url, json=answers, headers=acme)
    assert own.status_code == 201, own.text
    response = own.json()
    assert response["vendor"] == "Acme Supply"

    edit = f"{CATALOG}/questionnaire-responses/{response['id']}"
    change = {"answers": {"model": "Boil 10"}}
    other = await http.patch(edit, json=change, headers=globex)
    assert_problem(other, 403, detail_has="'Acme Supply''s response")
    fixed = await http.patch(edit, json=change, headers=acme_second)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["answers"] == {"model": "Boil 10"}

    # An admin records a response a vendor sent by mail, in that vendor's name.
    recorded = await http.post(url, json={**answers, "vendor": "Globex"}, headers=gateway.admin)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["vendor"] == "Globex"
