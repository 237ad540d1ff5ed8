"""Request and response models of the pricing API (inputs forbid unknown fields).

Amounts and percentages are decimal strings both ways; a JSON number is refused, since it
has already been through a float by the time it is parsed.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from services.pricing.accounts import PriceSource
from services.pricing.domain import (
    GuardrailChangeStatus,
    Guardrails,
    PriceKind,
    PriceStatus,
    ViolationCode,
    change_pct,
    format_percent,
    margin_pct,
)
from services.pricing.projection import Basis, Projection
from services.pricing.timeline import Figures
from shared.accounts import Account
from shared.money import AmountText, Currency, Money, format_amount, minor_units
from shared.types import Rfc3339

PERCENT_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,2})?$"
_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?")


def _parse_percent(value: object) -> Decimal:
    if not isinstance(value, str) or not _PERCENT.fullmatch(value):
        raise ValueError('a percentage is a decimal string such as "12.5" (at most 2 decimals)')
    return Decimal(value)


PercentIn = Annotated[
    Decimal,
    BeforeValidator(_parse_percent),
    WithJsonSchema({"type": "string", "pattern": PERCENT_PATTERN, "examples": ["25"]}),
]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class GuardrailsIn(BaseModel):
    """A list's limits; leave one out (or null) to switch that check off."""

    model_config = ConfigDict(extra="forbid")

    min_margin_pct: Annotated[PercentIn, Field(le=100)] | None = None
    max_change_pct: Annotated[PercentIn, Field(gt=0, le=1000)] | None = None
    floor: AmountText | None = None
    ceiling: AmountText | None = None


class GuardrailsPublic(BaseModel):
    min_margin_pct: str | None
    max_change_pct: str | None
    floor: str | None
    ceiling: str | None


class PriceListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Slug
    currency: Currency
    channel: Slug
    account: Account | None = Field(
        default=None,
        description="the one account (B2B customer or customer group) the list is for; "
        "at most one list per account and currency; omitted: for everyone",
    )
    guardrails: GuardrailsIn = Field(default_factory=GuardrailsIn)


class PriceListUpdate(BaseModel):
    """Change the channel, the account the list is scoped to (null: for everyone), or both.
    Guardrails change through a guardrail change (who and why, and a second person to loosen
    them)."""

    model_config = ConfigDict(extra="forbid")

    channel: Slug | None = None
    account: Account | None = None

    @model_validator(mode="after")
    def _something(self) -> PriceListUpdate:
        if not self.model_fields_set:
            raise ValueError("give channel, account or both")
        if "channel" in self.model_fields_set and self.channel is None:
            raise ValueError("channel cannot be null")
        return self


class GuardrailChangeCreate(BaseModel):
    """New guardrails for the list (as a whole; leave a limit out to switch it off) and
    why. A tightening applies at once; a loosening waits for a second person."""

    model_config = ConfigDict(extra="forbid")

    guardrails: GuardrailsIn
    reason: Text


class GuardrailChangePublic(BaseModel):
    id: str
    price_list: str
    status: GuardrailChangeStatus
    reason: str
    previous: GuardrailsPublic = Field(description="the list's guardrails when it was asked for")
    guardrails: GuardrailsPublic
    loosens: list[str] = Field(description="the limits it relaxes; empty for a tightening")
    requested_by: Actor
    requested_at: datetime
    decided_by: Actor | None
    decided_at: datetime | None
    rejection_reason: str | None
    version: int


class PriceListPublic(BaseModel):
    code: str
    currency: str
    minor_units: int
    channel: str
    account: str | None = Field(description="the account the list is scoped to; null: everyone")
    guardrails: GuardrailsPublic
    version: int
    created_at: datetime
    updated_at: datetime


class PriceCreate(BaseModel):
    """A price proposal; the currency is the list's, valid_from defaults to now."""

    model_config = ConfigDict(extra="forbid")

    product_id: Reference
    price_list: Reference
    amount: AmountText
    kind: PriceKind = PriceKind.BASE
    valid_from: Rfc3339 | None = None
    valid_to: Rfc3339 | None = None
    reason: Text | None = None


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    override_reason: Text | None = Field(
        default=None, description="required when the price breaks guardrails; recorded"
    )


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = None


