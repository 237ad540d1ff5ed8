"""The knowledge sheet's documents without any service: content negotiation, escaping, the
page's CSP, and how missing and forbidden sections read (worked examples)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.views.knowledge import KnowledgeSheet, SectionState, SheetSection, TrainingPack
from gateway.views.knowledge_render import (
    DOCUMENT_HEADERS,
    STYLE,
    Format,
    md,
    negotiate,
    pack_html,
    pack_markdown,
    sheet_html,
    sheet_markdown,
    text,
)
from shared.errors import NotAcceptable

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
ANSWER = {
    "id": "a1",
    "product_id": "p1",
    "question": "Is the lid <b>dishwasher</b> safe?",
    "answer": "Yes | top rack",
    "answered_by": "pm@example.com",
    "answered_at": "2026-11-28T10:00:00Z",
    "source_kind": "finding",
    "source_id": "f1",
}


def section(key: str, state: SectionState, data: Any = None, **extra: Any) -> SheetSection:
    fields = {"title": key.title(), "service": "feedback", "scope": "feedback:read"} | extra
    changed = datetime(2026, 11, 28, 10, tzinfo=UTC) if state is SectionState.SHOWN else None
    return SheetSection(key=key, state=state, last_changed_at=changed, data=data, **fields)


def sheet(*sections: SheetSection, product_id: str = "p1") -> KnowledgeSheet:
    return KnowledgeSheet(
        product_id=product_id,
        sku="KT-1",
        name="Steel kettle",
        product_type="kettle",
        brand="Acme",
        generated_at=NOW,
        sections=list(sections),
        missing=[],
        forbidden=[],
    )


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, Format.JSON),
        ("", Format.JSON),
        ("*/*", Format.JSON),
        ("application/json", Format.JSON),
        ("text/markdown", Format.MARKDOWN),
        ("TEXT/HTML", Format.HTML),
        ("text/*", Format.MARKDOWN),
        ("text/html, text/markdown;q=0.5", Format.HTML),
        ("text/markdown;q=0.4, text/html;q=0.9", Format.HTML),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", Format.HTML),
        ("application/json;q=0, */*", Format.MARKDOWN),
        ("*/*;q=0.1, text/markdown", Format.MARKDOWN),
    ],
)
def test_accept_picks_the_format(accept: str | None, chosen: Format) -> None:
    assert negotiate(accept) is chosen


@pytest.mark.parametrize("accept", ["image/png", "text/csv, application/xml", "text/html;q=0"])
def test_an_accept_nothing_offered_matches_is_not_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptable) as caught:
        negotiate(accept)

    assert caught.value.extra["acceptable"] == ["application/json", "text/markdown", "text/html"]


def test_markdown_text_is_one_line_with_its_markup_escaped() -> None:
    assert md("a | b\n<i>c</i> *d* [e](f) #g") == r"a \| b \<i\>c\</i\> \*d\* \[e\](f) \#g"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        ([], "—"),
        ({}, "—"),
        (True, "yes"),
        (["a", 2], "a, 2"),
        ({"amount": "9.99", "currency": "EUR"}, "9.99 EUR"),
        ({"color": "red"}, "color: red"),
        ("2026-11-28T10:00:00Z", "28 Nov 2026 10:00 UTC"),
        ("2026-12-04", "2026-12-04"),
    ],
)
def test_values_read_as_a_person_reads_them(value: Any, shown: str) -> None:
    assert text(value) == shown


def test_a_missing_section_names_its_service_and_a_forbidden_one_its_scope() -> None:
    made = sheet(
        section("defects", SectionState.MISSING),
        section("prices", SectionState.FORBIDDEN, service="pricing", scope="pricing:read"),
    )

    markdown = sheet_markdown(made)
    html = sheet_html(made)

    missing = "Missing: the feedback service failed or did not answer in time."
    forbidden = "Not shown: reading it needs the scope pricing:read."
    assert f"## Defects\n\n_{missing} Ask again later; this is not an empty section._" in (markdown)
    assert f"## Prices\n\n_{forbidden}_" in markdown
    assert missing in html
    assert '<section class="forbidden" id="product-p1-prices" data-section="prices">' in html
    assert "<table" not in html


def test_answers_are_escaped_in_both_documents() -> None:
    made = sheet(section("questions", SectionState.SHOWN, [ANSWER]))

    markdown = sheet_markdown(made)
    html = sheet_html(made)

    assert "_Last changed: 28 Nov 2026 10:00 UTC (from feedback)_" in markdown
    assert (
        r"| Is the lid \<b\>dishwasher\</b\> safe? | Yes \| top rack | "
        "pm@example.com, 28 Nov 2026 10:00 UTC |"
    ) in markdown
    assert "<td>Is the lid &lt;b&gt;dishwasher&lt;/b&gt; safe?</td>" in html


def test_an_empty_section_says_so_in_words() -> None:
    made = sheet(section("questions", SectionState.SHOWN, []))

    assert "No customer question has been answered yet." in sheet_markdown(made)


def test_the_page_runs_no_script_and_its_one_style_is_allowed_by_hash() -> None:
    html = sheet_html(sheet(section("questions", SectionState.SHOWN, [ANSWER])))

    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    policy = DOCUMENT_HEADERS["Content-Security-Policy"]
    assert f"style-src 'sha256-{digest}'" in policy
    assert "script-src" not in policy
    assert policy.startswith("default-src 'none'")
    assert f"<style>{STYLE}</style>" in html
    assert "<script" not in html
    assert " style=" not in html


def test_a_pack_has_contents_and_says_when_it_is_capped() -> None:
    pack = TrainingPack(
        product_type="kettle",
        product_type_name="Kettle",
        generated_at=NOW,
        limit=2,
        capped=True,
        sheets=[sheet(product_id="p1"), sheet(product_id="p2")],
    )

    markdown = pack_markdown(pack)
    html = pack_html(pack)

    assert markdown.startswith("# Training pack: Kettle (kettle)\n")
    assert "1. [Steel kettle (KT-1)](#product-p1)\n2. [Steel kettle (KT-1)](#product-p2)" in (
        markdown
    )
    assert "this pack holds the first 2." in markdown
    assert markdown.count("\n## Steel kettle (KT-1)\n") == 2
    assert '<li><a href="#product-p2">Steel kettle (KT-1)</a></li>' in html
    assert '<article class="sheet" id="product-p1">\n<h2>Steel kettle (KT-1)</h2>' in html


def test_a_pack_without_active_products_says_so() -> None:
    pack = TrainingPack(
        product_type="kettle",
        product_type_name="Kettle",
        generated_at=NOW,
        limit=10,
        capped=False,
        sheets=[],
    )

    assert "No active products." in pack_markdown(pack)
    assert "0 active products" in pack_markdown(pack)
    assert "<p>No active products.</p>" in pack_html(pack)
