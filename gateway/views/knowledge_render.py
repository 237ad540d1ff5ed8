"""The knowledge sheet and the training pack as documents: Markdown, or printable HTML.

Each section is first laid out once as blocks (paragraphs, fact lists, tables); the two
renderers only know blocks, so a section reads the same in both. Everything a service sent
is text to escape: Markdown escapes its markup characters (and `<`, since Markdown passes
HTML through), the HTML template autoescapes. The HTML page runs no script and loads
nothing: its one stylesheet is inline, allowed by its hash in the page's CSP.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.dashboard.render import PAGE_HEADERS, when, words
from gateway.views.knowledge import KnowledgeSheet, SectionState, SheetSection, TrainingPack
from shared.errors import NotAcceptable

HERE = Path(__file__).parent


# --- content negotiation -----------------------------------------------------------------------


class Format(StrEnum):
    JSON = "application/json"
    MARKDOWN = "text/markdown"
    HTML = "text/html"


# In order of preference when the client likes several equally (RFC 9110, 12.5.1).
_OFFERED = (Format.JSON, Format.MARKDOWN, Format.HTML)


def negotiate(accept: str | None) -> Format:
    """The format `Accept` prefers; JSON when it says nothing; 406 when none will do.

    Each format takes the quality of the most specific range that matches it, so
    `application/json;q=0, */*` refuses JSON and takes anything else.
    """
    if accept is None or not accept.strip():
        return Format.JSON
    ranges = [_range(entry) for entry in accept.split(",")]
    best: tuple[float, Format] | None = None
    for offered in _OFFERED:
        matching = [(media.count("*") * -1, q) for media, q in ranges if _matches(media, offered)]
        if not matching:
            continue
        quality = max(matching)[1]
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, offered)
    if best is None:
        raise NotAcceptable(
            f"cannot answer in {accept!r}; ask for one of {', '.join(_OFFERED)}",
            acceptable=list(_OFFERED),
        )
    return best[1]


def _range(entry: str) -> tuple[str, float]:
    """One media range of `Accept` and its quality (`q`, 1 unless given; 0 if unreadable)."""
    media, *params = (part.strip() for part in entry.split(";"))
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
    return media.lower(), quality


def _matches(media: str, offered: Format) -> bool:
    kind = offered.value.partition("/")[0]
    return media in ("*/*", f"{kind}/*", offered.value)


# --- blocks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Para:
    text: str
    kind: str = "para"


@dataclass(frozen=True)
class Heading:
    text: str
    kind: str = "heading"


@dataclass(frozen=True)
class Facts:
    rows: list[tuple[str, str]]
    kind: str = "facts"


@dataclass(frozen=True)
class Grid:
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    kind: str = "grid"


Block = Para | Heading | Facts | Grid


@dataclass(frozen=True)
class SectionView:
    """A section ready to render: its heading, the line under it, and its blocks."""

    key: str
    title: str
    status: str
    state: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class SheetView:
    anchor: str
    title: str
    subtitle: str
    sections: list[SectionView]


def text(value: Any) -> str:
    """A JSON value as a reader reads it."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(text(item) for item in value)
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            return f"{value['amount']} {value['currency']}"
        return ", ".join(f"{key}: {text(item)}" for key, item in value.items())
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
        return when(value)
    return str(value)


def _actor(value: Any) -> str:
    return str(value["name"]) if isinstance(value, Mapping) else text(value)


def _none(what: str) -> list[Block]:
    return [Para(what)]


