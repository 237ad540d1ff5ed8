"""The portfolio review's rules, pure: which products cost the most margin, which have high
return or critical-defect rates, and which are candidates to discontinue, each with the
facts behind it. No I/O; the view (`portfolio.py`) gathers the facts from the services.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

# A product returning this share of what it sold (in percent) has a high return rate.
HIGH_RETURN_RATE_PCT = Decimal(15)
# Below this share of its plan (in percent) a product is well off its plan.
FAR_BELOW_PLAN_PCT = Decimal(50)
# How many products each ranked list shows.
TOP = 10
_CENT = Decimal("0.01")


class Reason(StrEnum):
    NEGATIVE_MARGIN = "negative_margin"
    MARGIN_FAR_BELOW_PLAN = "margin_far_below_plan"
    SALES_FAR_BELOW_PLAN = "sales_far_below_plan"
    HIGH_RETURN_RATE = "high_return_rate"
    CRITICAL_DEFECTS = "critical_defects"


@dataclass(frozen=True)
class ProductFacts:
    """One product's period in one currency: sales less returns (from pricing), its plan's
    targets for the period if it has one, and its critical defects (from feedback)."""

    product_id: str
    currency: str
    units_sold: int
    units_returned: int
    revenue: Decimal
    margin: Decimal | None
    name: str | None = None
    product_type: str | None = None
    lifecycle: str | None = None
    target_units: int | None = None
    target_margin: Decimal | None = None
    # Items of critical defect findings open or seen in the period; None: feedback unknown.
    critical_defects: int | None = None

    @property
    def units(self) -> int:
        return self.units_sold - self.units_returned

    @property
    def return_rate_pct(self) -> Decimal | None:
        """Returned units per 100 sold; None when none sold."""
        if self.units_sold == 0:
            return None
        return (Decimal(self.units_returned) * 100 / self.units_sold).quantize(_CENT)

    @property
    def critical_defect_rate_pct(self) -> Decimal | None:
        """Critical defect reports per 100 units sold; None when unknown or none sold."""
        if self.critical_defects is None or self.units_sold == 0:
            return None
        return (Decimal(self.critical_defects) * 100 / self.units_sold).quantize(_CENT)

    @property
    def margin_shortfall(self) -> Decimal | None:
        """How much margin the product fell short by: of its plan's target, or below zero
        without a plan; None when its margin is unknown."""
        if self.margin is None:
            return None
        return (self.target_margin or Decimal(0)) - self.margin


@dataclass(frozen=True)
class Finding:
    """A reason with the facts that make it, in words."""

    reason: Reason
    detail: str


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def reasons(facts: ProductFacts) -> list[Finding]:
    """Everything that speaks against the product this period, in `Reason` order."""
    found = []
    if facts.margin is not None and facts.margin < 0:
        found.append(
            Finding(
                Reason.NEGATIVE_MARGIN, f"margin {facts.margin} {facts.currency}: sold below cost"
            )
        )
    if (
        facts.margin is not None
        and facts.target_margin is not None
        and facts.target_margin > 0
        and facts.margin * 100 < facts.target_margin * FAR_BELOW_PLAN_PCT
    ):
        found.append(
            Finding(
                Reason.MARGIN_FAR_BELOW_PLAN,
                f"margin {facts.margin} of a planned {facts.target_margin} {facts.currency}",
            )
        )
    if facts.target_units and facts.units * 100 < facts.target_units * FAR_BELOW_PLAN_PCT:
        found.append(
            Finding(
                Reason.SALES_FAR_BELOW_PLAN,
                f"{facts.units} units of a planned {facts.target_units}",
            )
        )
    rate = facts.return_rate_pct
    if rate is not None and rate >= HIGH_RETURN_RATE_PCT:
        found.append(
            Finding(
                Reason.HIGH_RETURN_RATE,
                f"{facts.units_returned} of {facts.units_sold} units returned ({_pct(rate)})",
            )
        )
    if facts.critical_defects:
        found.append(
            Finding(
                Reason.CRITICAL_DEFECTS,
                f"{facts.critical_defects} critical defect reports",
            )
        )
    return found


@dataclass(frozen=True)
class Candidate:
    facts: ProductFacts
    findings: list[Finding] = field(default_factory=list)


def discontinue_candidates(products: Iterable[ProductFacts]) -> list[Candidate]:
    """Products to consider discontinuing: one sold below cost, or one with at least two
    reasons against it; already discontinued ones are left out. Worst first: more reasons,
    then the larger margin shortfall."""
    found = []
    for facts in products:
        if facts.lifecycle == "discontinued":
            continue
        against = reasons(facts)
        kinds = {f.reason for f in against}
        if Reason.NEGATIVE_MARGIN in kinds or len(kinds) >= 2:
            found.append(Candidate(facts, against))
    return sorted(
        found,
        key=lambda c: (-len(c.findings), -(c.facts.margin_shortfall or 0), c.facts.product_id),
    )


def margin_drains(products: Iterable[ProductFacts], *, top: int = TOP) -> list[ProductFacts]:
    """The products that cost the most margin: below zero, or below their plan's margin
    target; the largest shortfall first."""
    short = [p for p in products if (p.margin_shortfall or 0) > 0]
    return sorted(short, key=lambda p: (-(p.margin_shortfall or 0), p.product_id))[:top]


def quality_flags(products: Iterable[ProductFacts], *, top: int = TOP) -> list[ProductFacts]:
    """Products with a high return rate or any critical defect reports; the most reports,
    then the highest return rate, first."""
    flagged = [
        p
        for p in products
        if (p.return_rate_pct or 0) >= HIGH_RETURN_RATE_PCT or (p.critical_defects or 0) > 0
    ]
    return sorted(
        flagged,
        key=lambda p: (-(p.critical_defects or 0), -(p.return_rate_pct or 0), p.product_id),
    )[:top]


@dataclass(frozen=True)
class Group:
    """Sales summed for one key (a product type or an account) in one currency."""

    key: str
    currency: str
    units: int
    revenue: Decimal
    margin: Decimal | None


def by_key(rows: Sequence[tuple[str, str, int, Decimal, Decimal | None]]) -> list[Group]:
    """`(key, currency, units, revenue, margin)` rows summed per key and currency, the
    largest revenue first; a group's margin is unknown if any of its rows' is."""
    groups: dict[tuple[str, str], Group] = {}
    for key, currency, units, revenue, margin in rows:
        held = groups.get((key, currency))
        if held is None:
            groups[(key, currency)] = Group(key, currency, units, revenue, margin)
            continue
        both = None if held.margin is None or margin is None else held.margin + margin
        groups[(key, currency)] = Group(
            key, currency, held.units + units, held.revenue + revenue, both
        )
    return sorted(groups.values(), key=lambda g: (-g.revenue, g.key, g.currency))
