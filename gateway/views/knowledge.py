"""`GET /v1/products/{id}/knowledge-sheet` and `GET /v1/product-types/{code}/training-pack`:
what stakeholders and trainees need to know about a product, from every service (issue 14,
part 2).

Composed like the overview (`overview.py`): the catalog's product is critical (404, 502,
504 are the view's), every section is optional. A section whose service fails or is slow is
`missing` with its service named; one the caller has no scope for is `forbidden`; neither is
ever shown as empty. Each section carries `last_changed_at`, the latest change among what
it shows. All of a sheet's calls start at once and share the view's budget; a training pack
asks for its products' sheets at once too, within one budget.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field

from gateway.upstream import Answer, Failure, Outcome, ServiceCalls, Trouble
from gateway.views.sections import Missing, Section, if_allowed, items_of, section_of
from shared.auth import Principal
from shared.errors import Forbidden, NotFound, UpstreamError, UpstreamTimeout

log = logging.getLogger(__name__)

# How many entries a list section shows: a sheet to read, not an export.
SECTION_LIMIT = 50
# How many products a training pack holds; it says so when a type has more.
PACK_LIMIT = 10
# The research section's last change counts the brand's benchmarks it shows, up to this.
BENCHMARK_LIMIT = 100


class SectionState(StrEnum):
    SHOWN = "shown"
    MISSING = "missing"  # its service failed or did not answer within the budget
    FORBIDDEN = "forbidden"  # the caller lacks the scope it needs


class SheetSection(BaseModel):
    key: str
    title: str
    service: str
    scope: str = Field(description="the scope a caller needs to see it")
    state: SectionState
    last_changed_at: datetime | None = Field(
        description="the latest change among what the section shows; null when it shows "
        "nothing or is not shown"
    )
    data: Any = Field(description="the services' answers the section is made of; null unless shown")


class KnowledgeSheet(BaseModel):
    """One product as a stakeholder or a trainee needs to know it, section by section."""

    product_id: str
    sku: str
    name: str
    product_type: str
    brand: str
    generated_at: datetime
    sections: list[SheetSection]
    missing: list[str] = Field(description="services whose sections are missing")
    forbidden: list[str] = Field(description="services whose sections the caller may not read")


class TrainingPack(BaseModel):
    """The knowledge sheets of a product type's active products, in one document."""

    product_type: str
    product_type_name: str
    generated_at: datetime
    limit: int = Field(description="the most products a pack holds")
    capped: bool = Field(description="true when the type has more active products than `limit`")
    sheets: list[KnowledgeSheet]


# --- the sections ------------------------------------------------------------------------------

Fetch = Callable[[ServiceCalls, Mapping[str, Any]], Awaitable[Section]]


@dataclass(frozen=True)
class Part:
    """One section of the sheet: where its data comes from and when it last changed."""

    key: str
    title: str
    service: str
    scope: str
    fetch: Fetch
    changed: Callable[[Any], datetime | None]


def _moments(values: Iterable[Any]) -> datetime | None:
    """The latest of the timestamps among `values` (RFC 3339 strings; others ignored)."""
    found = [datetime.fromisoformat(value) for value in values if isinstance(value, str) and value]
    return max(found, default=None)


def _latest(items: Iterable[Mapping[str, Any]], *fields: str) -> datetime | None:
    return _moments(item.get(field) for item in items for field in fields)


def _path(value: str) -> str:
    return quote(value, safe="")


async def _together(calls: ServiceCalls, service: str, asks: Mapping[str, Any]) -> Section:
    """Several calls to one service as one section: every body by name, or the first
    failure's reason."""
    outcomes: list[Outcome] = list(
        await asyncio.gather(
            *(calls.get(service, path, params=params) for path, params in asks.values())
        )
    )
    bodies: dict[str, Any] = {}
    for name, outcome in zip(asks, outcomes, strict=True):
        if isinstance(outcome, Failure):
            return section_of(outcome)
        bodies[name] = outcome.body
    return Section(service, bodies)


async def _attributes(calls: ServiceCalls, product: Mapping[str, Any]) -> Section:
    outcome = await calls.get(
        "catalog", f"/v1/products/{_path(product['id'])}/variants", params={"limit": SECTION_LIMIT}
    )
    return section_of(outcome, lambda body: {"product": product, "variants": items_of(body)})