def _attributes(data: Any) -> list[Block]:
    product = data["product"]
    completeness = product["completeness"]
    missing = f" (missing: {text(completeness['missing'])})" if completeness["missing"] else ""
    blocks: list[Block] = [
        Facts(
            [
                ("SKU", product["sku"]),
                ("Brand", product["brand"]),
                ("Vendor", text(product.get("vendor"))),
                ("Product type", product["product_type"]),
                ("Lifecycle", product["lifecycle"]),
                ("Completeness", f"{completeness['score']} %{missing}"),
                ("Description", text(product.get("description"))),
            ]
        ),
        Heading("Attributes"),
    ]
    attributes = product["attributes"]
    if attributes:
        blocks.append(Facts([(words(name), text(value)) for name, value in attributes.items()]))
    else:
        blocks.append(Para("No attributes recorded."))
    blocks.append(Heading("Variants"))
    variants = data["variants"]
    if not variants:
        blocks.append(Para("No variants."))
    else:
        blocks.append(
            Grid(
                ("SKU", "Axes", "Own attributes", "Lifecycle", "Completeness"),
                [
                    (
                        v["sku"],
                        text(v["axes"]),
                        text(v["attributes"]),
                        v["lifecycle"],
                        f"{v['completeness']['score']} %",
                    )
                    for v in variants
                ],
            )
        )
    return blocks


def _research(data: Any) -> list[Block]:
    if not data["criteria"]:
        return _none("No research criteria are defined for this product type yet.")
    standing = data["standing"]
    ours = data["product_standing"]
    facts = [("Brand", data["brand"])]
    if standing is None or standing["rank"] is None:
        facts.append(("Brand rank", "not ranked: no benchmark of this brand scores a criterion"))
    else:
        facts += [
            ("Brand rank", f"{standing['rank']} of {data['brands_ranked']}"),
            ("Brand score", f"{standing['score']} / 10"),
            ("Weight covered", f"{round(standing['coverage'] * 100)} %"),
            ("Benchmarks", str(standing["benchmark_count"])),
        ]
    if ours is not None and ours["score"] is not None:
        facts.append(
            ("This product", f"score {ours['score']} / 10, would rank {text(ours['rank'])}")
        )
    means = {c["name"]: c for c in standing["criteria"]} if standing else {}
    return [
        Facts(facts),
        Grid(
            ("Criterion", "Weight", "Brand mean", "Scored"),
            [
                (
                    words(c["name"]),
                    text(c["weight"]),
                    text(means[c["name"]]["mean"]) if c["name"] in means else "—",
                    str(means[c["name"]]["count"]) if c["name"] in means else "0",
                )
                for c in data["criteria"]
            ],
        ),
    ]


def _source(source: Mapping[str, Any]) -> str:
    return " — ".join(part for part in (source.get("text"), source.get("url")) if part)


def _case_studies(items: Any) -> list[Block]:
    if not items:
        return _none("No competitor case studies on this product type.")
    blocks: list[Block] = []
    for study in items:
        blocks += [
            Heading(f"{study['competitor']}: {study['competitor_product']}"),
            Facts(
                [
                    ("Does well", text(study["strengths"])),
                    ("Does badly", text(study["weaknesses"])),
                    ("Sources", "; ".join(_source(s) for s in study["sources"]) or "—"),
                    ("By", f"{_actor(study['author'])}, {text(study['updated_at'])}"),
                ]
            ),
        ]
    return blocks


def _questionnaires(items: Any) -> list[Block]:
    if not items:
        return _none("No vendor has answered a questionnaire about this product.")
    blocks: list[Block] = []
    for response in items:
        blocks += [
            Heading(
                f"{response['questionnaire_title']}: {response['vendor']} ({response['status']})"
            ),
            Grid(
                ("Question", "Answer", "Attribute now", "Differs"),
                [
                    (
                        a["question"],
                        text(a["answer"]) + (f" {a['unit']}" if a.get("unit") else ""),
                        text(a["current_value"]) if a["attribute"] else "—",
                        text(a["differs"]),
                    )
                    for a in response["answers"]
                ],
            ),
        ]
    return blocks


