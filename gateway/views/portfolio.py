"""`GET /v1/reports/portfolio`: the portfolio review of a month or quarter for leadership.

Pricing gives the period's sales less returns per product and per account, and each plan
against its actuals (`GET /v1/reports/sales`); the catalog each product's name, type and
lifecycle; feedback the critical defect findings. Every call is optional: a section whose
service failed or was slow is null and named, with that service, in `missing`. The calls
start at once and share the view's budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field

from gateway.dashboard.charts import Chart, grouped
from gateway.upstream import Failure, ServiceCalls, Trouble
from gateway.views import portfolio_rules as rules
from gateway.views.sections import Missing, Section, if_allowed, items_of, section_of
from shared.auth import Principal
from shared.money import format_amount
from shared.periods import Period

# The best sellers, and the planned products, whose catalog entry is looked up (one call
# each): enough for a review, bounded so one report cannot fan out without limit. The rest
# count as "unknown" type.
CATALOG_LOOKUPS = 100
# Critical defect findings read from feedback: one page.
FINDINGS_LIMIT = 200
SECTIONS = (
    "revenue_by_product_type",
    "revenue_by_account",
    "plan_vs_actual",
    "margin_drains",
    "quality",
    "discontinue",
)
# What each section is made from.
NEEDS: dict[str, tuple[str, ...]] = {
    "revenue_by_product_type": ("pricing", "catalog"),
    "revenue_by_account": ("pricing",),
    "plan_vs_actual": ("pricing",),
    "margin_drains": ("pricing",),
    "quality": ("pricing", "feedback"),
    "discontinue": ("pricing", "feedback"),
}
UNKNOWN_TYPE = "unknown"
# Columns a chart draws at most: beyond that the labels are unreadable (the tables list all).
CHART_COLUMNS = 12


class GroupOut(BaseModel):
    key: str = Field(description="the product type, or the account")
    currency: str
    units: int
    revenue: str
    margin: str | None


class ProductOut(BaseModel):
    product_id: str
    name: str | None
    product_type: str | None
    currency: str
    units_sold: int
    units_returned: int
    revenue: str
    margin: str | None
    target_margin: str | None = Field(description="the plan's margin for the period, if any")
    margin_shortfall: str | None = Field(
        description="target margin (0 without a plan) minus margin"
    )
    return_rate_pct: str | None
    critical_defects: int | None = Field(description="critical defect reports (feedback)")
    critical_defect_rate_pct: str | None = Field(description="per 100 units sold")


class FindingOut(BaseModel):
    reason: rules.Reason
    detail: str


class CandidateOut(BaseModel):
    product: ProductOut
    reasons: list[FindingOut]


class PlanOut(BaseModel):
    plan_id: str
    kind: str
    subject: str
    name: str | None = Field(description="the product's name for a product plan")
    currency: str
    target: dict[str, Any]
    actual: dict[str, Any]
    variance: dict[str, Any]


class PortfolioReport(BaseModel):
    """The review's sections; a section is null when a service it is made from failed, did
    not answer in time, or refused the caller: `missing` names the services per section."""

    period: str
    generated_at: datetime
    revenue_by_product_type: list[GroupOut] | None
    revenue_by_account: list[GroupOut] | None
    plan_vs_actual: list[PlanOut] | None
    margin_drains: list[ProductOut] | None = Field(
        description="products that cost the most margin: below zero or below their plan"
    )
    quality: list[ProductOut] | None = Field(
        description=f"return rate of {rules.HIGH_RETURN_RATE_PCT}% or more, or critical defects"
    )
    discontinue: list[CandidateOut] | None = Field(
        description="candidates to discontinue: sold below cost, or two reasons against"
    )
    truncated: bool = Field(description="pricing listed only its best sellers")
    missing: dict[str, list[str]] = Field(description="section -> the services it lacks")
    degraded: list[str] = Field(description="services that failed or did not answer in time")
    forbidden: list[str] = Field(description="services that refused the caller")


async def portfolio_report(
    *, calls: ServiceCalls, caller: Principal, period: Period, now: datetime
) -> PortfolioReport:
    """Ask pricing and feedback at once, then the catalog about the best sellers."""
    sales, defects = await asyncio.gather(
        if_allowed(caller, "pricing:read", "pricing", lambda: _sales(calls, period)),
        if_allowed(caller, "feedback:read", "feedback", lambda: _defects(calls, period)),
    )
    product_ids = _looked_up(sales.value) if sales.value else []
    catalog = await if_allowed(
        caller, "catalog:read", "catalog", lambda: _products(calls, product_ids)
    )
    sections = {s.service: s for s in (sales, defects, catalog)}
    lacking = {
        name: sorted(s for s in needs if sections[s].missing is not None)
        for name, needs in NEEDS.items()
    }
    report: dict[str, Any] = dict.fromkeys(SECTIONS)
    if sales.value is not None:
        report |= _sections(sales.value, catalog.value, defects.value)
    for name, services in lacking.items():
        if services:
            report[name] = None
    return PortfolioReport(
        period=period.text,
        generated_at=now,
        **report,
        truncated=bool(sales.value and sales.value.get("truncated")),
        missing={name: services for name, services in lacking.items() if services},
        degraded=_named(sections.values(), Missing.DEGRADED),
        forbidden=_named(sections.values(), Missing.FORBIDDEN),
    )


def _looked_up(sales: dict[str, Any]) -> list[str]:
    """The products whose catalog entry the report shows: the best sellers, then the
    products with a plan for the period (named in `plan_vs_actual` whether they sold or
    not), at most CATALOG_LOOKUPS of each."""
    sellers = [row["key"] for row in sales["products"]][:CATALOG_LOOKUPS]
    planned = [p["subject"] for p in sales["plans"] if p["kind"] == "product"][:CATALOG_LOOKUPS]
    return list(dict.fromkeys([*sellers, *planned]))


def _named(sections: Any, why: Missing) -> list[str]:
    return sorted({s.service for s in sections if s.missing is why})


async def _sales(calls: ServiceCalls, period: Period) -> Section:
    outcome = await calls.get("pricing", "/v1/reports/sales", params={"period": period.text})
    return section_of(outcome, _checked_sales)


def _checked_sales(body: Any) -> dict[str, Any]:
    for name in ("products", "accounts", "plans"):
        if not isinstance(body[name], list):
            raise TypeError(f"{name} is not a list")
    return dict(body)


async def _defects(calls: ServiceCalls, period: Period) -> Section:
    """Critical defect reports per product: the items of critical defect findings still
    open, or seen during the period."""
    outcome = await calls.get(
        "feedback",
        "/v1/findings",
        params={"kind": "defect", "severity": "critical", "limit": FINDINGS_LIMIT},
    )

    def counted(body: Any) -> dict[str, int]:
        found: dict[str, int] = {}
        for finding in items_of(body):
            seen = datetime.fromisoformat(finding["last_seen"])
            if finding["status"] != "resolved" or period.start <= seen < period.end:
                found[finding["product_id"]] = found.get(finding["product_id"], 0) + int(
                    finding["item_count"]
                )
        return found

    return section_of(outcome, counted)


async def _products(calls: ServiceCalls, product_ids: Sequence[str]) -> Section:
    """Each product's catalog entry; one gone from the catalog is left out."""
    outcomes = await asyncio.gather(
        *(calls.get("catalog", f"/v1/products/{quote(pid, safe='')}") for pid in product_ids)
    )
    found: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        if isinstance(outcome, Failure):
            if outcome.trouble is Trouble.NOT_FOUND:
                continue
            return section_of(outcome)
        found[outcome.body["id"]] = outcome.body
    return Section("catalog", found)


