"""`GET /v1/products/{id}/knowledge-sheet` and `GET /v1/product-types/{code}/training-pack`
against the real catalog, feedback, launch and pricing processes, in JSON, Markdown and HTML."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.views import knowledge
from shared.settings import Settings
from tests.gateway.services import ServiceProcess
from tests.gateway.store import (
    PRICE_ANSWER,
    PRICE_QUESTION,
    KnowledgeStore,
    Services,
    catalog_call,
    knowledge_store,
)
from tests.gateway.upstream import refusing_port
from tests.support import assert_problem, auth, running

SERVICES = ["catalog", "feedback", "launch", "pricing"]
SCOPES = "catalog:read feedback:read pricing:read launch:read"
READ_ALL = auth(SCOPES)
MARKDOWN = {**READ_ALL, "Accept": "text/markdown"}
HTML = {**READ_ALL, "Accept": "text/html"}
SECTIONS = [
    "attributes",
    "research",
    "case_studies",
    "questionnaires",
    "decision",
    "defects",
    "questions",
    "prices",
    "launch",
]


@pytest.fixture(scope="module")
async def services(real_services: dict[str, ServiceProcess]) -> Services:
    return Services({name: service.url for name, service in real_services.items()})


@pytest.fixture(scope="module")
async def store(services: Services) -> KnowledgeStore:
    return await knowledge_store(services)


@pytest.fixture
async def gateway(view_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # A sheet asks the catalog eight things at once, a pack that per product: the shared
    # fixture's 10 s budget, as in a CI run of 2026-12-01 all twelve calls of one sheet
    # outlasted 3 s under load.
    async with running(create_app(view_settings, services=SERVICES)) as http:
        yield http


def sheet_of(product_id: str) -> str:
    return f"/v1/products/{product_id}/knowledge-sheet"


def pack_of(code: str) -> str:
    return f"/v1/product-types/{code}/training-pack"


def by_key(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {section["key"]: section for section in view["sections"]}


async def test_the_json_sheet_holds_every_section_with_its_last_change(
    gateway: httpx.AsyncClient, store: KnowledgeStore
) -> None:
    response = await gateway.get(sheet_of(store.kettle.id), headers=READ_ALL)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["vary"] == "Accept"
    view = response.json()
    assert (view["product_id"], view["sku"]) == (store.kettle.id, store.kettle.sku)
    sections = by_key(view)
    assert list(sections) == SECTIONS
    assert {s["state"] for s in sections.values()} == {"shown"}
    attributes = sections["attributes"]["data"]
    assert attributes["product"]["lifecycle"] == "active"
    assert [v["axes"] for v in attributes["variants"]] == [{"color": "black"}]
    assert sections["attributes"]["last_changed_at"] == attributes["product"]["updated_at"]
    research = sections["research"]["data"]
    assert research["standing"]["brand"] == "Acme"
    assert research["brands_ranked"] == 2
    assert [s["id"] for s in sections["case_studies"]["data"]] == [store.study_id]
    (answered,) = sections["questionnaires"]["data"]
    assert answered["vendor"] == "vendor-acme"
    assert sections["decision"]["data"]["decision"]["outcome"] == "adopt"
    assert [f["severity"] for f in sections["defects"]["data"]] == ["critical"]
    assert [p["amount"] for p in sections["prices"]["data"]] == ["29.99"]
    assert [p["readiness"] for p in sections["launch"]["data"]] == ["blocked"]
    (known,) = sections["questions"]["data"]
    assert (known["id"], known["question"]) == (store.answer_id, PRICE_QUESTION)
    assert sections["questions"]["last_changed_at"] == known["answered_at"]
    for key in SECTIONS:
        assert sections[key]["last_changed_at"] is not None, key
    assert (view["missing"], view["forbidden"]) == ([], [])


async def test_the_markdown_sheet_shows_every_section_escaped(
    gateway: httpx.AsyncClient, store: KnowledgeStore
) -> None:
    response = await gateway.get(sheet_of(store.kettle.id), headers=MARKDOWN)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    text = response.text
    assert text.startswith("# Kettle ")
    for heading in (
        "## Attributes and variants",
        "## Research standing of the brand",
        "## Competitor case studies",
        "## Questionnaire answers from the vendor",
        "## Cases and the decision",
        "## Known defects",
        "## Common questions and answers",
        "## Effective prices",
        "## Launch status",
    ):
        assert f"\n{heading}\n" in text, heading
    assert text.count("_Last changed: ") >= 8
    # Who reported each known defect: the critical review was a customer's.
    assert "| Reported by |" in text
    assert "| customer |" in text
    assert "| **Brand rank** | 2 of 2 |" in text
    # A competitor's words are text: its pipe cannot split a table, its tag is no markup.
    assert "### Kettlo: Kettlo Pro \\| 1.7 l" in text
    assert "\\<b\\>Lid hinge\\</b\\>" in text
    assert "| **Decision** | adopt |" in text
    assert "| critical" in text
    assert "29.99 EUR" in text
    assert "| blocked |" in text
    assert f"| {PRICE_QUESTION} | Yes: 10% from 25 units \\| ask sales. |" in text


async def test_the_html_sheet_is_a_printable_page_without_script(
    gateway: httpx.AsyncClient, store: KnowledgeStore
) -> None:
    response = await gateway.get(sheet_of(store.kettle.id), headers=HTML)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert "style-src 'sha256-" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    page = response.text
    assert "<script" not in page
    assert "@media print" in page
    for key in SECTIONS:
        assert f'data-section="{key}"' in page, key
    assert "&lt;b&gt;Lid hinge&lt;/b&gt;" in page
    assert "<h2>Known defects</h2>" in page


@pytest.mark.parametrize("hung", ["pricing", "feedback"])
async def test_a_hung_service_leaves_its_sections_marked_missing_not_empty(
    gateway: httpx.AsyncClient,
    store: KnowledgeStore,
    real_services: dict[str, ServiceProcess],
    hung: str,
) -> None:
    with real_services[hung].frozen():
        response = await gateway.get(sheet_of(store.kettle.id), headers=MARKDOWN)
        as_json = await gateway.get(sheet_of(store.kettle.id), headers=READ_ALL)

    assert response.status_code == 200, response.text
    missing = {
        "pricing": ["Effective prices"],
        "feedback": ["Known defects", "Common questions and answers"],
    }[hung]
    for title in missing:
        assert f"## {title}\n\n_Missing: the {hung} service failed or did not answer" in (
            response.text
        )
    view = as_json.json()
    assert view["missing"] == [hung]
    for section in view["sections"]:
        if section["service"] == hung:
            assert (section["state"], section["data"]) == ("missing", None)
        else:
            assert section["state"] == "shown", section["key"]


async def test_sections_the_caller_may_not_read_are_marked_forbidden(
    gateway: httpx.AsyncClient, store: KnowledgeStore
) -> None:
    headers = {**auth("catalog:read"), "Accept": "text/html"}

    response = await gateway.get(sheet_of(store.kettle.id), headers=headers)

    assert response.status_code == 200, response.text
    assert "Not shown: reading it needs the scope pricing:read." in response.text
    assert "Not shown: reading it needs the scope launch:read." in response.text
    assert 'class="forbidden" id="product-' in response.text
    view = (await gateway.get(sheet_of(store.kettle.id), headers=auth("catalog:read"))).json()
    assert view["forbidden"] == ["feedback", "launch", "pricing"]
    assert by_key(view)["case_studies"]["state"] == "shown"


async def test_the_html_sheet_shows_the_known_questions_and_answers(
    gateway: httpx.AsyncClient, store: KnowledgeStore
) -> None:
    response = await gateway.get(sheet_of(store.kettle.id), headers=HTML)

    page = response.text
    start = page.index('data-section="questions"')
    section = page[start : page.index("</section>", start)]
    assert "<h2>Common questions and answers</h2>" in section
    assert "Last changed: " in section
    assert f"<td>{PRICE_QUESTION}</td><td>{PRICE_ANSWER}</td>" in section


async def test_an_archived_case_study_leaves_the_sheet(
    gateway: httpx.AsyncClient, services: Services, store: KnowledgeStore
) -> None:
    code = store.product_type
    extra = await catalog_call(
        services,
        "POST",
        f"/v1/product-types/{code}/case-studies",
        json={"competitor": "Brewa", "competitor_product": "B1", "weaknesses": "Loud."},
    )
    shown = by_key((await gateway.get(sheet_of(store.kettle.id), headers=READ_ALL)).json())
    assert [s["competitor"] for s in shown["case_studies"]["data"]] == ["Kettlo", "Brewa"]

    await catalog_call(services, "POST", f"/v1/case-studies/{extra['id']}/archive", expect=200)

    shown = by_key((await gateway.get(sheet_of(store.kettle.id), headers=READ_ALL)).json())
    assert [s["competitor"] for s in shown["case_studies"]["data"]] == ["Kettlo"]


async def test_the_training_pack_holds_the_active_products_with_contents(
    gateway: httpx.AsyncClient, store: KnowledgeStore
) -> None:
    response = await gateway.get(pack_of(store.product_type), headers=READ_ALL)

    assert response.status_code == 200, response.text
    pack = response.json()
    assert pack["product_type"] == store.product_type
    assert pack["capped"] is False
    ids = [sheet["product_id"] for sheet in pack["sheets"]]
    assert ids == [store.kettle.id, store.other_active_id]
    assert store.draft_id not in ids

    markdown = await gateway.get(pack_of(store.product_type), headers=MARKDOWN)
    text = markdown.text
    assert text.startswith(f"# Training pack: Kettle ({store.product_type})")
    assert "## Contents" in text
    assert f"(#product-{store.kettle.id})" in text
    assert f"(#product-{store.other_active_id})" in text
    assert "2 active products" in text
    assert text.count("\n### Known defects\n") == 2

    html = await gateway.get(pack_of(store.product_type), headers=HTML)
    assert html.status_code == 200
    assert f'<a href="#product-{store.kettle.id}">' in html.text
    assert f'<article class="sheet" id="product-{store.other_active_id}">' in html.text
    assert "<script" not in html.text


async def test_a_pack_says_when_it_is_capped(
    gateway: httpx.AsyncClient, store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(knowledge, "PACK_LIMIT", 1)

    pack = (await gateway.get(pack_of(store.product_type), headers=READ_ALL)).json()
    text = (await gateway.get(pack_of(store.product_type), headers=MARKDOWN)).text

    assert (pack["capped"], pack["limit"], len(pack["sheets"])) == (True, 1, 1)
    assert "Capped: the type has more active products; this pack holds the first 1." in text


@pytest.mark.parametrize("path", [sheet_of("no-such-product"), pack_of("no-such-type")])
async def test_an_unknown_product_or_type_is_a_404_problem(
    gateway: httpx.AsyncClient, store: KnowledgeStore, path: str
) -> None:
    response = await gateway.get(path, headers=MARKDOWN)

    assert_problem(response, 404, detail_has="no-such-")


@pytest.mark.parametrize("accept", ["image/png", "text/markdown;q=0, application/xml"])
async def test_an_unsupported_accept_is_a_406_problem(
    gateway: httpx.AsyncClient, store: KnowledgeStore, accept: str
) -> None:
    for path in (sheet_of(store.kettle.id), pack_of(store.product_type)):
        response = await gateway.get(path, headers={**READ_ALL, "Accept": accept})

        body = assert_problem(response, 406, detail_has=accept)
        assert body["acceptable"] == ["application/json", "text/markdown", "text/html"]


async def test_a_browsers_accept_gets_html(
    gateway: httpx.AsyncClient, store: KnowledgeStore
) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

    response = await gateway.get(sheet_of(store.kettle.id), headers={**READ_ALL, "Accept": accept})

    assert response.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("path", [sheet_of("any-product"), pack_of("kettle")])
async def test_without_catalog_read_the_view_is_a_403_problem(
    gateway: httpx.AsyncClient, path: str
) -> None:
    response = await gateway.get(path, headers=auth("feedback:read pricing:read"))

    body = assert_problem(response, 403, detail_has="catalog:read")
    assert body["required_scope"] == "catalog:read"


@pytest.mark.parametrize(
    "path", [sheet_of("x" * 65), sheet_of("..hidden"), pack_of("a%20b"), pack_of("y" * 65)]
)
async def test_a_malformed_id_is_a_422_problem(gateway: httpx.AsyncClient, path: str) -> None:
    response = await gateway.get(path, headers=READ_ALL)

    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"][0] == "path"


@pytest.mark.parametrize("path", [sheet_of("any-product"), pack_of("kettle")])
async def test_the_views_need_a_token(gateway: httpx.AsyncClient, path: str) -> None:
    assert_problem(await gateway.get(path), 401)


async def test_a_hung_catalog_is_a_504_problem(
    gateway: httpx.AsyncClient, store: KnowledgeStore, real_services: dict[str, ServiceProcess]
) -> None:
    with real_services["catalog"].frozen():
        response = await gateway.get(sheet_of(store.kettle.id), headers=MARKDOWN)

    body = assert_problem(response, 504, detail_has="catalog")
    assert body["service"] == "catalog"


async def test_a_catalog_that_is_down_is_a_502_problem(
    make_settings: Callable[..., Settings], real_services: dict[str, ServiceProcess]
) -> None:
    async with refusing_port() as dead:
        settings = make_settings(
            catalog_port=dead,
            feedback_port=real_services["feedback"].port,
            launch_port=real_services["launch"].port,
            pricing_port=real_services["pricing"].port,
        )
        async with running(create_app(settings, services=SERVICES)) as gateway:
            response = await gateway.get(pack_of("kettle"), headers=HTML)

    body = assert_problem(response, 502, detail_has="catalog")
    assert body["service"] == "catalog"