def _decision(data: Any) -> list[Block]:
    decision = data["decision"]
    blocks: list[Block] = []
    if decision is None:
        blocks.append(Para("No decision has been recorded."))
    else:
        blocks.append(
            Facts(
                [
                    ("Decision", decision["outcome"]),
                    ("Rationale", decision["rationale"]),
                    (
                        "Decided by",
                        f"{_actor(decision['decided_by'])}, {text(decision['decided_at'])}",
                    ),
                    (
                        "Cases then",
                        f"{decision['cases_for']} for, {decision['cases_against']} against",
                    ),
                ]
            )
        )
    blocks.append(Heading("Cases"))
    if not data["cases"]:
        blocks.append(Para("No cases for or against this product."))
    else:
        blocks.append(
            Grid(
                ("Stance", "Summary", "Evidence", "By"),
                [
                    (
                        case["stance"],
                        case["summary"],
                        "; ".join(e.get("title") or e["url"] for e in case["evidence"]) or "—",
                        f"{_actor(case['author'])}, {text(case['created_at'])}",
                    )
                    for case in data["cases"]
                ],
            )
        )
    return blocks


def _defects(items: Any) -> list[Block]:
    if not items:
        return _none("No known defects.")
    return [
        Grid(
            ("Defect", "Severity", "Status", "Reports", "Reported by", "Last seen", "Note"),
            [
                (
                    f["topic"],
                    f["severity"] + (" (safety hazard)" if f.get("safety_hazard") else ""),
                    words(f["status"]),
                    str(f["item_count"]),
                    ", ".join(f.get("sources") or ()) or "—",
                    text(f["last_seen"]),
                    text(f.get("status_note")),
                )
                for f in items
            ],
        )
    ]


def _questions(items: Any) -> list[Block]:
    if not items:
        return _none("No customer question has been answered yet.")
    return [
        Grid(
            ("Question", "Answer", "Answered"),
            [
                (q["question"], q["answer"], f"{q['answered_by']}, {text(q['answered_at'])}")
                for q in items
            ],
        )
    ]


def _prices(items: Any) -> list[Block]:
    if not items:
        return _none("No price is in effect on any price list.")
    return [
        Grid(
            ("Price list", "Kind", "Price", "Since", "Until", "Lowest of prior 30 days"),
            [
                (
                    p["price_list"],
                    p["kind"],
                    f"{p['amount']} {p['currency']}",
                    text(p["effective_from"]),
                    text(p["effective_to"]),
                    text(p.get("prior_price")),
                )
                for p in items
            ],
        )
    ]


def _launch(items: Any) -> list[Block]:
    if not items:
        return _none("No launch is planned.")
    return [
        Grid(
            ("Price list", "Target date", "Status", "Readiness", "Blocking", "Launched"),
            [
                (
                    plan["price_list"],
                    text(plan["target_date"]),
                    words(plan["status"]),
                    words(plan["readiness"]),
                    ", ".join(words(g) for g in plan["blocking"]) or "—",
                    text(plan.get("launched_at")),
                )
                for plan in items
            ],
        )
    ]


_LAYOUT: dict[str, Callable[[Any], list[Block]]] = {
    "attributes": _attributes,
    "research": _research,
    "case_studies": _case_studies,
    "questionnaires": _questionnaires,
    "decision": _decision,
    "defects": _defects,
    "questions": _questions,
    "prices": _prices,
    "launch": _launch,
}


def section_view(section: SheetSection) -> SectionView:
    match section.state:
        case SectionState.MISSING:
            status = (
                f"Missing: the {section.service} service failed or did not answer in time. "
                "Ask again later; this is not an empty section."
            )
            return SectionView(section.key, section.title, status, section.state)
        case SectionState.FORBIDDEN:
            status = f"Not shown: reading it needs the scope {section.scope}."
            return SectionView(section.key, section.title, status, section.state)
    changed = when(section.last_changed_at) if section.last_changed_at else "never"
    status = f"Last changed: {changed} (from {section.service})"
    return SectionView(
        section.key, section.title, status, section.state, _LAYOUT[section.key](section.data)
    )


