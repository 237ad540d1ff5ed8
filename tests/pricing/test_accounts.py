"""Which list answers for an account: the resolution order as worked examples, no I/O."""

from __future__ import annotations

import pytest

from services.pricing.accounts import (
    Choice,
    ListRef,
    PriceSource,
    account_list_for,
    choose_list,
)
from shared.errors import Invalid

EU_WEB = ListRef("eu-web", "EUR", None)
ACME_EUR = ListRef("acme-eur", "EUR", "acme")
ACME_USD = ListRef("acme-usd", "USD", "acme")
BETA_EUR = ListRef("beta-eur", "EUR", "beta")
LISTS = (ACME_USD, BETA_EUR, ACME_EUR)


def test_without_an_account_there_is_no_account_list() -> None:
    assert account_list_for(EU_WEB, None, LISTS) is None
    assert choose_list(EU_WEB, None, own_has_price=False) == Choice(EU_WEB, PriceSource.REQUESTED)


def test_the_accounts_list_is_the_one_in_the_requested_currency() -> None:
    assert account_list_for(EU_WEB, "acme", LISTS) == ACME_EUR
    assert account_list_for(ListRef("us-web", "USD", None), "acme", LISTS) == ACME_USD
    # No list in that currency, or no list at all: no account list, and no error.
    assert account_list_for(ListRef("jp-web", "JPY", None), "acme", LISTS) is None
    assert account_list_for(EU_WEB, "gamma", LISTS) is None


@pytest.mark.parametrize(
    ("own", "own_has_price", "expected"),
    [
        # acme has a price on its list: that price, whatever eu-web says.
        (ACME_EUR, True, Choice(ACME_EUR, PriceSource.ACCOUNT)),
        # acme's list has no price for this product (or none in effect then): eu-web's.
        (ACME_EUR, False, Choice(EU_WEB, PriceSource.REQUESTED)),
        # gamma has no list: eu-web's, as for anyone.
        (None, False, Choice(EU_WEB, PriceSource.REQUESTED)),
    ],
)
def test_the_accounts_price_wins_else_the_requested_lists(
    own: ListRef | None, own_has_price: bool, expected: Choice
) -> None:
    assert choose_list(EU_WEB, own, own_has_price=own_has_price) == expected


def test_asking_for_the_accounts_own_list_is_the_accounts_price() -> None:
    own = account_list_for(ACME_EUR, "acme", LISTS)
    assert own == ACME_EUR
    assert choose_list(ACME_EUR, own, own_has_price=False) == Choice(ACME_EUR, PriceSource.ACCOUNT)


def test_another_accounts_list_is_never_a_fallback() -> None:
    with pytest.raises(Invalid) as refused:
        account_list_for(ACME_EUR, "beta", LISTS)
    assert refused.value.extra["field"] == "account"
    assert "scoped to another account" in refused.value.detail
