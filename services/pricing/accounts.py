"""Which price list answers for an account (issue 14 part 3). Pure: no I/O.

A price list may be scoped to one account (a B2B customer or customer group), one list per
account and currency. Asked for the price on list `L` for account `A`:

1. `A`'s list is the one scoped to `A` in `L`'s currency (a price in another currency is no
   answer to a request in `L`'s).
2. When `A`'s list has a price in effect for the product (base or promotion, resolved within
   that list as on any list), it answers: source `account`.
3. Otherwise `L` answers, promotions and all, as for anyone: source `requested`. An account
   with no list at all is not an error: it pays what everyone on `L` pays.

`L` scoped to another account than `A` is refused: one account's negotiated prices are not
another's fallback. Guardrails and four eyes apply to account lists as to any list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from shared.errors import field_error


class PriceSource(StrEnum):
    """Where an effective price came from."""

    ACCOUNT = "account"
    REQUESTED = "requested"


@dataclass(frozen=True)
class ListRef:
    """What resolution needs of a price list."""

    code: str
    currency: str
    account: str | None


@dataclass(frozen=True)
class Choice:
    """The list whose price answers, and why that one."""

    price_list: ListRef
    source: PriceSource


def account_list_for(
    requested: ListRef, account: str | None, lists: Iterable[ListRef]
) -> ListRef | None:
    """The account's list in the requested list's currency among `lists` (any lists: those
    of other accounts are ignored), or None; 422 when `requested` is another account's."""
    if account is None:
        return None
    if requested.account is not None and requested.account != account:
        raise field_error(
            "account",
            f"price list {requested.code!r} is scoped to another account; ask for it "
            "without account or for an unscoped list",
            where="query",
        )
    for candidate in lists:
        if candidate.account == account and candidate.currency == requested.currency:
            return candidate
    return None


def choose_list(requested: ListRef, own: ListRef | None, *, own_has_price: bool) -> Choice:
    """The account's own list when it has a price in effect, else the requested list."""
    if own is not None and own_has_price:
        return Choice(own, PriceSource.ACCOUNT)
    # Asked for the account's own list by code: a price from it is still the account's.
    source = PriceSource.ACCOUNT if own == requested else PriceSource.REQUESTED
    return Choice(requested, source)