def sheet_view(sheet: KnowledgeSheet) -> SheetView:
    return SheetView(
        anchor=f"product-{sheet.product_id}",
        title=f"{sheet.name} ({sheet.sku})",
        subtitle=f"{sheet.brand} · {sheet.product_type} · generated {when(sheet.generated_at)}",
        sections=[section_view(s) for s in sheet.sections],
    )


# --- Markdown ----------------------------------------------------------------------------------

_MARKUP = re.compile(r"([\\`*_{}\[\]<>#+!|~])")


def md(value: str) -> str:
    """Inline text safe in Markdown: one line, its markup characters escaped."""
    return _MARKUP.sub(r"\\\1", " ".join(value.split()))


def _md_blocks(blocks: Sequence[Block], level: int) -> Iterable[str]:
    for block in blocks:
        match block:
            case Para():
                yield md(block.text)
            case Heading():
                yield f"{'#' * level} {md(block.text)}"
            case Facts():
                yield "| | |\n| --- | --- |\n" + "\n".join(
                    f"| **{md(name)}** | {md(value)} |" for name, value in block.rows
                )
            case Grid():
                head = "| " + " | ".join(md(h) for h in block.headers) + " |"
                rule = "|" + " --- |" * len(block.headers)
                rows = ("| " + " | ".join(md(cell) for cell in row) + " |" for row in block.rows)
                yield "\n".join([head, rule, *rows])


def _md_sheet(view: SheetView, level: int) -> Iterable[str]:
    yield f"{'#' * level} {md(view.title)}"
    yield f"_{md(view.subtitle)}_"
    for section in view.sections:
        yield f"{'#' * (level + 1)} {md(section.title)}"
        yield f"_{md(section.status)}_"
        yield from _md_blocks(section.blocks, level + 2)


def sheet_markdown(sheet: KnowledgeSheet) -> str:
    return "\n\n".join(_md_sheet(sheet_view(sheet), 1)) + "\n"


def pack_markdown(pack: TrainingPack) -> str:
    views = [sheet_view(sheet) for sheet in pack.sheets]
    parts = [
        f"# Training pack: {md(pack.product_type_name)} ({md(pack.product_type)})",
        f"_{md(_pack_subtitle(pack))}_",
        "## Contents",
        "\n".join(f"{n}. [{md(v.title)}](#{v.anchor})" for n, v in enumerate(views, 1))
        or "No active products.",
    ]
    for view in views:
        # Markdown has no anchors of its own; renderers keep this one (ids are escaped).
        parts.append(f'<a id="{escape(view.anchor)}"></a>')
        parts.extend(_md_sheet(view, 2))
    return "\n\n".join(parts) + "\n"


def _pack_subtitle(pack: TrainingPack) -> str:
    count = len(pack.sheets)
    capped = (
        f" Capped: the type has more active products; this pack holds the first {pack.limit}."
        if pack.capped
        else ""
    )
    plural = "s" if count != 1 else ""
    return f"{count} active product{plural}, generated {when(pack.generated_at)}.{capped}"


# --- HTML --------------------------------------------------------------------------------------

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
STYLE = (HERE / "templates" / "knowledge.css").read_text(encoding="utf-8")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

# As the dashboard's pages, but stricter: a document to read and print runs no script and
# loads nothing; its inline stylesheet is allowed by hash alone.
DOCUMENT_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src data:; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


def sheet_html(sheet: KnowledgeSheet) -> str:
    view = sheet_view(sheet)
    return _env.get_template("knowledge.html").render(
        title=view.title, subtitle=None, contents=None, sheets=[view], style=STYLE, level=1
    )


def pack_html(pack: TrainingPack) -> str:
    views = [sheet_view(sheet) for sheet in pack.sheets]
    return _env.get_template("knowledge.html").render(
        title=f"Training pack: {pack.product_type_name} ({pack.product_type})",
        subtitle=_pack_subtitle(pack),
        contents=views,
        sheets=views,
        style=STYLE,
        level=2,
    )
