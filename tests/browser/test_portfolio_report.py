"""The portfolio review's page in a real browser (Debian's Chromium driven by Playwright):
the gateway, with the real catalog and pricing apps behind it, serves the page on a port;
Chromium opens it with a finance token, under the page's own Content-Security-Policy, and
it shows every section with its SVG charts, no script needed.

The screenshot goes to `var/test-artefacts/portfolio/` (kept by CI as an artefact).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from shared.settings import Settings
from tests.gateway.portfolio import LEADER, portfolio
from tests.gateway.upstream import serving
from tests.stack.helpers import ROOT
from tests.support import running

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("PRODUCTOPS_TEST_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = ROOT / "var" / "test-artefacts" / "portfolio"

if not Path(CHROMIUM).exists():
    # Under CI the browser must be there (.ci/run installs it): a skip would hide the test.
    if os.environ.get("CI") == "true":
        pytest.fail(f"no Chromium at {CHROMIUM}", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


async def test_the_portfolio_review_renders_in_chromium(
    make_settings: Callable[..., Settings],
) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    async with (
        portfolio(make_settings) as shop,
        running(shop.gateway),
        serving(shop.gateway) as port,
        async_playwright() as playwright,
    ):
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800},
                extra_http_headers={"Authorization": LEADER["Authorization"]},
            )
            errors: list[str] = []
            page = await context.new_page()
            # A blocked style sheet or image under the CSP would show up here.
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            response = await page.goto(
                f"http://127.0.0.1:{port}/v1/reports/portfolio?period=2030-03"
            )
            assert response is not None
            assert response.status == 200

            await expect(page.locator("h1")).to_contain_text("Portfolio review 2030-03")
            for heading in (
                "Revenue and margin by product type",
                "Revenue and margin by account",
                "Plan versus actual",
                "Products that cost the most margin",
                "High return or critical-defect rates",
                "Candidates to discontinue",
            ):
                await expect(page.get_by_role("heading", name=heading)).to_be_visible()
            await expect(page.locator("svg[role=img]")).to_have_count(3)
            candidates = page.locator("#discontinue article h3")
            await expect(candidates).to_have_count(2)
            await expect(candidates.first).to_contain_text("Alpha")
            # The dashboard's style sheet applied: the bars are filled, not the default black.
            fill = await page.locator("rect.bar.revenue").first.evaluate(
                "e => getComputedStyle(e).fill"
            )
            assert fill != "rgb(0, 0, 0)"
            await page.screenshot(path=str(ARTEFACTS / "portfolio-2030-03.png"), full_page=True)
            assert errors == []
        finally:
            await browser.close()
    assert (ARTEFACTS / "portfolio-2030-03.png").stat().st_size > 10_000