def _money(value: Decimal | None, currency: str) -> str | None:
    return None if value is None else format_amount(value, currency)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _facts(
    sales: dict[str, Any],
    catalog: dict[str, dict[str, Any]] | None,
    defects: dict[str, int] | None,
) -> list[rules.ProductFacts]:
    targets = {
        (p["subject"], p["currency"]): p["target"] for p in sales["plans"] if p["kind"] == "product"
    }
    facts = []
    for row in sales["products"]:
        if row["currency"] is None:
            continue  # returns with no earlier sale: units only, no money to review
        entry = (catalog or {}).get(row["key"], {})
        target = targets.get((row["key"], row["currency"]))
        facts.append(
            rules.ProductFacts(
                product_id=row["key"],
                currency=row["currency"],
                units_sold=int(row["units_sold"]),
                units_returned=int(row["units_returned"]),
                revenue=Decimal(row["revenue"]),
                margin=_decimal(row["margin"]),
                name=entry.get("name"),
                product_type=entry.get("product_type"),
                lifecycle=entry.get("lifecycle"),
                target_units=None if target is None else int(target["units"]),
                target_margin=None if target is None else _decimal(target["margin"]),
                critical_defects=None if defects is None else defects.get(row["key"], 0),
            )
        )
    return facts


def product_out(facts: rules.ProductFacts) -> ProductOut:
    currency = facts.currency

    def pct(value: Decimal | None) -> str | None:
        return None if value is None else f"{value.normalize():f}"

    return ProductOut(
        product_id=facts.product_id,
        name=facts.name,
        product_type=facts.product_type,
        currency=currency,
        units_sold=facts.units_sold,
        units_returned=facts.units_returned,
        revenue=format_amount(facts.revenue, currency),
        margin=_money(facts.margin, currency),
        target_margin=_money(facts.target_margin, currency),
        margin_shortfall=_money(facts.margin_shortfall, currency),
        return_rate_pct=pct(facts.return_rate_pct),
        critical_defects=facts.critical_defects,
        critical_defect_rate_pct=pct(facts.critical_defect_rate_pct),
    )


