"""The Money wire model every service reads and writes: decimal strings in, canonical text out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.money import Money, MoneyInMinorUnits


class Body(BaseModel):
    cost: Money


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ({"amount": "19.9", "currency": "EUR"}, {"amount": "19.90", "currency": "EUR"}),
        ({"amount": "1200", "currency": "JPY"}, {"amount": "1200", "currency": "JPY"}),
        ({"amount": "1.5", "currency": "BHD"}, {"amount": "1.500", "currency": "BHD"}),
        # A unit cost may be a fraction of a cent: 4 decimals whatever the currency.
        ({"amount": "0.0125", "currency": "USD"}, {"amount": "0.0125", "currency": "USD"}),
    ],
)
def test_money_round_trips_in_the_currency_canonical_text(
    sent: dict[str, str], shown: dict[str, str]
) -> None:
    money = Money.model_validate(sent)
    assert money.amount == Decimal(sent["amount"])
    assert money.model_dump(mode="json") == shown
    assert Money.model_validate_json(money.model_dump_json()) == money


@pytest.mark.parametrize(
    ("sent", "loc", "msg"),
    [
        ({"amount": 19.99, "currency": "EUR"}, ["cost", "amount"], "decimal string"),
        ({"amount": "-1", "currency": "EUR"}, ["cost", "amount"], "non-negative"),
        ({"amount": "1.23456", "currency": "EUR"}, ["cost", "amount"], "more than 4 decimals"),
        ({"amount": "1", "currency": "XYZ"}, ["cost", "currency"], "unknown currency 'XYZ'"),
        ({"amount": "1", "currency": "eur"}, ["cost", "currency"], "unknown currency 'eur'"),
        ({"amount": "1", "currency": 978}, ["cost", "currency"], "valid string"),
        ({"amount": "1", "currency": "EUR", "fx": 1}, ["cost", "fx"], "Extra inputs"),
        ({"amount": "1"}, ["cost", "currency"], "Field required"),
    ],
)
def test_bad_money_is_refused_at_its_field(sent: dict[str, Any], loc: list[str], msg: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Body.model_validate({"cost": sent})
    (error,) = caught.value.errors()
    assert [str(part) for part in error["loc"]] == loc
    assert msg in error["msg"]


def test_money_in_minor_units_refuses_what_the_currency_cannot_express() -> None:
    paid = TypeAdapter(MoneyInMinorUnits)
    assert paid.validate_python({"amount": "1200", "currency": "JPY"}).amount == 1200
    for amount, currency, msg in (("1.999", "EUR", "at most 2 decimals"), ("1.5", "JPY", "no")):
        with pytest.raises(ValidationError, match=msg):
            paid.validate_python({"amount": amount, "currency": currency})


def test_money_of_stored_columns() -> None:
    assert Money.of(None, "EUR") is None
    assert Money.of(Decimal("5"), None) is None
    stored = Money.of(Decimal("19.9000"), "EUR")
    assert stored is not None
    assert stored.model_dump(mode="json") == {"amount": "19.90", "currency": "EUR"}
