"""`GET /v1/reports/portfolio` over the real catalog, pricing and feedback apps: the
sections as JSON and as a rendered page, sections marked missing when a service is down,
and every refusal with its problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from shared.settings import Settings
from tests.gateway.portfolio import LEADER, Portfolio, portfolio
from tests.support import assert_problem, auth, running

URL = "/v1/reports/portfolio"
MARCH = {"period": "2030-03"}


@pytest.fixture
async def shop(make_settings: Callable[..., Settings]) -> AsyncIterator[Portfolio]:
    async with portfolio(make_settings) as made:
        yield made


@pytest.fixture
async def gateway(shop: Portfolio) -> AsyncIterator[httpx.AsyncClient]:
    async with running(shop.gateway) as http:
        yield http


async def test_the_review_has_every_section(gateway: httpx.AsyncClient, shop: Portfolio) -> None:
    resp = await gateway.get(URL, params=MARCH, headers=LEADER)

    assert resp.status_code == 200, resp.text
    r = resp.json()
    assert (r["period"], r["missing"], r["degraded"], r["forbidden"]) == ("2030-03", {}, [], [])
    # Kettles: 200.00 + 100.00 - 50.00 returned; margin 100.00 - 20.00 + 10.00.
    assert [(g["key"], g["revenue"], g["margin"]) for g in r["revenue_by_product_type"]] == [
        ("kettle", "250.00", "90.00"),
        ("toaster", "250.00", "150.00"),
    ]
    assert [(g["key"], g["units"], g["revenue"]) for g in r["revenue_by_account"]] == [
        ("acme", 14, "300.00"),
        ("bolt", 5, "250.00"),
    ]
    # Delta sold nothing: its plan still names it (it had no name, before).
    plans = {p["name"]: (p["target"]["units"], p["actual"]["units"]) for p in r["plan_vs_actual"]}
    assert plans == {"Alpha": (100, 10), "Delta": (50, 0)}
    # Alpha falls 500.00 short of its plan's margin; Beta sold 10.00 below cost.
    assert [(p["name"], p["margin_shortfall"]) for p in r["margin_drains"]] == [
        ("Alpha", "500.00"),
        ("Beta", "10.00"),
    ]
    assert [
        (p["name"], p["return_rate_pct"], p["critical_defects"], p["critical_defect_rate_pct"])
        for p in r["quality"]
    ] == [("Gamma", "0", 1, "20"), ("Beta", "50", 0, "0")]
    candidates = {
        c["product"]["name"]: [f["reason"] for f in c["reasons"]] for c in r["discontinue"]
    }
    assert candidates == {
        "Alpha": ["margin_far_below_plan", "sales_far_below_plan"],
        "Beta": ["negative_margin", "high_return_rate"],
    }
    assert [c["product"]["name"] for c in r["discontinue"]] == ["Alpha", "Beta"]
    beta = r["discontinue"][1]["reasons"]
    assert beta[1]["detail"] == "2 of 4 units returned (50%)"


async def test_the_review_as_a_page_with_svg_charts(gateway: httpx.AsyncClient) -> None:
    resp = await gateway.get(URL, params=MARCH, headers={**LEADER, "Accept": "text/html"})

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    page = resp.text
    for section in ("by-type", "by-account", "plans", "margin-drains", "quality", "discontinue"):
        assert f'<section id="{section}"' in page
    assert page.count("<svg") == 3
    assert 'class="bar revenue"' in page
    assert 'class="bar target"' in page
    assert "Candidates to discontinue" in page
    assert "margin far below plan" in page
    assert "2 of 4 units returned (50%)" in page
    assert "This section is missing" not in page
    # A client asking for JSON first gets JSON.
    both = await gateway.get(
        URL, params=MARCH, headers={**LEADER, "Accept": "application/json, text/html"}
    )
    assert both.headers["content-type"].startswith("application/json")


async def test_a_service_down_marks_its_sections_missing(
    make_settings: Callable[..., Settings],
) -> None:
    async with portfolio(make_settings, feedback_up=False) as shop, running(shop.gateway) as http:
        resp = await http.get(URL, params=MARCH, headers=LEADER)
        assert resp.status_code == 200, resp.text
        r = resp.json()
        assert r["missing"] == {"discontinue": ["feedback"], "quality": ["feedback"]}
        assert (r["degraded"], r["quality"], r["discontinue"]) == (["feedback"], None, None)
        assert [g["key"] for g in r["revenue_by_product_type"]] == ["kettle", "toaster"]

        page = await http.get(URL, params=MARCH, headers={**LEADER, "Accept": "text/html"})
        assert page.text.count("This section is missing: feedback did not answer") == 2
        assert "Missing: quality (no answer from feedback)" in page.text


async def test_a_section_the_caller_may_not_read_is_named_forbidden(
    gateway: httpx.AsyncClient,
) -> None:
    finance_only = auth("pricing:read pricing:finance", subject="key-controller")
    r = (await gateway.get(URL, params=MARCH, headers=finance_only)).json()
    assert r["forbidden"] == ["catalog", "feedback"]
    assert r["revenue_by_product_type"] is None
    assert r["revenue_by_account"] is not None
    assert r["missing"]["revenue_by_product_type"] == ["catalog"]


@pytest.mark.parametrize("period", ["2030-13", "2030-Q0", "2030", "Q1-2030", "2030-03-01"])
async def test_a_bad_period_is_422(gateway: httpx.AsyncClient, period: str) -> None:
    resp = await gateway.get(URL, params={"period": period}, headers=LEADER)
    problem = assert_problem(resp, 422)
    assert ["query", "period"] in [e["loc"] for e in problem["errors"]]


async def test_the_review_needs_a_period_finance_and_a_token(gateway: httpx.AsyncClient) -> None:
    missing = assert_problem(await gateway.get(URL, headers=LEADER), 422)
    assert ["query", "period"] in [e["loc"] for e in missing["errors"]]
    reader = auth("catalog:read feedback:read pricing:read")
    denied = assert_problem(await gateway.get(URL, params=MARCH, headers=reader), 403)
    assert denied["required_scope"] == "pricing:finance"
    # The scope before the query: a 422 told such a caller what the report takes, before.
    unread = assert_problem(await gateway.get(URL, headers=reader), 403)
    assert unread["required_scope"] == "pricing:finance"
    assert_problem(await gateway.get(URL, params=MARCH), 401)


async def test_a_quarter_covers_its_three_months(gateway: httpx.AsyncClient) -> None:
    q1 = (await gateway.get(URL, params={"period": "2030-Q1"}, headers=LEADER)).json()
    assert [g["revenue"] for g in q1["revenue_by_product_type"]] == ["250.00", "250.00"]
    q2 = (await gateway.get(URL, params={"period": "2030-Q2"}, headers=LEADER)).json()
    assert (q2["revenue_by_product_type"], q2["plan_vs_actual"], q2["discontinue"]) == ([], [], [])