class Actor(BaseModel):
    """Who acted: the API key id and its name."""

    subject: str
    name: str


class ViolationPublic(BaseModel):
    code: str
    detail: str
    limit: str | None
    actual: str | None


class PricePublic(BaseModel):
    id: str
    product_id: str
    price_list: str
    kind: PriceKind
    amount: str
    currency: str
    valid_from: datetime
    valid_to: datetime | None
    reason: str | None
    status: PriceStatus
    guardrail_violations: list[ViolationPublic] = Field(
        description="as checked last: at proposal, then at approval against that day's cost"
    )
    violations_at_proposal: list[ViolationPublic] = Field(
        description="as checked at proposal, kept even if the list's guardrails were loosened"
    )
    cost: Money | None = Field(
        description="the product cost the guardrails checked; null without pricing:finance"
    )
    margin_pct: str | None = Field(description="null without pricing:finance")
    current_price: str | None = Field(description="the base price in effect when checked")
    proposed_by: Actor
    proposed_at: datetime
    decided_by: Actor | None
    decided_at: datetime | None
    override_reason: str | None
    rejection_reason: str | None
    effective_from: datetime | None
    effective_to: datetime | None
    published_at: datetime | None
    replaces_price_id: str | None
    closed_at: datetime | None
    close_reason: str | None
    version: int


class EffectivePricePublic(BaseModel):
    product_id: str
    price_list: str
    at: datetime
    price_id: str
    kind: PriceKind
    amount: str
    currency: str
    valid_from: datetime
    valid_to: datetime | None
    effective_from: datetime
    effective_to: datetime | None
    prior_price: str | None = Field(
        description="for a promotion: the lowest price of the 30 days before it (EU Omnibus)"
    )
    account: str | None = Field(
        description="the account `price_list` is scoped to; null: an unscoped list"
    )
    source: PriceSource = Field(
        description="account: the account's own list had a price in effect; requested: the "
        "list asked for answered (the account has no list in its currency, or no price on it)"
    )


class PriceStatsPublic(BaseModel):
    """Prices at a glance."""

    by_status: dict[str, int]
    waiting_for_approval: int = Field(description="proposals waiting for a decision")


class ReplacedPublic(BaseModel):
    price_id: str
    kind: PriceKind
    amount: str


class HistoryEntryPublic(BaseModel):
    """A published price: who proposed and approved it, why, and what it replaced."""

    price_id: str
    price_list: str
    kind: PriceKind
    amount: str
    currency: str
    status: PriceStatus
    valid_from: datetime
    valid_to: datetime | None
    effective_from: datetime
    effective_to: datetime | None
    published_at: datetime
    reason: str | None
    proposed_by: Actor
    proposed_at: datetime
    approved_by: Actor
    approved_at: datetime
    guardrail_violations: list[ViolationPublic]
    violations_at_proposal: list[ViolationPublic]
    override_reason: str | None
    replaces: ReplacedPublic | None
    change_pct: str | None
    closed_at: datetime | None
    close_reason: str | None


class FiguresPublic(BaseModel):
    """Sales of one day (or the whole range) in one currency, at the price paid and the
    cost valid at each sale. Margin covers the units whose cost was known. Cost and margin
    are null for a caller without pricing:finance."""

    day: date | None = Field(default=None, description="null in totals")
    currency: str
    units: int
    revenue: str
    cost: str | None
    margin: str | None
    margin_pct: str | None
    units_without_cost: int


