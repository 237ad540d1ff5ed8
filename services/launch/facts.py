"""The facts the automatic gates read, and the three automatic gates.

The service layer fills these plain records from catalog, pricing and feedback events (its
projections); the rules here never ask another service. Fields are the other services'
values as strings, so a value this module has no constant for is simply not counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum

from services.launch.gates import PASSED, GateResult, Reason, ReasonCode, result_of

QUOTE_IN_DETAIL = 120


class Lifecycle(StrEnum):
    """The catalog's product lifecycle."""

    DRAFT = "draft"
    INCOMING = "incoming"
    ACTIVE = "active"
    DISCONTINUED = "discontinued"


class Decision(StrEnum):
    """The catalog's adopt/reject/defer decision on a product."""

    ADOPT = "adopt"
    REJECT = "reject"
    DEFER = "defer"


class FindingStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


CRITICAL = "critical"
BASE_PRICE = "base"
# An approved price is part of pricing's schedule, so it counts before it is published.
SCHEDULED_PRICE_STATUSES = frozenset({"approved", "published"})
PROPOSED_PRICE = "proposed"


@dataclass(frozen=True)
class ProductFacts:
    """What the catalog said last about the product."""

    product_id: str
    lifecycle: str
    completeness: int
    missing: tuple[str, ...] = ()
    product_type: str | None = None
    decision: str | None = None


@dataclass(frozen=True)
class PriceFacts:
    """One of pricing's prices for the product, on any list."""

    price_id: str
    price_list: str
    kind: str
    status: str
    valid_from: datetime
    valid_to: datetime | None = None


@dataclass(frozen=True)
class FindingFacts:
    """One of feedback's findings about the product."""

    finding_id: str
    kind: str
    severity: str
    status: str
    item_count: int
    quote: str = ""


@dataclass(frozen=True)
class Facts:
    """Everything the projections know about one product; `product` None while unknown."""

    product: ProductFacts | None = None
    prices: tuple[PriceFacts, ...] = ()
    findings: tuple[FindingFacts, ...] = ()


def launch_moment(target_date: date) -> datetime:
    """When a plan's product goes live: the start of its target date, in UTC."""
    return datetime.combine(target_date, time.min, UTC)


def go_live(target_date: date, now: datetime) -> datetime:
    """When the product goes live if approved `now`: the start of the target date, or now
    once that has passed (approval then launches at once)."""
    return max(launch_moment(target_date), now)


def catalog_complete(product: ProductFacts | None, *, product_id: str) -> GateResult:
    """Passes for a complete product that is neither rejected nor discontinued."""
    if product is None:
        return result_of(
            pending=[
                Reason(
                    ReasonCode.PRODUCT_UNKNOWN,
                    product_id,
                    f"the catalog has not told launch about product {product_id} yet",
                )
            ]
        )
    failing: list[Reason] = []
    if product.lifecycle == Lifecycle.DISCONTINUED:
        failing.append(
            Reason(ReasonCode.PRODUCT_DISCONTINUED, product_id, "the product is discontinued")
        )
    if product.decision == Decision.REJECT:
        failing.append(
            Reason(
                ReasonCode.DECISION_REJECTED,
                product_id,
                "the product's current decision is reject, so it cannot become active",
            )
        )
    if product.completeness < 100:
        score = {"completeness": product.completeness}
        failing.extend(
            Reason(
                ReasonCode.MISSING_ATTRIBUTE,
                name,
                f"{name} is missing (completeness {product.completeness}%)",
                score,
            )
            for name in product.missing
        )
        if not product.missing:
            failing.append(
                Reason(
                    ReasonCode.INCOMPLETE,
                    product_id,
                    f"the product is {product.completeness}% complete",
                    score,
                )
            )
    return result_of(failing=failing)


def _covers(price: PriceFacts, moment: datetime) -> bool:
    return price.valid_from <= moment and (price.valid_to is None or moment < price.valid_to)


def price_approved(
    prices: Iterable[PriceFacts], *, price_list: str, target_date: date, now: datetime
) -> GateResult:
    """Passes when an approved or published base price on the list is in effect when the
    product goes live (`go_live`); otherwise fails, naming the list and why each candidate
    does not count."""
    # A price approved today takes effect when approved, never at midnight before it: a plan
    # launching today must count it (DESIGN.md loop 3 with an approval on the target date).
    moment = go_live(target_date, now)
    candidates = sorted(
        (p for p in prices if p.price_list == price_list and p.kind == BASE_PRICE),
        key=lambda p: (p.valid_from, p.price_id),
    )
    scheduled = [p for p in candidates if p.status in SCHEDULED_PRICE_STATUSES]
    if any(_covers(price, moment) for price in scheduled):
        return PASSED
    failing = [
        Reason(
            ReasonCode.NO_PRICE,
            price_list,
            f"price list {price_list} has no approved base price valid on {target_date}",
            {"price_list": price_list, "target_date": target_date},
        )
    ]
    failing.extend(
        Reason(
            ReasonCode.PRICE_NOT_APPROVED,
            price.price_id,
            f"price {price.price_id} is still proposed",
            {"status": price.status},
        )
        for price in candidates
        if price.status == PROPOSED_PRICE
    )
    failing.extend(
        Reason(
            ReasonCode.PRICE_NOT_VALID,
            price.price_id,
            f"price {price.price_id} is {price.status} but not valid on {target_date}",
            {"status": price.status, "valid_from": price.valid_from, "valid_to": price.valid_to},
        )
        for price in scheduled
    )
    return result_of(failing=failing)


def critical_findings(findings: Iterable[FindingFacts]) -> tuple[FindingFacts, ...]:
    """Critical findings not yet resolved: an acknowledged one is known, not fixed."""
    return tuple(
        finding
        for finding in findings
        if finding.severity == CRITICAL and finding.status != FindingStatus.RESOLVED
    )


def finding_data(finding: FindingFacts) -> dict[str, object]:
    """A finding's facts as a reason shows them."""
    return {
        "kind": finding.kind,
        "severity": finding.severity,
        "status": finding.status,
        "item_count": finding.item_count,
        "quote": finding.quote,
    }


def short_quote(quote: str) -> str:
    """A quote short enough for a one-line reason; the reason's data keeps it whole."""
    if len(quote) <= QUOTE_IN_DETAIL:
        return quote
    return quote[: QUOTE_IN_DETAIL - 3].rstrip() + "..."


def no_critical_defects(findings: Iterable[FindingFacts]) -> GateResult:
    """Fails while any critical finding of the product is unresolved, one reason each."""
    return result_of(
        failing=[
            Reason(
                ReasonCode.CRITICAL_FINDING,
                finding.finding_id,
                f"critical {finding.kind} finding {finding.finding_id} is {finding.status} "
                f"({finding.item_count} {'item' if finding.item_count == 1 else 'items'}): "
                f'"{short_quote(finding.quote)}"',
                finding_data(finding),
            )
            for finding in sorted(critical_findings(findings), key=lambda f: f.finding_id)
        ]
    )
