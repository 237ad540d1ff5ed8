"""Plan request and response models. Amounts are decimal strings; a margin target may be
negative (a launch may plan a loss), so it takes a sign. Margins are null for a caller
without pricing:finance, as costs and margins are everywhere in pricing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from services.pricing.domain import format_percent
from services.pricing.plans.domain import (
    Actual,
    Forecast,
    MonthState,
    PlanKind,
    PlanSource,
    Target,
    Totals,
    Variance,
)
from shared import accounts
from shared.money import AMOUNT_PATTERN, AmountText, Currency, format_amount, parse_amount
from shared.periods import MONTH_PATTERN, month_text, parse_month

MAX_TARGETS = 60
MAX_UNITS = 1_000_000_000


def _signed_amount(value: object) -> Decimal:
    if isinstance(value, str) and value.startswith("-"):
        return -parse_amount(value[1:])
    return parse_amount(value)


SignedAmountText = Annotated[
    Decimal,
    BeforeValidator(_signed_amount),
    WithJsonSchema(
        {"type": "string", "pattern": "^-?" + AMOUNT_PATTERN[1:], "examples": ["-120.50"]}
    ),
]


def _month(value: object) -> date:
    if not isinstance(value, str):
        raise ValueError("a month is a string YYYY-MM, e.g. 2030-04")
    return parse_month(value)


MonthIn = Annotated[
    date,
    BeforeValidator(_month),
    WithJsonSchema({"type": "string", "pattern": MONTH_PATTERN, "examples": ["2030-04"]}),
]


class TargetIn(BaseModel):
    """One month's target: units, revenue and gross margin (an amount, not a percentage)."""

    model_config = ConfigDict(extra="forbid")

    month: MonthIn
    units: Annotated[int, Field(ge=0, le=MAX_UNITS, strict=True)]
    revenue: AmountText
    margin: SignedAmountText

    def target(self) -> Target:
        return Target(self.month, self.units, self.revenue, self.margin)


class PlanCreate(BaseModel):
    """A plan for one product's sales (`subject` = product id) or one account's."""

    model_config = ConfigDict(extra="forbid")

    kind: PlanKind
    subject: Annotated[str, StringConstraints(min_length=1, max_length=accounts.MAX_LENGTH)]
    currency: Currency
    targets: Annotated[list[TargetIn], Field(min_length=1, max_length=MAX_TARGETS)]


class TargetsChange(BaseModel):
    """Targets to set: a month given replaces that month's target or adds the month."""

    model_config = ConfigDict(extra="forbid")

    targets: Annotated[list[TargetIn], Field(min_length=1, max_length=MAX_TARGETS)]


class TargetPublic(BaseModel):
    month: str = Field(examples=["2030-04"])
    units: int
    revenue: str
    margin: str | None


class PlanPublic(BaseModel):
    id: str
    kind: PlanKind
    subject: str
    currency: str
    source: PlanSource = Field(description="manual, or launch: made from a launch's goals")
    launch_id: str | None
    targets: list[TargetPublic]
    version: int
    created_by: str
    created_at: str
    updated_by: str
    updated_at: str


class FiguresOut(BaseModel):
    units: int
    revenue: str
    margin: str | None


class ActualPublic(FiguresOut):
    """Sales less returns; margin over the units whose cost was known."""

    units_sold: int
    units_returned: int
    units_without_cost: int
    returns_unvalued: int = Field(description="returned units with no earlier sale to value")


class VariancePublic(BaseModel):
    """Actual (or forecast) minus target; percentages of the target, null for a zero one."""

    units: int
    revenue: str
    margin: str | None
    units_pct: str | None
    revenue_pct: str | None
    margin_pct: str | None


class MonthPublic(BaseModel):
    month: str
    state: MonthState
    target: FiguresOut | None = Field(description="null for a month the plan has no target for")
    actual: ActualPublic
    variance: VariancePublic | None
    forecast: FiguresOut


class TotalsPublic(BaseModel):
    target: FiguresOut
    actual: FiguresOut
    forecast: FiguresOut
    variance: VariancePublic = Field(description="actual against target")
    forecast_variance: VariancePublic = Field(description="forecast against target")


class PerformancePublic(BaseModel):
    """A plan's months with actuals, variance and the run-rate forecast, as of `as_of`."""

    plan: PlanPublic
    as_of: date
    months: list[MonthPublic]
    totals: TotalsPublic


# --- views --------------------------------------------------------------------------------------


def _money(value: Decimal | None, currency: str, finance: bool = True) -> str | None:
    return None if value is None or not finance else format_amount(value, currency)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format_percent(value)


def target_public(target: Target, currency: str, *, finance: bool) -> TargetPublic:
    return TargetPublic(
        month=month_text(target.month),
        units=target.units,
        revenue=format_amount(target.revenue, currency),
        margin=_money(target.margin, currency, finance),
    )


def plan_public(row: Any, targets: list[Target], *, finance: bool) -> PlanPublic:
    """A `financial_plan` row with its targets, by month."""
    r = row
    return PlanPublic(
        id=r.id,
        kind=PlanKind(r.kind),
        subject=r.subject,
        currency=r.currency,
        source=PlanSource(r.source),
        launch_id=r.launch_id,
        targets=[target_public(t, r.currency, finance=finance) for t in targets],
        version=r.version,
        created_by=r.created_by,
        created_at=r.created_at.isoformat(),
        updated_by=r.updated_by,
        updated_at=r.updated_at.isoformat(),
    )


def figures_out(figures: Target | Forecast | Totals, currency: str, *, finance: bool) -> FiguresOut:
    return FiguresOut(
        units=figures.units,
        revenue=format_amount(figures.revenue, currency),
        margin=_money(figures.margin, currency, finance),
    )


def actual_public(actual: Actual, currency: str, *, finance: bool) -> ActualPublic:
    return ActualPublic(
        units=actual.units,
        revenue=format_amount(actual.revenue, currency),
        margin=_money(actual.margin, currency, finance),
        units_sold=actual.units_sold,
        units_returned=actual.units_returned,
        units_without_cost=actual.units_without_cost,
        returns_unvalued=actual.returns_unvalued,
    )


def variance_public(variance: Variance, currency: str, *, finance: bool) -> VariancePublic:
    return VariancePublic(
        units=variance.units,
        revenue=format_amount(variance.revenue, currency),
        margin=_money(variance.margin, currency, finance),
        units_pct=_text(variance.units_pct),
        revenue_pct=_text(variance.revenue_pct),
        margin_pct=_text(variance.margin_pct) if finance else None,
    )