class MetricsPublic(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    product_id: str
    from_: date = Field(alias="from")
    to: date
    days: list[FiguresPublic]
    totals: list[FiguresPublic]


# --- rows as the API shows them -----------------------------------------------------------------


def _amount(value: Decimal | None, currency: str | None) -> str | None:
    return None if value is None else format_amount(value, currency)


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else format_percent(value)


def guardrails_public(limits: Any, currency: str) -> GuardrailsPublic:
    """Limits (a row or `Guardrails`, as Decimals) as the API shows them."""
    return GuardrailsPublic(
        min_margin_pct=_pct(limits.min_margin_pct),
        max_change_pct=_pct(limits.max_change_pct),
        floor=_amount(limits.floor, currency),
        ceiling=_amount(limits.ceiling, currency),
    )


def price_list_public(row: Any) -> PriceListPublic:
    """A `price_list` row as the API shows it."""
    return PriceListPublic(
        code=row.code,
        currency=row.currency,
        minor_units=minor_units(row.currency),
        channel=row.channel,
        account=row.account,
        guardrails=guardrails_public(row, row.currency),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _actor(subject: str | None, name: str | None) -> Actor | None:
    return None if subject is None else Actor(subject=subject, name=name or "")


# What a violation that would tell the cost says to a reader without pricing:finance: its
# code, the text below, and only the number that is no secret (the price, the list's minimum).
_COST_BLIND = {
    ViolationCode.BELOW_COST.value: ("the price is below the product's cost", False, True),
    ViolationCode.MARGIN_BELOW_MINIMUM.value: (
        "the margin is under the list's minimum",
        True,
        False,
    ),
}


def violations_public(stored: list[dict[str, Any]], *, finance: bool) -> list[ViolationPublic]:
    """Stored violations as shown; without `finance` the cost and margin are left out."""
    shown = [ViolationPublic(**v) for v in stored]
    if finance:
        return shown
    blind = []
    for violation in shown:
        if violation.code in _COST_BLIND:
            detail, keep_limit, keep_actual = _COST_BLIND[violation.code]
            violation = ViolationPublic(
                code=violation.code,
                detail=detail,
                limit=violation.limit if keep_limit else None,
                actual=violation.actual if keep_actual else None,
            )
        blind.append(violation)
    return blind


def price_public(row: Any, *, finance: bool) -> PricePublic:
    """A `price` row as the API shows it; cost and margin only with `finance` (the caller
    holds pricing:finance), null otherwise."""
    cost = Money.of(row.cost_amount, row.cost_currency or None) if finance else None
    margin = None
    if cost is not None and row.cost_currency == row.currency:
        margin = _pct(margin_pct(row.amount, row.cost_amount))
    return PricePublic(
        id=row.id,
        product_id=row.product_id,
        price_list=row.price_list,
        kind=PriceKind(row.kind),
        amount=format_amount(row.amount, row.currency),
        currency=row.currency,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        reason=row.reason,
        status=PriceStatus(row.status),
        guardrail_violations=violations_public(row.guardrail_violations, finance=finance),
        violations_at_proposal=violations_public(row.violations_at_proposal, finance=finance),
        cost=cost,
        margin_pct=margin,
        current_price=_amount(row.current_amount, row.currency),
        proposed_by=Actor(subject=row.proposed_by, name=row.proposed_by_name),
        proposed_at=row.proposed_at,
        decided_by=_actor(row.decided_by, row.decided_by_name),
        decided_at=row.decided_at,
        override_reason=row.override_reason,
        rejection_reason=row.rejection_reason,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        published_at=row.published_at,
        replaces_price_id=row.replaces_price_id,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
        version=row.version,
    )


def effective_public(
    row: Any,
    *,
    prior: Decimal | None,
    at: datetime,
    account: str | None,
    source: PriceSource = PriceSource.REQUESTED,
) -> EffectivePricePublic:
    """The winning `price` row at `at`, with its Omnibus prior price and where it came from."""
    return EffectivePricePublic(
        product_id=row.product_id,
        price_list=row.price_list,
        at=at,
        price_id=row.id,
        kind=PriceKind(row.kind),
        amount=format_amount(row.amount, row.currency),
        currency=row.currency,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        prior_price=_amount(prior, row.currency),
        account=account,
        source=source,
    )


def history_public(row: Any, replaced: Any | None, *, finance: bool) -> HistoryEntryPublic:
    """A published `price` row and the row it replaced (violations as `price_public`)."""
    replaces = None
    change = None
    if replaced is not None:
        replaces = ReplacedPublic(
            price_id=replaced.id,
            kind=PriceKind(replaced.kind),
            amount=format_amount(replaced.amount, replaced.currency),
        )
        change = _pct(change_pct(row.amount, replaced.amount))
    return HistoryEntryPublic(
        price_id=row.id,
        price_list=row.price_list,
        kind=PriceKind(row.kind),
        amount=format_amount(row.amount, row.currency),
        currency=row.currency,
        status=PriceStatus(row.status),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        published_at=row.published_at,
        reason=row.reason,
        proposed_by=Actor(subject=row.proposed_by, name=row.proposed_by_name),
        proposed_at=row.proposed_at,
        approved_by=Actor(subject=row.decided_by, name=row.decided_by_name or ""),
        approved_at=row.decided_at,
        guardrail_violations=violations_public(row.guardrail_violations, finance=finance),
        violations_at_proposal=violations_public(row.violations_at_proposal, finance=finance),
        override_reason=row.override_reason,
        replaces=replaces,
        change_pct=change,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
    )


def figures_public(figures: Figures, *, finance: bool) -> FiguresPublic:
    """Sales figures; cost and margin only with `finance`, null otherwise."""
    currency = figures.currency
    margin = figures.margin if finance else None
    return FiguresPublic(
        day=figures.day,
        currency=currency,
        units=figures.units,
        revenue=format_amount(figures.revenue, currency),
        cost=None if margin is None else format_amount(figures.cost, currency),
        margin=_amount(margin, currency),
        margin_pct=_pct(figures.margin_pct) if finance else None,
        units_without_cost=figures.units_without_cost,
    )


def guardrail_change_public(row: Any, currency: str) -> GuardrailChangePublic:
    """A `guardrail_change` row as the API shows it, amounts in the list's `currency`."""
    return GuardrailChangePublic(
        id=row.id,
        price_list=row.price_list,
        status=GuardrailChangeStatus(row.status),
        reason=row.reason,
        previous=guardrails_public(Guardrails.from_text(row.previous), currency),
        guardrails=guardrails_public(Guardrails.from_text(row.guardrails), currency),
        loosens=list(row.loosens),
        requested_by=Actor(subject=row.requested_by, name=row.requested_by_name),
        requested_at=row.requested_at,
        decided_by=_actor(row.decided_by, row.decided_by_name),
        decided_at=row.decided_at,
        rejection_reason=row.rejection_reason,
        version=row.version,
    )


class FitPublic(BaseModel):
    elasticity: str | None = Field(
        description="the fitted price elasticity of demand (units ~ price^e) as a decimal "
        "string; null when the history holds too little to fit or the fit is not believed"
    )
    points: int = Field(description="days with sales behind the fit")
    distinct_prices: int = Field(description="distinct mean daily prices among them")
    reason: str


class ProjectionPublic(BaseModel):
    """What a price would do over the next days: an estimate, never a gate."""

    price_id: str
    product_id: str
    price_list: str
    estimate: Literal[True] = Field(
        default=True, description="always true: a projection, not a forecast to plan on"
    )
    days: int = Field(description="the horizon, from now")
    basis: Basis = Field(
        description="elasticity: the fit adjusts the run rate; unchanged_demand: it does not"
    )
    assumption: str
    proposed_price: Money
    reference_price: Money | None = Field(
        description="the mean price paid over the run-rate window; null without sales"
    )
    run_rate_units: int = Field(description="units sold over the last 30 days")
    fit: FitPublic
    units: int
    revenue: Money
    margin: Money | None = Field(
        description="at the product's current cost; null without pricing:finance or a cost "
        "in the price's currency"
    )


def projection_public(row: Any, projection: Projection, *, finance: bool) -> ProjectionPublic:
    """A price's projection; the margin only with `finance`."""
    currency = row.currency
    fit = projection.fit
    return ProjectionPublic(
        price_id=row.id,
        product_id=row.product_id,
        price_list=row.price_list,
        days=projection.days,
        basis=projection.basis,
        assumption=projection.assumption,
        proposed_price=Money.model_construct(amount=row.amount, currency=currency),
        reference_price=Money.of(projection.reference_price, currency),
        run_rate_units=projection.run_rate_units,
        fit=FitPublic(
            elasticity=None if fit.elasticity is None else str(fit.elasticity),
            points=fit.points,
            distinct_prices=fit.distinct_prices,
            reason=fit.reason,
        ),
        units=projection.units,
        revenue=Money.model_construct(amount=projection.revenue, currency=currency),
        margin=Money.of(projection.margin, currency) if finance else None,
    )