def _group_out(group: rules.Group) -> GroupOut:
    return GroupOut(
        key=group.key,
        currency=group.currency,
        units=group.units,
        revenue=format_amount(group.revenue, group.currency),
        margin=_money(group.margin, group.currency),
    )


def _sections(
    sales: dict[str, Any],
    catalog: dict[str, dict[str, Any]] | None,
    defects: dict[str, int] | None,
) -> dict[str, Any]:
    facts = _facts(sales, catalog, defects)
    by_type = rules.by_key(
        [(f.product_type or UNKNOWN_TYPE, f.currency, f.units, f.revenue, f.margin) for f in facts]
    )
    by_account = rules.by_key(
        [
            (r["key"], r["currency"], r["units"], Decimal(r["revenue"]), _decimal(r["margin"]))
            for r in sales["accounts"]
            if r["currency"] is not None
        ]
    )
    names = {pid: entry.get("name") for pid, entry in (catalog or {}).items()}
    return {
        "revenue_by_product_type": [_group_out(g) for g in by_type],
        "revenue_by_account": [_group_out(g) for g in by_account],
        "plan_vs_actual": [
            PlanOut(
                plan_id=p["plan_id"],
                kind=p["kind"],
                subject=p["subject"],
                name=names.get(p["subject"]) if p["kind"] == "product" else None,
                currency=p["currency"],
                target=p["target"],
                actual=p["actual"],
                variance=p["variance"],
            )
            for p in sales["plans"]
        ],
        "margin_drains": [product_out(f) for f in rules.margin_drains(facts)],
        "quality": [product_out(f) for f in rules.quality_flags(facts)],
        "discontinue": [
            CandidateOut(
                product=product_out(c.facts),
                reasons=[FindingOut(reason=f.reason, detail=f.detail) for f in c.findings],
            )
            for c in rules.discontinue_candidates(facts)
        ],
    }


# --- the HTML page's charts ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReportCharts:
    """The report's charts in one currency (the one with the most revenue): a chart cannot
    add euros to dollars. Values are whole currency units."""

    currency: str
    by_type: Chart
    by_account: Chart
    plans: Chart


def _whole(value: str | None) -> int:
    return 0 if value is None else int(Decimal(value).to_integral_value())


def report_charts(report: PortfolioReport) -> ReportCharts:
    groups = [*(report.revenue_by_product_type or []), *(report.revenue_by_account or [])]
    totals: dict[str, Decimal] = {}
    for group in groups:
        totals[group.currency] = totals.get(group.currency, Decimal(0)) + Decimal(group.revenue)
    currency = max(sorted(totals), key=lambda c: totals[c], default="EUR")

    def pairs(rows: list[GroupOut] | None) -> Chart:
        return grouped(
            [
                (g.key, {"revenue": _whole(g.revenue), "margin": _whole(g.margin)})
                for g in rows or []
                if g.currency == currency
            ][:CHART_COLUMNS],
            ["revenue", "margin"],
        )

    plans = [
        (
            p.name or p.subject,
            {"target": _whole(p.target["revenue"]), "actual": _whole(p.actual["revenue"])},
        )
        for p in report.plan_vs_actual or []
        if p.currency == currency
    ][:CHART_COLUMNS]
    return ReportCharts(
        currency,
        pairs(report.revenue_by_product_type),
        pairs(report.revenue_by_account),
        grouped(plans, ["target", "actual"]),
    )