async def _research(calls: ServiceCalls, product: Mapping[str, Any]) -> Section:
    code = _path(product["product_type"])
    bodies = await _together(
        calls,
        "catalog",
        {
            "ranking": (f"/v1/product-types/{code}/ranking", None),
            "criteria": (f"/v1/product-types/{code}/criteria", None),
            "benchmarks": (
                f"/v1/product-types/{code}/benchmarks",
                {"brand": product["brand"], "limit": BENCHMARK_LIMIT},
            ),
        },
    )
    if bodies.missing is not None:
        return bodies
    ranking, criteria, benchmarks = (
        bodies.value["ranking"],
        bodies.value["criteria"],
        bodies.value["benchmarks"],
    )
    brand = [b for b in ranking["brands"] if b["brand"] == product["brand"]]
    ours = [p for p in ranking["our_products"] if p["product_id"] == product["id"]]
    return Section(
        "catalog",
        {
            "brand": product["brand"],
            "brands_ranked": sum(1 for b in ranking["brands"] if b["rank"] is not None),
            "standing": brand[0] if brand else None,
            "product_standing": ours[0] if ours else None,
            "criteria": ranking["criteria"],
            "criteria_updated_at": criteria["updated_at"],
            "benchmarks": items_of(benchmarks),
        },
    )


def _research_changed(data: Any) -> datetime | None:
    return _moments([data["criteria_updated_at"], *(b["recorded_at"] for b in data["benchmarks"])])


def _listed(
    service: str,
    path: Callable[[Mapping[str, Any]], str],
    params: Callable[[Mapping[str, Any]], dict[str, str]] = lambda product: {},
) -> Fetch:
    """A section that is one list call to `service` about the product, its first page."""

    async def fetch(calls: ServiceCalls, product: Mapping[str, Any]) -> Section:
        outcome = await calls.get(
            service, path(product), params={"limit": SECTION_LIMIT, **params(product)}
        )
        return section_of(outcome, items_of)

    return fetch


_case_studies = _listed(
    "catalog", lambda p: f"/v1/product-types/{_path(p['product_type'])}/case-studies"
)
_questionnaires = _listed(
    "catalog", lambda p: f"/v1/products/{_path(p['id'])}/questionnaire-answers"
)
_defects = _listed(
    "feedback", lambda p: "/v1/findings", lambda p: {"product_id": p["id"], "kind": "defect"}
)
_questions = _listed("feedback", lambda p: f"/v1/products/{_path(p['id'])}/answers")
_prices = _listed("pricing", lambda p: f"/v1/products/{_path(p['id'])}/effective-prices")


async def _decision(calls: ServiceCalls, product: Mapping[str, Any]) -> Section:
    pid = _path(product["id"])
    bodies = await _together(
        calls,
        "catalog",
        {
            "cases": (f"/v1/products/{pid}/cases", {"limit": SECTION_LIMIT}),
            # The history is latest first: its first item is the current decision.
            "decisions": (f"/v1/products/{pid}/decisions", {"limit": 1}),
        },
    )
    if bodies.missing is not None:
        return bodies
    current = items_of(bodies.value["decisions"])
    return Section(
        "catalog",
        {"cases": items_of(bodies.value["cases"]), "decision": current[0] if current else None},
    )


def _decision_changed(data: Any) -> datetime | None:
    decided = [data["decision"]["decided_at"]] if data["decision"] else []
    return _moments([*decided, *(case["created_at"] for case in data["cases"])])


async def _launch(calls: ServiceCalls, product: Mapping[str, Any]) -> Section:
    outcome = await calls.get(
        "launch", "/v1/launches", params={"product_id": product["id"], "limit": SECTION_LIMIT}
    )
    return section_of(outcome, items_of)


PARTS = (
    Part(
        "attributes",
        "Attributes and variants",
        "catalog",
        "catalog:read",
        _attributes,
        lambda data: _latest([data["product"], *data["variants"]], "updated_at"),
    ),
    Part(
        "research",
        "Research standing of the brand",
        "catalog",
        "catalog:read",
        _research,
        _research_changed,
    ),
    Part(
        "case_studies",
        "Competitor case studies",
        "catalog",
        "catalog:read",
        _case_studies,
        lambda items: _latest(items, "updated_at"),
    ),
    Part(
        "questionnaires",
        "Questionnaire answers from the vendor",
        "catalog",
        "catalog:read",
        _questionnaires,
        lambda items: _latest(items, "updated_at"),
    ),
    Part(
        "decision",
        "Cases and the decision",
        "catalog",
        "catalog:read",
        _decision,
        _decision_changed,
    ),
    Part(
        "defects",
        "Known defects",
        "feedback",
        "feedback:read",
        _defects,
        lambda items: _latest(items, "updated_at"),
    ),
    Part(
        "questions",
        "Common questions and answers",
        "feedback",
        "feedback:read",
        _questions,
        lambda items: _latest(items, "answered_at"),
    ),
    Part(
        "prices",
        "Effective prices",
        "pricing",
        "pricing:read",
        _prices,
        lambda items: _latest(items, "effective_from"),
    ),
    Part(
        "launch",
        "Launch status",
        "launch",
        "launch:read",
        _launch,
        lambda items: _latest(items, "updated_at"),
    ),
)


