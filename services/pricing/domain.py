"""Pure pricing rules: price states, validity windows, guardrails and four-eyes decisions.

No I/O. Functions take plain values and either return the new state or raise a domain
error that the HTTP layer renders as problem+json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType

from shared.errors import Conflict, Forbidden, field_error
from shared.money import format_amount


class PriceKind(StrEnum):
    BASE = "base"
    PROMOTION = "promotion"


class PriceStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    PUBLISHED = "published"
    EXPIRED = "expired"


# Approved prices are part of the schedule, so the effective price of any moment (past,
# present or planned) is read from these three states alone.
SCHEDULED_STATUSES: tuple[PriceStatus, ...] = (
    PriceStatus.APPROVED,
    PriceStatus.PUBLISHED,
    PriceStatus.EXPIRED,
)

ALLOWED_TRANSITIONS: Mapping[PriceStatus, frozenset[PriceStatus]] = MappingProxyType(
    {
        PriceStatus.PROPOSED: frozenset(
            {PriceStatus.APPROVED, PriceStatus.REJECTED, PriceStatus.WITHDRAWN}
        ),
        PriceStatus.APPROVED: frozenset(
            {PriceStatus.PUBLISHED, PriceStatus.WITHDRAWN, PriceStatus.EXPIRED}
        ),
        PriceStatus.PUBLISHED: frozenset({PriceStatus.EXPIRED}),
        PriceStatus.REJECTED: frozenset(),
        PriceStatus.WITHDRAWN: frozenset(),
        PriceStatus.EXPIRED: frozenset(),
    }
)


# A price in one of these can still change; the others are final (history).
OPEN_STATUSES: tuple[PriceStatus, ...] = tuple(
    status for status, targets in ALLOWED_TRANSITIONS.items() if targets
)


class InvalidPriceTransition(Conflict):
    """A status change the price's state machine does not allow."""

    def __init__(self, current: PriceStatus, to: PriceStatus, why: str = "") -> None:
        allowed = [s.value for s in PriceStatus if s in ALLOWED_TRANSITIONS[current]]
        super().__init__(
            why or f"a {current.value} price cannot become {to.value}",
            current=current.value,
            to=to.value,
            allowed=allowed,
        )


def transition(current: PriceStatus, to: PriceStatus) -> PriceStatus:
    """The new status, or InvalidPriceTransition."""
    current, to = PriceStatus(current), PriceStatus(to)
    if to not in ALLOWED_TRANSITIONS[current]:
        raise InvalidPriceTransition(current, to)
    return to


class FourEyes(Forbidden):
    """The proposer of a price may not decide on it: a second person must."""

    title, slug = "Four-eyes rule", "four-eyes"


class NotProposer(Forbidden):
    title, slug = "Not the proposer", "not-proposer"


# --- validity windows ---------------------------------------------------------------------------


def check_window(
    *, kind: PriceKind, valid_from: datetime, valid_to: datetime | None, now: datetime
) -> None:
    """A window must end after it starts and after now; a promotion must end at all."""
    if valid_to is None:
        if kind is PriceKind.PROMOTION:
            raise field_error("valid_to", "a promotion needs valid_to")
        return
    if valid_to <= valid_from:
        raise field_error("valid_to", "valid_to must be after valid_from")
    if valid_to <= now:
        raise field_error("valid_to", "valid_to is in the past")


# --- guardrails ---------------------------------------------------------------------------------


class ViolationCode(StrEnum):
    BELOW_COST = "below_cost"
    MARGIN_BELOW_MINIMUM = "margin_below_minimum"
    CHANGE_TOO_LARGE = "change_too_large"
    BELOW_FLOOR = "below_floor"
    ABOVE_CEILING = "above_ceiling"


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Guardrails:
    """A price list's limits; None switches a check off."""

    min_margin_pct: Decimal | None = None
    max_change_pct: Decimal | None = None
    floor: Decimal | None = None
    ceiling: Decimal | None = None

    def as_text(self) -> dict[str, str | None]:
        """Each limit as a decimal string (or None), as stored and sent in events."""
        return {name: None if value is None else str(value) for name, value in vars(self).items()}

    @classmethod
    def from_text(cls, values: Mapping[str, str | None]) -> Guardrails:
        return cls(**{name: None if v is None else Decimal(v) for name, v in values.items()})


# Each limit, and whether lowering it (True) or raising it (False) lets more prices through.
_LOOSER_WHEN_LOWER: Mapping[str, bool] = MappingProxyType(
    {"min_margin_pct": True, "max_change_pct": False, "floor": True, "ceiling": False}
)


