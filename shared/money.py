"""Money as exact decimals: ISO 4217 currencies with their minor units, parsing and text.

Money is never a float. Amounts travel as decimal strings (`"19.99"`), are parsed straight
from the text (a JSON number has already been through a float), and are written back
without an exponent. The currency decides how many decimals an amount may have.
`Money` is the wire model every service reads and writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from types import MappingProxyType
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    WithJsonSchema,
    field_serializer,
)

# ISO 4217 code -> minor units (digits after the decimal point). A deliberate subset: the
# currencies a store is likely to price in; adding one is a one-line change.
CURRENCIES: Mapping[str, int] = MappingProxyType(
    {
        "AED": 2,
        "AUD": 2,
        "BGN": 2,
        "BHD": 3,
        "BRL": 2,
        "CAD": 2,
        "CHF": 2,
        "CLP": 0,
        "CNY": 2,
        "CZK": 2,
        "DKK": 2,
        "EUR": 2,
        "GBP": 2,
        "HKD": 2,
        "HUF": 2,
        "IDR": 2,
        "ILS": 2,
        "INR": 2,
        "ISK": 0,
        "JOD": 3,
        "JPY": 0,
        "KRW": 0,
        "KWD": 3,
        "MXN": 2,
        "MYR": 2,
        "NOK": 2,
        "NZD": 2,
        "OMR": 3,
        "PHP": 2,
        "PLN": 2,
        "RON": 2,
        "SAR": 2,
        "SEK": 2,
        "SGD": 2,
        "THB": 2,
        "TND": 3,
        "TRY": 2,
        "TWD": 2,
        "USD": 2,
        "VND": 0,
        "ZAR": 2,
    }
)

# Storage is NUMERIC(18, 4) (shared.types.Amount): 12 integer digits keep clear of it.
MAX_INTEGER_DIGITS = 12
MAX_DECIMALS = 4
# [0-9], not \d: \d also matches other scripts' digits, which Decimal would accept.
# Decimals are limited after parsing, so "1.23456" gets a message about decimals.
_AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})?")
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,4})?$"
# Shifting a decimal's point in this context never rounds (the default keeps 28 digits).
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def minor_units(currency: str) -> int:
    """Decimals of the currency; ValueError for a code not in `CURRENCIES`."""
    try:
        return CURRENCIES[currency]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown currency {currency!r}: use an ISO 4217 code such as EUR, USD or JPY"
        ) from None


def decimals_of(amount: Decimal) -> int:
    """Significant decimals: 19.90 has 1, 20 has 0."""
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_amount(value: object, *, max_decimals: int = MAX_DECIMALS) -> Decimal:
    """A non-negative decimal from its text; ValueError for anything else.

    Refuses numbers (floats), signs, exponents, NaN, Infinity, whitespace and more than
    `max_decimals` significant decimals.
    """
    if isinstance(value, Decimal) and value.is_finite() and value >= 0:
        text = format(value, "f")
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError('amount must be a decimal string such as "19.99", not a number')
    # fullmatch: "$" would accept a trailing newline.
    if not (match := _AMOUNT.fullmatch(text)):
        raise ValueError(
            'amount must be a non-negative decimal string such as "19.99" '
            f"(digits and at most one '.', at most {MAX_INTEGER_DIGITS} before it)"
        )
    # The significant decimals read off the text, as `decimals_of` would count them: once
    # per ingested purchase, and the Decimal's digit tuple costs half of this function.
    fraction = match.group(1)
    if fraction is not None and len(fraction.rstrip("0")) - 1 > max_decimals:
        raise ValueError(
            f"amount has more than {max_decimals} decimals; send a decimal string with at"
            f" most {max_decimals}"
        )
    return Decimal(text)


def check_scale(amount: Decimal, currency: str) -> Decimal:
    """The amount, if the currency can express it (JPY has no cents); else ValueError."""
    digits = minor_units(currency)
    if amount.is_finite():
        # Fits when shifted by the currency's decimals it is whole: no digit tuple built
        # (`decimals_of`), as this runs once per ingested purchase. Exact: no rounding.
        shifted = amount.scaleb(digits, context=_EXACT)
        if shifted == shifted.to_integral_value():
            return amount
    if decimals_of(amount) > digits:
        unit = "no decimals" if digits == 0 else f"at most {digits} decimals"
        raise ValueError(f"{currency} amounts have {unit}; got {format(amount, 'f')}")
    return amount


def format_amount(amount: Decimal, currency: str | None = None) -> str:
    """Canonical text: no exponent; the currency's decimals, more only when significant.

    Without a known currency, at least 2 decimals (as the catalog writes costs).
    """
    digits = CURRENCIES.get(currency or "", 2)
    whole, _, fraction = format(amount, "f").partition(".")
    fraction = fraction.rstrip("0").ljust(digits, "0")
    return f"{whole}.{fraction}" if fraction else whole


def _known_currency(value: object) -> object:
    if isinstance(value, str):
        minor_units(value)  # raises ValueError naming the code
    return value


# An amount parsed from its text; write it back with `format_amount`.
AmountText = Annotated[
    Decimal,
    BeforeValidator(parse_amount),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["19.99"]}),
]
# An ISO 4217 code in `CURRENCIES`; checked before the pattern, so "eur" is told it is unknown.
Currency = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{3}$"), BeforeValidator(_known_currency)
]


class Money(BaseModel):
    """`{"amount": "19.99", "currency": "EUR"}`, in requests, responses and events.

    The amount is a decimal string of at most 4 decimals whatever the currency (a unit cost
    may be a fraction of a cent; `MoneyInMinorUnits` is stricter), written back in the
    currency's canonical text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: AmountText
    currency: Currency

    @field_serializer("amount")
    def _amount_text(self, amount: Decimal) -> str:
        return format_amount(amount, self.currency)

    @classmethod
    def of(cls, amount: Decimal | None, currency: str | None) -> Money | None:
        """Money from stored columns, None when either is missing; trusted, not checked again."""
        if amount is None or currency is None:
            return None
        return cls.model_construct(amount=amount, currency=currency)


def _in_minor_units(money: Money) -> Money:
    check_scale(money.amount, money.currency)
    return money


# Money as a customer pays it: no finer than the currency's minor unit (JPY has no cents).
MoneyInMinorUnits = Annotated[Money, AfterValidator(_in_minor_units)]