# --- composing ---------------------------------------------------------------------------------


async def knowledge_sheet(
    *, calls: ServiceCalls, caller: Principal, product_id: str, now: datetime
) -> KnowledgeSheet:
    """The product (critical), then every section at once."""
    _need_catalog(caller)
    product = await _critical(calls, f"/v1/products/{_path(product_id)}")
    return await sheet_of(calls=calls, caller=caller, product=product, now=now)


async def sheet_of(
    *, calls: ServiceCalls, caller: Principal, product: Mapping[str, Any], now: datetime
) -> KnowledgeSheet:
    """The sheet of a product the catalog already gave."""
    sections = await asyncio.gather(
        *(
            if_allowed(caller, part.scope, part.service, _bound(part.fetch, calls, product))
            for part in PARTS
        )
    )
    shown = [_shown(part, section) for part, section in zip(PARTS, sections, strict=True)]
    return KnowledgeSheet(
        product_id=product["id"],
        sku=product["sku"],
        name=product["name"],
        product_type=product["product_type"],
        brand=product["brand"],
        generated_at=now,
        sections=shown,
        missing=sorted({s.service for s in shown if s.state is SectionState.MISSING}),
        forbidden=sorted({s.service for s in shown if s.state is SectionState.FORBIDDEN}),
    )


async def training_pack(
    *, calls: ServiceCalls, caller: Principal, code: str, now: datetime
) -> TrainingPack:
    """The type (critical), its first `PACK_LIMIT` active products, and their sheets."""
    _need_catalog(caller)
    kind = await _critical(calls, f"/v1/product-types/{_path(code)}")
    listed = await _critical(
        calls,
        "/v1/products",
        params={"product_type": code, "lifecycle": "active", "limit": PACK_LIMIT},
    )
    products = items_of(listed)
    sheets = await asyncio.gather(
        *(sheet_of(calls=calls, caller=caller, product=p, now=now) for p in products)
    )
    return TrainingPack(
        product_type=kind["code"],
        product_type_name=kind["name"],
        generated_at=now,
        limit=PACK_LIMIT,
        capped=listed.get("next_cursor") is not None,
        sheets=list(sheets),
    )


def _bound(
    fetch: Fetch, calls: ServiceCalls, product: Mapping[str, Any]
) -> Callable[[], Awaitable[Section]]:
    return lambda: fetch(calls, product)


def _shown(part: Part, section: Section) -> SheetSection:
    state = {
        None: SectionState.SHOWN,
        Missing.DEGRADED: SectionState.MISSING,
        Missing.FORBIDDEN: SectionState.FORBIDDEN,
    }[section.missing]
    changed = None
    if state is SectionState.SHOWN:
        try:
            changed = part.changed(section.value)
        except (KeyError, TypeError, ValueError):
            # A date this gateway cannot read is a body it cannot read: as good as no answer.
            log.warning("unreadable section", extra={"upstream": part.service, "part": part.key})
            state = SectionState.MISSING
    return SheetSection(
        key=part.key,
        title=part.title,
        service=part.service,
        scope=part.scope,
        state=state,
        last_changed_at=changed,
        data=section.value if state is SectionState.SHOWN else None,
    )


def _need_catalog(caller: Principal) -> None:
    # A sheet is about a catalog product: without the product there is nothing to head it.
    if not caller.has("catalog:read"):
        raise Forbidden("this view needs the scope catalog:read", required_scope="catalog:read")


async def _critical(
    calls: ServiceCalls, path: str, *, params: Mapping[str, str | int] | None = None
) -> Any:
    """A catalog answer the view cannot do without: its 404 is the view's, its failure a
    502 or 504."""
    outcome = await calls.get("catalog", path, params=params)
    if isinstance(outcome, Answer):
        return outcome.body
    match outcome.trouble:
        case Trouble.NOT_FOUND:
            raise NotFound(outcome.detail)
        case Trouble.FORBIDDEN:
            raise Forbidden(outcome.detail, required_scope="catalog:read")
        case Trouble.TIMEOUT:
            raise UpstreamTimeout(
                f"the catalog service did not answer within {calls.budget_s:g} s",
                service="catalog",
            )
        case _:
            raise UpstreamError(outcome.detail, service="catalog")
