"""Types every service needs: aware UTC datetime columns and inputs, exact money amounts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from sqlalchemy import Dialect, Numeric, String
from sqlalchemy.types import DateTime, TypeDecorator, TypeEngine

_RFC3339_START = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _rfc3339_text(value: object) -> object:
    # Pydantic reads a number (or "0.5" in a query) as seconds since 1970; an API documented
    # as RFC 3339 must refuse it rather than answer for 1970-01-01.
    if isinstance(value, datetime):
        return value
    if not (isinstance(value, str) and _RFC3339_START.match(value)):
        raise ValueError("not an RFC 3339 date-time (e.g. 2030-03-01T09:00:00Z)")
    return value


def _iso_date_text(value: object) -> object:
    # Pydantic would read "0" as 1970-01-01 too.
    if isinstance(value, date):
        return value
    if not (isinstance(value, str) and _ISO_DATE.match(value)):
        raise ValueError("not a date as YYYY-MM-DD")
    return value


# The dates a person plans by or asks about. Windows, weeks and offsets are computed from
# them (a calendar from 9999-12-20 ran past the last date a datetime holds: a 500), and no
# launch, price or sale of this platform lies outside.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def _plannable(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"out of range: a date from {EARLIEST_DATE} to {LATEST_DATE}")
    return value


def utc_representable(value: datetime) -> datetime:
    # Every date-time is kept and compared in UTC, and 9999-12-31T23:00:00-05:00 or
    # 0001-01-01T00:00:00+01:00 has no UTC form a datetime can hold (a 500 when converted).
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range: in UTC it must fall within the years 1 to 9999") from None
    return value


# An input date-time with its offset, as RFC 3339 text only (the OpenAPI `date-time` format).
Rfc3339 = Annotated[
    AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(utc_representable)
]
# An input date, as YYYY-MM-DD text only (the OpenAPI `date` format), from EARLIEST_DATE to
# LATEST_DATE.
IsoDate = Annotated[date, BeforeValidator(_iso_date_text), AfterValidator(_plannable)]


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Amount(TypeDecorator[Decimal]):
    """A money amount: NUMERIC(18, 4) on PostgreSQL, a decimal string on SQLite.

    SQLite's NUMERIC affinity stores a float, and money is never a float.
    """

    impl = Numeric(18, 4, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(24))
        return dialect.type_descriptor(Numeric(18, 4, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