def loosened(old: Guardrails, new: Guardrails) -> tuple[str, ...]:
    """The limits `new` relaxes against `old`: a lower floor or minimum margin, a higher
    ceiling or allowed change, or a limit removed. Empty for a tightening (adding a limit
    or narrowing one), which applies at once; anything looser needs a second person."""
    found = []
    for name, lower_is_looser in _LOOSER_WHEN_LOWER.items():
        before, after = getattr(old, name), getattr(new, name)
        if before is None:
            continue  # adding a limit only tightens
        if after is None or (after < before if lower_is_looser else after > before):
            found.append(name)
    return tuple(found)


class GuardrailChangeStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"


@dataclass(frozen=True)
class GuardrailChangeFacts:
    """What the decision rules look at in a guardrail change: its state, whose it is, and
    the version of the list it was asked against."""

    status: GuardrailChangeStatus
    requested_by: str
    requested_by_owner: str
    base_version: int


def _pending(change: GuardrailChangeFacts, verb: str) -> None:
    if change.status is not GuardrailChangeStatus.PENDING:
        raise Conflict(
            f"only a pending guardrail change can be {verb}; this one is {change.status.value}",
            current=change.status.value,
        )


def approve_guardrail_change(
    change: GuardrailChangeFacts, *, approver: str, list_version: int
) -> None:
    """Check an approval by the owner `approver`: pending, someone other than whoever asked
    (any of their keys), and the list's guardrails unchanged since it was asked for."""
    _pending(change, "approved")
    if approver == change.requested_by_owner:
        raise FourEyes(
            "you asked for this guardrail change, so you cannot approve it: a second person "
            "with pricing:approve must decide",
            requested_by=change.requested_by,
        )
    if list_version != change.base_version:
        raise Conflict(
            "the list's guardrails changed after this change was asked for: reject it and "
            "ask again from the current ones",
            base_version=change.base_version,
            current_version=list_version,
        )


def reject_guardrail_change(change: GuardrailChangeFacts) -> None:
    """Check a rejection: only a pending change (by anyone with pricing:approve, whoever
    asked included: keeping the stricter limits needs no second person)."""
    _pending(change, "rejected")


def check_limits(guardrails: Guardrails) -> None:
    """Floor and ceiling must not contradict each other."""
    floor, ceiling = guardrails.floor, guardrails.ceiling
    if floor is not None and ceiling is not None and floor > ceiling:
        raise field_error("guardrails.ceiling", "ceiling must not be below floor")


@dataclass(frozen=True)
class Violation:
    """One guardrail a price breaks; `limit` and `actual` are amounts or percentages."""

    code: ViolationCode
    detail: str
    limit: Decimal | None = None
    actual: Decimal | None = None


_CENT = Decimal("0.01")


