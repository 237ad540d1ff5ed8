"""A product's HTML knowledge sheet in a real browser (Debian's Chromium driven by
Playwright), served by the gateway over HTTP in front of the real catalog, feedback, launch
and pricing processes: every section shows, the page's own CSP lets its inline stylesheet
apply and nothing else load or run, and it prints.

Screenshots (screen and print media) go to `var/test-artefacts/knowledge/`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from gateway.app import create_app
from shared.broker import EmbeddedBroker
from shared.settings import Settings
from tests.gateway.services import ServiceProcess, running_services
from tests.gateway.store import PRICE_QUESTION, KnowledgeStore, Services, knowledge_store
from tests.gateway.upstream import serving
from tests.stack.helpers import ROOT
from tests.support import auth

pytestmark = [pytest.mark.stack, pytest.mark.browser]

CHROMIUM = os.environ.get("PRODUCTOPS_TEST_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = ROOT / "var" / "test-artefacts" / "knowledge"
SERVICES = ["catalog", "feedback", "launch", "pricing"]
TITLES = [
    "Attributes and variants",
    "Research standing of the brand",
    "Competitor case studies",
    "Questionnaire answers from the vendor",
    "Cases and the decision",
    "Known defects",
    "Common questions and answers",
    "Effective prices",
    "Launch status",
]

if not Path(CHROMIUM).exists():
    # Under CI the browser must be there (.ci/run installs it): a skip would hide the test.
    if os.environ.get("CI") == "true":
        pytest.fail(f"no Chromium at {CHROMIUM}", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    with (
        EmbeddedBroker() as broker,
        running_services(
            SERVICES, data_dir=tmp_path_factory.mktemp("services"), bootstrap=broker.bootstrap
        ) as running,
    ):
        yield running


@pytest.fixture(scope="module")
async def store(services: dict[str, ServiceProcess]) -> KnowledgeStore:
    return await knowledge_store(Services({name: s.url for name, s in services.items()}))


@pytest.fixture
async def gateway_url(
    make_settings: Callable[..., Settings], services: dict[str, ServiceProcess]
) -> AsyncIterator[str]:
    ports = {f"{name}_port": service.port for name, service in services.items()}
    # A generous budget: the page is checked for its content, not for how it degrades
    # (tests/gateway/test_knowledge_sheet.py covers that).
    app = create_app(make_settings(**ports, view_budget_s=5), services=SERVICES)
    async with app.router.lifespan_context(app), serving(app) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def test_the_html_knowledge_sheet_renders_and_prints_in_chromium(
    browser: Browser, gateway_url: str, store: KnowledgeStore
) -> None:
    token = auth("catalog:read feedback:read pricing:read launch:read")
    context = await browser.new_context(
        viewport={"width": 1100, "height": 900}, extra_http_headers=token
    )
    page = await context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    response = await page.goto(f"{gateway_url}/v1/products/{store.kettle.id}/knowledge-sheet")

    assert response is not None
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    headings = await page.locator("section h2").all_inner_texts()
    assert headings == TITLES
    statuses = await page.locator("section .status").all_inner_texts()
    assert all(status.startswith("Last changed: ") for status in statuses), statuses
    questions = page.locator('section[data-section="questions"]')
    assert PRICE_QUESTION in await questions.inner_text()
    defects = page.locator('section[data-section="defects"] td').first
    assert await defects.inner_text()
    # The inline stylesheet applied (its hash is in the CSP), and the page asked for
    # nothing but itself and ran nothing the policy refused.
    border = await page.eval_on_selector("h2", "e => getComputedStyle(e).borderBottomStyle")
    assert border == "solid"
    assert requests == [page.url]
    assert not [text for text in refused if "Content Security Policy" in text], refused

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTEFACTS / "knowledge-sheet.png"), full_page=True)
    await page.emulate_media(media="print")
    assert await page.eval_on_selector("body", "e => getComputedStyle(e).maxWidth") == "none"
    await page.screenshot(path=str(ARTEFACTS / "knowledge-sheet-print.png"), full_page=True)
    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    (ARTEFACTS / "knowledge-sheet.pdf").write_bytes(pdf)
    await context.close()


async def test_the_training_pack_has_working_contents_in_chromium(
    browser: Browser, gateway_url: str, store: KnowledgeStore
) -> None:
    token = auth("catalog:read feedback:read pricing:read launch:read")
    context = await browser.new_context(
        viewport={"width": 1100, "height": 900}, extra_http_headers=token
    )
    page = await context.new_page()

    response = await page.goto(f"{gateway_url}/v1/product-types/{store.product_type}/training-pack")

    assert response is not None
    assert response.status == 200
    links = page.locator("nav li a")
    assert await links.count() == 2
    await links.nth(1).click()
    assert page.url.endswith(f"#product-{store.other_active_id}")
    second = page.locator(f"#product-{store.other_active_id}")
    assert await second.locator("section h3").count() == len(TITLES)
    await expect(second).to_be_in_viewport()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await page.goto(page.url.split("#")[0])
    await page.screenshot(path=str(ARTEFACTS / "training-pack.png"), full_page=True)
    await context.close()
