"""The ops dashboard's pages and parts through the gateway app, against the real service
processes: the shells, the vendored script, each part's HTML, and the errors in words."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape

from gateway.app import create_app
from gateway.dashboard.pages import NAV
from gateway.dashboard.render import day, plural
from shared.settings import Settings
from tests.gateway.services import ServiceProcess
from tests.gateway.store import SeededProduct, Services, blocked_launch, product_with_everything
from tests.support import assert_problem, auth, running

STATIC = Path(__file__).resolve().parents[2] / "gateway" / "dashboard" / "static"
READ_ALL = auth("catalog:read feedback:read pricing:read launch:read")
PARTS = ["summary", "launches", "feedback", "pricing", "products", "dead-letters"]


@pytest.fixture(scope="module")
async def kettle(real_services: dict[str, ServiceProcess]) -> SeededProduct:
    urls = {name: service.url for name, service in real_services.items()}
    return await product_with_everything(Services(urls))


@pytest.fixture(scope="module")
async def plan(real_services: dict[str, ServiceProcess], kettle: SeededProduct) -> dict[str, Any]:
    urls = {name: service.url for name, service in real_services.items()}
    return await blocked_launch(Services(urls), kettle)


@pytest.fixture
async def gateway(
    view_settings: Settings, real_services: dict[str, ServiceProcess]
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(view_settings, services=list(real_services))) as http:
        yield http


@pytest.mark.parametrize(("path", "label"), NAV)
async def test_every_page_is_a_shell_that_loads_without_a_token(
    gateway: httpx.AsyncClient, path: str, label: str
) -> None:
    response = await gateway.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert 'id="sign-in-form"' in page
    assert f'<a href="{path}" aria-current="page">{label}</a>' in page
    # The shell holds no data: its part is fetched with the tab's token.
    assert re.search(r'hx-get="/dashboard/parts/[a-z-]+"', page)
    # Nothing is loaded from another origin.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    # No domain event announces backlog, lag or a dead letter: the pages showing them poll.
    polls = path in ("/dashboard", "/dashboard/dead-letters")
    assert ("every 10s" in page) is polls


async def test_the_page_has_no_inline_script_or_style_the_policy_would_block(
    gateway: httpx.AsyncClient,
) -> None:
    page = (await gateway.get("/dashboard")).text

    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", page)
    assert " style=" not in page
    assert "<style" not in page
    assert " onclick=" not in page
    assert "hx-on" not in page


async def test_the_vendored_htmx_is_served_and_is_the_pinned_file(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/dashboard/static/vendor/htmx-2.0.11.min.js")

    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    pinned = re.search(r"`([0-9a-f]{64})`", (STATIC / "vendor" / "README.md").read_text())
    assert pinned is not None
    assert hashlib.sha256(response.content).hexdigest() == pinned.group(1)
    assert "Zero-Clause BSD" in (STATIC / "vendor" / "htmx-LICENSE.txt").read_text()
    assert (await gateway.get("/dashboard/static/dashboard.js")).status_code == 200
    assert (await gateway.get("/dashboard/static/dashboard.css")).status_code == 200


@pytest.mark.parametrize("path", ["/dashboard/nope", "/dashboard/products/a/b", "/dashboard/x/"])
async def test_an_address_that_names_no_page_is_a_page_saying_so(
    gateway: httpx.AsyncClient, path: str
) -> None:
    """A person followed the link: it was a problem+json document, before."""
    response = await gateway.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "<h1>Not found</h1>" in response.text
    assert '<a href="/dashboard">Go to the summary</a>' in response.text
    # What a script asks for keeps its problem.
    for scripted in ("/dashboard/parts/nope", "/dashboard/static/nope.js", "/v1/nope"):
        assert_problem(await gateway.get(scripted), 404)


async def test_an_unknown_product_page_id_is_refused_as_the_views_are(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/dashboard/parts/products/..", headers=READ_ALL)

    assert response.status_code in (404, 422)


@pytest.mark.parametrize("part", PARTS)
async def test_a_part_without_a_token_is_a_401_problem(
    gateway: httpx.AsyncClient, part: str
) -> None:
    response = await gateway.get(f"/dashboard/parts/{part}")

    assert_problem(response, 401)


async def test_an_expired_token_is_a_401_problem_the_page_turns_into_sign_in(
    gateway: httpx.AsyncClient,
) -> None:
    headers = {"Authorization": "Bearer not.a.token"}

    assert_problem(await gateway.get("/dashboard/parts/summary", headers=headers), 401)


async def test_the_summary_part_shows_cards_charts_and_the_critical_finding_by_name(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    response = await gateway.get("/dashboard/parts/summary", headers=READ_ALL)

    assert response.status_code == 200, response.text
    page = response.text
    assert 'id="critical-open"' in page
    assert "Customer events per minute" in page
    assert '<svg viewBox="0 0 600 160" role="img"' in page
    assert 'id="critical-list"' in page
    # Named as the catalog names it, linked to its page.
    product = (await gateway.get(f"/v1/catalog/products/{kettle.id}", headers=READ_ALL)).json()
    assert f'href="/dashboard/products/{kettle.id}">{product["name"]}</a>' in page
    for service in ("catalog", "feedback", "pricing"):
        assert f'<th scope="row">{service}</th>' in page


async def test_a_part_the_caller_may_not_read_says_so_in_words(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    catalog_only = auth("catalog:read")

    summary = (await gateway.get("/dashboard/parts/summary", headers=catalog_only)).text
    pricing = (await gateway.get("/dashboard/parts/pricing", headers=catalog_only)).text
    letters = (await gateway.get("/dashboard/parts/dead-letters", headers=catalog_only)).text

    assert "Your key may not read feedback data." in summary
    assert "Your key may not read pricing data." in pricing
    assert "Dead letters need an admin key." in letters


async def pricing_part_for_an_approver(gateway: httpx.AsyncClient) -> str:
    headers = auth("pricing:read pricing:approve catalog:read")
    return (await gateway.get("/dashboard/parts/pricing", headers=headers)).text


async def test_the_pricing_part_lists_the_waiting_proposal_with_buttons_for_approvers_only(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    approver = await pricing_part_for_an_approver(gateway)
    reader = (await gateway.get("/dashboard/parts/pricing", headers=auth("pricing:read"))).text

    assert f'id="price-{kettle.pending_price_id}"' in approver
    assert f'hx-post="/v1/pricing/prices/{kettle.pending_price_id}/approve"' in approver
    # The price in effect says its currency too ("29.99" alone, before).
    assert "<td>29.99 EUR" in approver
    assert f'id="price-{kettle.pending_price_id}"' in reader
    assert "/approve" not in reader
    assert "/reject" not in reader


async def test_the_feedback_part_lists_findings_with_actions_for_writers(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    writer = (
        await gateway.get(
            "/dashboard/parts/feedback", headers=auth("feedback:read feedback:write catalog:read")
        )
    ).text
    reader = (await gateway.get("/dashboard/parts/feedback", headers=auth("feedback:read"))).text

    assert 'class="badge critical"' in writer
    assert "from customer" in writer
    assert "/dashboard/products/" + kettle.id in writer
    assert 'name="status" value="acknowledged"' in writer
    assert 'class="badge critical"' in reader
    assert "/status" not in reader


async def test_an_escalation_forwarded_to_sales_still_waits_on_the_feedback_part(
    gateway: httpx.AsyncClient, real_services: dict[str, ServiceProcess], kettle: SeededProduct
) -> None:
    feedback = Services({"feedback": real_services["feedback"].url})
    listed = await feedback.call(
        "GET",
        "feedback",
        "/v1/escalations",
        scopes="feedback:read",
        params={"product_id": kettle.id, "status": "open"},
        expect=200,
    )
    escalation = listed.json()["items"][0]
    await feedback.call(
        "POST",
        "feedback",
        f"/v1/escalations/{escalation['id']}/forward",
        scopes="feedback:write",
        json={"to": "sales", "note": "a price question"},
        expect=200,
    )

    part = (await gateway.get("/dashboard/parts/feedback", headers=auth("feedback:read"))).text

    row = part.split(f'id="escalation-{escalation["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "sales (forwarded)" in row


async def test_the_product_part_is_the_overview_and_an_unknown_product_is_said_in_words(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    found = await gateway.get(f"/dashboard/parts/products/{kettle.id}", headers=READ_ALL)
    unknown = await gateway.get("/dashboard/parts/products/no-such-product", headers=READ_ALL)

    assert found.status_code == 200
    assert kettle.sku in found.text
    assert "Prices in effect" in found.text
    assert "critical open" in found.text
    assert unknown.status_code == 200
    assert "no-such-product" in unknown.text
    assert 'class="notice"' in unknown.text


async def test_the_products_part_searches_the_catalog(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    hit = await gateway.get("/dashboard/parts/products", params={"q": kettle.sku}, headers=READ_ALL)
    miss = await gateway.get(
        "/dashboard/parts/products", params={"q": "zz-no-such-sku-zz"}, headers=READ_ALL
    )

    assert f'href="/dashboard/products/{kettle.id}"' in hit.text
    assert "No product matches" in miss.text


async def test_the_dead_letter_part_lists_letters_with_replay_and_discard_for_admins(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    response = await gateway.get("/dashboard/parts/dead-letters", headers=auth("admin"))

    assert response.status_code == 200
    assert "Dead letters need an admin key." not in response.text
    # Each open letter (other gateway tests leave some) has its two buttons.
    assert response.text.count("/replay") == response.text.count("/discard")


async def test_the_launches_part_shows_gates_why_blocked_and_actions_by_scope(
    gateway: httpx.AsyncClient, plan: dict[str, Any]
) -> None:
    approver = (
        await gateway.get(
            "/dashboard/parts/launches",
            headers=auth("launch:read launch:write launch:approve catalog:read"),
        )
    ).text
    reader = (await gateway.get("/dashboard/parts/launches", headers=auth("launch:read"))).text

    card = approver[approver.index(f'id="launch-{plan["id"]}"') :]
    card = card[: card.index("</article>")]
    assert 'class="badge blocked"' in card
    assert "no critical defects" in card
    # Why it is blocked: the gate's chain of reasons, in the launch service's words.
    blocking = next(g for g in plan["gates"] if g["name"] == "no_critical_defects")
    assert str(escape(blocking["reasons"][0]["detail"])) in card
    assert f'hx-post="/v1/launch/launches/{plan["id"]}/waivers"' in card
    assert "/signoff" in card
    assert "Approval needs these gates passing or waived" in card
    assert f'id="launch-{plan["id"]}"' in reader
    assert "/waivers" not in reader
    assert "/signoff" not in reader


def test_dates_carry_their_year_when_it_is_not_this_one_and_counts_agree_with_nouns() -> None:
    today = date(2026, 11, 30)

    assert day("2026-12-07", today) == "Mon 07 Dec"
    assert day("2027-01-04", today) == "Mon 04 Jan 2027"
    assert plural(1, "report") == "1 report"
    assert plural(2, "report") == "2 reports"
    assert plural(0, "ask") == "0 asks"


def test_the_header_focus_ring_stands_out_3_to_1_against_the_header() -> None:
    css = (STATIC / "dashboard.css").read_text()
    header = re.search(r"--ink: (#[0-9a-f]{6})", css)
    ring = re.search(r"\.top :focus-visible \{ outline-color: (#[0-9a-f]{6}); \}", css)
    assert header is not None
    assert ring is not None

    assert _contrast(ring.group(1), header.group(1)) >= 3


def _contrast(one: str, other: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def test_every_page_links_a_favicon_the_policy_allows(gateway: httpx.AsyncClient) -> None:
    page = await gateway.get("/dashboard")
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page.text)
    assert icon is not None

    served = await gateway.get(icon.group(1))

    assert served.status_code == 200
    assert served.headers["content-type"].startswith("image/svg+xml")
    assert "img-src 'self'" in page.headers["content-security-policy"]


async def test_the_product_part_names_the_page_and_counts_asks_in_agreement(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    part = (await gateway.get(f"/dashboard/parts/products/{kettle.id}", headers=READ_ALL)).text
    product = (await gateway.get(f"/v1/catalog/products/{kettle.id}", headers=READ_ALL)).json()

    # The shell holds no data; the part brings the name its h1 and title take.
    assert f'data-page-title="{escape(product["name"])}"' in part
    assert "(1 ask)" in part
    assert not re.search(r"\b1 (asks|reports|attempts|plans)\b", part)
    # The product's launch plans sit under its "Launch" h2.
    assert '<h3 class="plan-title">' in part


async def test_plans_on_the_launches_page_are_h2_under_its_h1_and_name_their_controls(
    gateway: httpx.AsyncClient, plan: dict[str, Any]
) -> None:
    part = (
        await gateway.get(
            "/dashboard/parts/launches",
            headers=auth("launch:read launch:write launch:approve catalog:read"),
        )
    ).text
    card = part[part.index(f'id="launch-{plan["id"]}"') :]
    card = card[: card.index("</article>")]

    assert '<h2 class="plan-title">' in card
    assert "<h3" not in card
    # Each repeated control says which gate of which product it acts on.
    assert '<span class="sr-only"> to waive no critical defects, ' in card
    assert '<button type="submit">Waive<span class="sr-only"> no critical defects, ' in card
    # A wide gates table scrolls in its own box, not the page.
    assert '<div class="scroll">\n  <table class="gates">' in card


async def test_pricing_controls_name_the_proposal_they_decide(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    part = await pricing_part_for_an_approver(gateway)
    product = (await gateway.get(f"/v1/catalog/products/{kettle.id}", headers=READ_ALL)).json()
    row = part.split(f'id="price-{kettle.pending_price_id}"', 1)[1].split("</tr>", 1)[0]

    name = str(escape(product["name"]))
    assert f'<button type="submit">Approve<span class="sr-only"> {name}, ' in row
    assert f'<button type="submit">Reject<span class="sr-only"> {name}, ' in row
    assert f'Reason<span class="sr-only"> to reject {name}, ' in row


async def test_the_calendar_says_each_launch_readiness_in_words_not_colour_alone(
    gateway: httpx.AsyncClient, plan: dict[str, Any]
) -> None:
    part = (await gateway.get("/dashboard/parts/summary", headers=READ_ALL)).text

    mark = re.search(
        r'<a class="mark blocked[^"]*"[^>]*>[^<]*<span class="state">([^<]*)</span>', part
    )
    assert mark is not None
    assert mark.group(1) == "· blocked"