def percent(value: Decimal) -> Decimal:
    """A percentage for display, half-up to 2 decimals."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def format_percent(value: Decimal) -> str:
    """A percentage as text without trailing zeros: "20", "12.5", "66.67"."""
    whole, _, fraction = format(value, "f").partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def margin_pct(amount: Decimal, cost: Decimal) -> Decimal | None:
    """Gross margin on the price, in percent; None for a zero price."""
    return None if amount == 0 else percent((amount - cost) * 100 / amount)


def change_pct(amount: Decimal, current: Decimal) -> Decimal | None:
    """Signed change versus the current price, in percent; None from a zero price."""
    return None if current == 0 else percent((amount - current) * 100 / current)


def check_guardrails(
    *,
    amount: Decimal,
    currency: str,
    guardrails: Guardrails,
    cost: Money | None,
    current: Decimal | None,
) -> tuple[Violation, ...]:
    """Every guardrail the amount breaks, in a fixed order.

    Comparisons are exact (cross-multiplied, never divided). A cost in another currency
    cannot be compared without an exchange rate, so margin checks are then skipped;
    `current` is the base price in effect, None for a first price.
    """
    found: list[Violation] = []

    def text(value: Decimal) -> str:
        return format_amount(value, currency)

    if cost is not None and cost.currency == currency:
        if amount < cost.amount:
            found.append(
                Violation(
                    ViolationCode.BELOW_COST,
                    f"the price {text(amount)} is below the cost {text(cost.amount)}",
                    limit=cost.amount,
                    actual=amount,
                )
            )
        minimum = guardrails.min_margin_pct
        # A zero price has no margin at all, so it cannot meet any minimum.
        if minimum is not None and (amount == 0 or (amount - cost.amount) * 100 < minimum * amount):
            actual = margin_pct(amount, cost.amount)
            shown = "undefined for a zero price" if actual is None else f"{format_percent(actual)}%"
            minimum_pct = format_percent(minimum)
            found.append(
                Violation(
                    ViolationCode.MARGIN_BELOW_MINIMUM,
                    f"the margin ({shown}) is under the list's minimum of {minimum_pct}%",
                    limit=minimum,
                    actual=actual,
                )
            )
    maximum = guardrails.max_change_pct
    if (
        maximum is not None
        and current is not None
        and amount != current
        and (current == 0 or abs(amount - current) * 100 > maximum * current)
    ):
        actual = change_pct(amount, current)
        shown = "from a zero price" if actual is None else f"{format_percent(actual)}%"
        found.append(
            Violation(
                ViolationCode.CHANGE_TOO_LARGE,
                f"the change versus the current price {text(current)} ({shown}) is more than "
                f"the list's maximum of {format_percent(maximum)}%",
                limit=maximum,
                actual=actual,
            )
        )
    if guardrails.floor is not None and amount < guardrails.floor:
        found.append(
            Violation(
                ViolationCode.BELOW_FLOOR,
                f"the price {text(amount)} is below the list's floor {text(guardrails.floor)}",
                limit=guardrails.floor,
                actual=amount,
            )
        )
    if guardrails.ceiling is not None and amount > guardrails.ceiling:
        found.append(
            Violation(
                ViolationCode.ABOVE_CEILING,
                f"the price {text(amount)} is above the list's ceiling {text(guardrails.ceiling)}",
                limit=guardrails.ceiling,
                actual=amount,
            )
        )
    return tuple(found)


# --- decisions (four eyes) ----------------------------------------------------------------------


@dataclass(frozen=True)
class PriceFacts:
    """What the decision rules look at in a price.

    `proposed_by` is the proposing key, `proposed_by_owner` the person behind it; the rules
    compare owners, so a second key of the proposer is still the proposer.
    """

    status: PriceStatus
    proposed_by: str
    proposed_by_owner: str
    valid_from: datetime
    valid_to: datetime | None
    effective_from: datetime | None = None


def _open(price: PriceFacts, to: PriceStatus) -> None:
    if price.status is not PriceStatus.PROPOSED:
        raise InvalidPriceTransition(
            price.status,
            to,
            f"only a proposed price can be {to.value}; this one is {price.status.value}",
        )


def _not_proposer(price: PriceFacts, actor: str, verb: str) -> None:
    if actor == price.proposed_by_owner:
        raise FourEyes(
            f"you proposed this price, so you cannot {verb} it: a second person with "
            "pricing:approve must decide",
            proposed_by=price.proposed_by,
        )


def approve(
    price: PriceFacts,
    *,
    approver: str,
    violations: Sequence[Violation],
    override_reason: str | None,
    now: datetime,
    violations_at_proposal: Sequence[str] = (),
) -> datetime:
    """Check an approval by the owner `approver`; returns when the price takes effect (not
    before the approval). Guardrails broken now (`violations`) or when the price was
    proposed (their codes, `violations_at_proposal`: loosening the list since does not wash
    them out) need an override reason."""
    _open(price, PriceStatus.APPROVED)
    _not_proposer(price, approver, "approve")
    if price.valid_to is not None and price.valid_to <= now:
        raise InvalidPriceTransition(
            price.status,
            PriceStatus.APPROVED,
            f"the price's window ended at {price.valid_to.isoformat()}; propose a new one",
        )
    codes = list(dict.fromkeys([*violations_at_proposal, *(v.code.value for v in violations)]))
    if codes and not (override_reason and override_reason.strip()):
        raise field_error(
            "override_reason",
            "this price breaks guardrails, now or when proposed ("
            + ", ".join(codes)
            + "); approving it needs an override_reason",
            violations=codes,
        )
    return max(price.valid_from, now)


def reject(price: PriceFacts, *, approver: str) -> None:
    """Check a rejection: open proposal, decided by an owner other than the proposer."""
    _open(price, PriceStatus.REJECTED)
    _not_proposer(price, approver, "reject")


def withdraw(price: PriceFacts, *, actor: str, now: datetime) -> None:
    """Only the proposer (the owner `actor`, with any of their keys) withdraws, and only
    before the price takes effect."""
    if actor != price.proposed_by_owner:
        raise NotProposer(
            "only the proposer can withdraw a price; reject it instead",
            proposed_by=price.proposed_by,
        )
    in_effect = price.status is PriceStatus.PUBLISHED or (
        price.status is PriceStatus.APPROVED
        and price.effective_from is not None
        and price.effective_from <= now
    )
    if in_effect:
        raise InvalidPriceTransition(
            price.status,
            PriceStatus.WITHDRAWN,
            "this price is already in effect; propose a new price to replace it",
        )
    if price.status is PriceStatus.APPROVED:
        return
    if price.status is not PriceStatus.PROPOSED:
        raise InvalidPriceTransition(
            price.status,
            PriceStatus.WITHDRAWN,
            f"only a proposed or a not yet effective approved price can be withdrawn; "
            f"this one is {price.status.value}",
        )
