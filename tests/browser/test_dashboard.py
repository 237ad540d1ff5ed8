"""The ops dashboard in a real browser (Debian's Chromium driven by Playwright) against the
whole stack under `productops up`: sign in, the summary, a product, a critical review showing
up live, a price approved by a second person, a dead letter replayed and discarded, and an
ended session.

Screenshots go to `var/test-artefacts/dashboard/` (kept by CI as artefacts).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.flows.stack import RunningStack, productops_up
from tests.gateway.store import poison_catalog_event
from tests.stack.helpers import ROOT
from tests.support import eventually

pytestmark = [pytest.mark.stack, pytest.mark.browser]

CHROMIUM = os.environ.get("PRODUCTOPS_TEST_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = ROOT / "var" / "test-artefacts" / "dashboard"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
PRICE_LIST = "eu-web"
BURN = "The base sparked and the kettle caught fire on my counter, my hand got burned"
# Waits cover a process's first event after start-up (consumer group join, model load).
WAIT_S = 60
# What the page shows, and what an action answers, is checked within this (a loaded machine
# can keep a service past the dashboard's own budget); "live" means no reload in between.
SHOWN_MS = 30_000
# The innermost elements reaching past a width, to say what makes a page scroll sideways.
PAST_THE_EDGE = """(width) => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > width && e.childElementCount === 0)
    .slice(0, 5)
    .map((e) => e.tagName + "." + e.className + " " + e.getBoundingClientRect().right)"""

if not Path(CHROMIUM).exists():
    # Under CI the browser must be there (.ci/run installs it): a skip would hide the tests.
    if os.environ.get("CI") == "true":
        pytest.fail(f"no Chromium at {CHROMIUM}", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


class Person:
    """One person's token at the gateway; every call checks its status."""

    def __init__(self, http: httpx.AsyncClient, api_key: str, token: str) -> None:
        self.http = http
        self.api_key = api_key
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, headers=self.headers, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json()


async def sign_in_as(http: httpx.AsyncClient, api_key: str) -> Person:
    response = await http.post("/v1/auth/token", json={"api_key": api_key})
    assert response.status_code == 200, response.text
    return Person(http, api_key, response.json()["access_token"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # A generous view budget: this machine also runs other tests, and the page's parts are
    # checked for content, not for how they degrade (tests/gateway covers that).
    with productops_up(
        tmp_path_factory.mktemp("dashboard"), PRODUCTOPS_VIEW_BUDGET_S="5"
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def http(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=15, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
async def store(stack: RunningStack, http: httpx.AsyncClient) -> dict[str, Any]:
    """A kettle with a launch plan and a proposed price, a second approver, a storefront."""
    admin = await sign_in_as(http, stack.admin_key)

    async def person(name: str, scopes: list[str]) -> Person:
        made = await admin.call(
            "POST",
            "/v1/api-keys",
            json={"name": name, "owner": name, "scopes": scopes},
            expect=201,
        )
        return await sign_in_as(http, made["api_key"])

    boss = await person(
        "boss", ["pricing:read", "pricing:approve", "catalog:read", "feedback:read"]
    )
    storefront = await person("storefront", ["feedback:ingest"])
    await admin.call(
        "POST",
        "/v1/catalog/product-types",
        json={"code": "kettle", "name": "Kettle", "required_attributes": ["capacity_l"]},
        expect=201,
    )
    kettle = await admin.call(
        "POST",
        "/v1/catalog/products",
        json={
            "sku": "KT-DASH-1",
            "name": "Boilwell Steel Kettle",
            "product_type": "kettle",
            "brand": "Boilwell",
            "attributes": {"capacity_l": 1.7},
            "cost": {"amount": "18.00", "currency": "EUR"},
        },
        expect=201,
    )
    await admin.call(
        "POST",
        "/v1/pricing/price-lists",
        json={"code": PRICE_LIST, "currency": "EUR", "channel": "web"},
        expect=201,
    )
    today = datetime.now(UTC).date()
    plan = {
        "product_id": kettle["id"],
        "target_date": (today + timedelta(days=10)).isoformat(),
        "price_list": PRICE_LIST,
    }

    async def planned() -> bool:
        response = await http.post("/v1/launch/launches", json=plan, headers=admin.headers)
        assert response.status_code in (201, 422), response.text
        return response.status_code == 201

    await eventually(planned, timeout_s=WAIT_S)

    async def proposed() -> dict[str, Any] | None:
        response = await http.post(
            "/v1/pricing/prices",
            headers=admin.headers,
            json={
                "product_id": kettle["id"],
                "price_list": PRICE_LIST,
                "amount": "49.90",
                "valid_from": datetime.combine(today, time.min, UTC).isoformat(),
            },
        )
        assert response.status_code in (201, 422), response.text
        return response.json() if response.status_code == 201 else None

    price: dict[str, Any] = {}

    async def priced() -> bool:
        price.update(await proposed() or {})
        return bool(price)

    await eventually(priced, timeout_s=WAIT_S)
    return {
        "admin": admin,
        "boss": boss,
        "storefront": storefront,
        "kettle": kettle,
        "price": price,
    }


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A tab of its own (its own session storage), failing the test on any page error."""
    made = await browser.new_context(viewport=DESKTOP)
    errors: list[str] = []
    made.on("weberror", lambda error: errors.append(str(error.error)))
    made.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    try:
        yield made
    finally:
        await made.close()
    # A 4xx the page handles in words is logged by Chromium as a failed resource load.
    unexpected = [e for e in errors if "Failed to load resource" not in e]
    assert unexpected == [], unexpected


async def signed_in(context: BrowserContext, stack: RunningStack, api_key: str, path: str) -> Page:
    page = await context.new_page()
    await page.goto(stack.gateway + path)
    await expect(page.locator("#sign-in")).to_be_visible()
    await page.fill("#api-key", api_key)
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_visible()
    await expect(page.locator("#live")).to_have_text("live: on", timeout=SHOWN_MS)
    return page


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


async def test_a_wrong_key_is_refused_in_words(
    context: BrowserContext, stack: RunningStack
) -> None:
    page = await context.new_page()
    await page.goto(stack.gateway + "/dashboard")
    await page.fill("#api-key", "not-a-key-" + "x" * 30)
    await page.click("#sign-in-form button")

    await expect(page.locator("#sign-in-message")).to_have_text(
        "That API key is not valid, or it was revoked."
    )
    await expect(page.locator("#main")).to_be_hidden()
    # The tab says what it shows: the form, not the page behind it.
    await expect(page).to_have_title("Sign in · ProductOps")
    await shot(page, "sign-in-refused")


async def test_sign_in_by_keyboard_and_see_the_summary_at_desktop_and_phone_width(
    context: BrowserContext, stack: RunningStack, store: dict[str, Any]
) -> None:
    page = await signed_in(context, stack, stack.admin_key, "/dashboard")

    part = page.locator("#part")
    await expect(part.locator("#c-products")).to_be_visible(timeout=SHOWN_MS)
    # Each region is filled by its own service within the view budget; one that missed it
    # says so and is asked again, so each is awaited on its own.
    await expect(part.locator("#critical-open")).to_be_visible(timeout=SHOWN_MS)
    await expect(part.locator(".chart figcaption").first).to_be_visible(timeout=SHOWN_MS)
    strip = part.locator(".strip .mark", has_text="Boilwell Steel Kettle")
    await expect(strip).to_be_visible(timeout=SHOWN_MS)
    await shot(page, "summary-1280x800")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= DESKTOP["width"], f"the page scrolls sideways at 1280: {width}px"

    await page.set_viewport_size(PHONE)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width}px"
    await shot(page, "summary-phone")

    # Sign out: back to the form, and the token is gone from the tab.
    await page.click("#sign-out")
    await expect(page.locator("#sign-in-message")).to_have_text("Signed out.")
    assert await page.evaluate("sessionStorage.getItem('productops.session')") is None
    # Nor is what the key could read left in the page, hidden (it was, before).
    assert await page.locator("#part").inner_html() == ""


async def test_open_a_product_from_a_search(
    context: BrowserContext, stack: RunningStack, store: dict[str, Any]
) -> None:
    page = await signed_in(context, stack, stack.admin_key, "/dashboard/products")

    await page.fill("#q", "KT-DASH")
    await page.press("#q", "Enter")
    await page.click("text=Boilwell Steel Kettle")

    await expect(page).to_have_url(re.compile(r"/dashboard/products/" + store["kettle"]["id"]))
    part = page.locator("#part")
    await expect(part.locator("#h-product")).to_contain_text("KT-DASH-1", timeout=SHOWN_MS)
    await expect(part.locator(".plan")).to_be_visible(timeout=SHOWN_MS)
    await expect(part.locator(".gates")).to_contain_text("price approved", timeout=SHOWN_MS)
    # The page is titled and headed by the product's name, once its part brings it.
    await expect(page.locator("#main h1")).to_have_text("Boilwell Steel Kettle")
    await expect(page).to_have_title("Boilwell Steel Kettle · ProductOps")
    await shot(page, "product")


async def test_a_critical_review_shows_up_live_without_a_reload(
    context: BrowserContext, stack: RunningStack, store: dict[str, Any]
) -> None:
    page = await signed_in(context, stack, stack.admin_key, "/dashboard")
    critical = page.locator("#part #c-critical + *")
    await expect(critical).to_be_visible(timeout=SHOWN_MS)
    await expect(critical).not_to_contain_text("Boilwell Steel Kettle")
    await page.evaluate("window.notReloaded = true")

    review = {
        "event_id": "review-dashboard-burn",
        "kind": "review",
        "occurred_at": datetime.now(UTC).isoformat(),
        "product_id": store["kettle"]["id"],
        "customer_ref": "customer-1",
        "rating": 1,
        "text": BURN,
    }
    await store["storefront"].call(
        "POST", "/v1/customer-events", json={"events": [review]}, expect=202
    )

    await expect(page.locator("#critical-list")).to_contain_text(
        "Boilwell Steel Kettle", timeout=WAIT_S * 1000
    )
    assert await page.evaluate("window.notReloaded") is True
    await shot(page, "critical-live")


async def test_a_price_is_approved_by_a_second_person_not_by_its_proposer(
    context: BrowserContext, browser: Browser, stack: RunningStack, store: dict[str, Any]
) -> None:
    price_id = store["price"]["id"]
    proposer = await signed_in(context, stack, stack.admin_key, "/dashboard/pricing")
    row = proposer.locator(f"#price-{price_id}")
    await expect(row).to_be_visible(timeout=SHOWN_MS)

    # A long page: the row is far below the top of the page.
    await proposer.evaluate(
        """() => {
            const spacer = document.createElement("div");
            spacer.style.height = "4000px";
            document.querySelector("#part").before(spacer);
        }"""
    )

    # Four eyes: the proposer's own approval is refused, in the service's words, beside the
    # button that was pressed (in view), until the person dismisses it.
    approve = row.get_by_role("button", name="Approve")
    await approve.click()
    refusal = row.get_by_role("alert")
    await expect(refusal).to_be_visible(timeout=SHOWN_MS)
    await expect(refusal).to_be_in_viewport()
    await expect(row).to_be_visible()
    await shot(proposer, "pricing-four-eyes")
    await refusal.get_by_role("button", name="Dismiss this message").click()
    await expect(refusal).to_have_count(0)
    await expect(approve).to_be_focused()

    second = await browser.new_context(viewport=DESKTOP)
    try:
        page = await signed_in(second, stack, store["boss"].api_key, "/dashboard/pricing")
        row = page.locator(f"#price-{price_id}")
        await expect(row).to_be_visible(timeout=SHOWN_MS)
        await row.get_by_role("button", name="Approve").click()
        await expect(page.locator("#flash.ok")).to_have_text("Price approved.", timeout=SHOWN_MS)
        await expect(row).to_be_hidden(timeout=SHOWN_MS)
        await shot(page, "pricing-approved")
    finally:
        await second.close()
    approved = await store["admin"].call("GET", f"/v1/pricing/prices/{price_id}")
    assert approved["status"] in ("approved", "published")
    assert approved["decided_by"]["name"] == "boss"


async def test_a_dead_letter_is_replayed_and_discarded_from_the_page(
    context: BrowserContext, stack: RunningStack
) -> None:
    # A product event without its data: pricing cannot read it and dead-letters it at once.
    event_id = await poison_catalog_event(stack.bootstrap)
    page = await signed_in(context, stack, stack.admin_key, "/dashboard/dead-letters")
    letter = page.locator("#part tbody tr", has_text="pricing").filter(has_text=event_id[:8])
    # No domain event announces a dead letter: the page shows it on its next poll.
    await expect(letter).to_have_count(1, timeout=WAIT_S * 1000)
    await expect(letter).to_contain_text("catalog.product.created.v1")
    await shot(page, "dead-letters")

    # Replaying runs the handler again: the event is still unreadable, and the page says so
    # in the service's words; the letter stays open with the new error.
    await letter.get_by_role("button", name="Replay").click()
    await expect(letter.get_by_role("alert")).to_contain_text("the replay failed", timeout=SHOWN_MS)
    await expect(letter).to_have_count(1)
    await shot(page, "dead-letter-replay-failed")

    # Discarding closes it for good, with the reason kept.
    await letter.get_by_label("Reason").fill("a damaged copy; the catalog sent it again")
    await letter.get_by_role("button", name="Discard").click()
    await expect(page.locator("#flash.ok")).to_have_text("Discarded.", timeout=SHOWN_MS)
    await expect(letter).to_have_count(0, timeout=SHOWN_MS)
    await shot(page, "dead-letter-discarded")


async def test_an_ended_session_sends_the_person_back_to_sign_in(
    context: BrowserContext, stack: RunningStack, store: dict[str, Any]
) -> None:
    page = await signed_in(context, stack, stack.admin_key, "/dashboard/launches")
    await expect(page.locator("#part .plan")).to_be_visible(timeout=SHOWN_MS)

    # The gateway no longer accepts the tab's token (as after a restart with a new secret).
    await page.evaluate(
        """() => {
            const saved = JSON.parse(sessionStorage.getItem("productops.session"));
            saved.token = "no.longer.valid";
            sessionStorage.setItem("productops.session", JSON.stringify(saved));
        }"""
    )
    await page.click("a[href='/dashboard/feedback']")

    await expect(page.locator("#sign-in-message")).to_have_text(
        "Your session has ended; sign in again.", timeout=SHOWN_MS
    )
    await expect(page.locator("#main")).to_be_hidden()
    await shot(page, "session-ended")


async def test_typing_survives_a_live_refresh_which_waits_until_the_form_is_left(
    context: BrowserContext, stack: RunningStack, store: dict[str, Any]
) -> None:
    page = await signed_in(context, stack, stack.admin_key, "/dashboard/launches")
    plan = page.locator("#part .plan", has_text="Boilwell Steel Kettle")
    await expect(plan).to_be_visible(timeout=SHOWN_MS)
    # Marks this rendering of the plan: a refresh replaces it with one without the mark.
    await plan.evaluate("element => { element.dataset.rendering = 'before'; }")
    evidence = plan.get_by_role("textbox", name=re.compile("^Evidence")).first
    await evidence.click()
    await evidence.press_sequentially("checked the manual with")

    # A domain event: the page would fetch its part again.
    await store["admin"].call(
        "POST",
        "/v1/catalog/products",
        json={
            "sku": "KT-DASH-LIVE",
            "name": "Boilwell Live Kettle",
            "product_type": "kettle",
            "brand": "Boilwell",
            "attributes": {"capacity_l": 1.5},
        },
        expect=201,
    )

    waiting = page.locator("#waiting")
    await expect(waiting).to_contain_text("Updates waiting", timeout=WAIT_S * 1000)
    await expect(evidence).to_be_focused()
    await expect(evidence).to_have_value("checked the manual with")
    await expect(page.locator("[data-rendering='before']")).to_have_count(1)
    await shot(page, "launches-update-waiting")

    # Cleared, and then left: the waiting update shows.
    await evidence.fill("")
    await expect(waiting).to_contain_text("Updates waiting")
    await page.locator("#main h1").click()
    await expect(waiting).to_have_text("", timeout=SHOWN_MS)
    await expect(page.locator("[data-rendering='before']")).to_have_count(0, timeout=SHOWN_MS)
    await expect(plan).to_be_visible()


@pytest.mark.parametrize("where", ["launches", "product"])
async def test_a_launch_never_makes_the_page_scroll_sideways_on_a_phone(
    context: BrowserContext, stack: RunningStack, store: dict[str, Any], where: str
) -> None:
    path = {
        "launches": "/dashboard/launches",
        "product": "/dashboard/products/" + store["kettle"]["id"],
    }[where]
    page = await signed_in(context, stack, stack.admin_key, path)
    await page.set_viewport_size(PHONE)
    await expect(page.locator("#part .gates").first).to_be_visible(timeout=SHOWN_MS)

    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (
        f"the {where} page scrolls sideways on a phone: {width}px, past its edge: "
        + str(await page.evaluate(PAST_THE_EDGE, PHONE["width"]))
    )
    await shot(page, f"{where}-phone")


async def test_long_unbroken_words_wrap_and_keep_the_decision_buttons_on_screen(
    context: BrowserContext, stack: RunningStack, store: dict[str, Any]
) -> None:
    admin = store["admin"]
    word = "Superlongkettlename" + "x" * 131
    product = await admin.call(
        "POST",
        "/v1/catalog/products",
        json={
            "sku": "KT-DASH-LONG",
            "name": f"Boilwell {word}",
            "product_type": "kettle",
            "brand": "Boilwell",
            "attributes": {"capacity_l": 1.2},
            "cost": {"amount": "18.00", "currency": "EUR"},
        },
        expect=201,
    )

    async def proposed() -> bool:
        response = await admin.http.post(
            "/v1/pricing/prices",
            headers=admin.headers,
            json={
                "product_id": product["id"],
                "price_list": PRICE_LIST,
                "amount": "44.90",
                "reason": "because" + "y" * 293,
            },
        )
        assert response.status_code in (201, 422), response.text
        return response.status_code == 201

    await eventually(proposed, timeout_s=WAIT_S)
    page = await signed_in(context, stack, stack.admin_key, "/dashboard/pricing")
    row = page.locator("#part tbody tr", has_text=word)
    await expect(row).to_be_visible(timeout=SHOWN_MS)

    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= DESKTOP["width"], f"the pricing page scrolls sideways: {width}px"
    # The action column stays within the page's width: no sideways scroll to reach it.
    for name in ("Approve", "Reject"):
        box = await row.get_by_role("button", name=name).bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= DESKTOP["width"], f"{name} is off-screen: {box}"
    await shot(page, "pricing-long-words")
