"""Reporting periods: a calendar month (`2030-04`) or quarter (`2030-Q2`), in UTC. Pure.

Plans hold monthly targets and reports cover a month or a quarter, so a period is always a
run of whole calendar months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from shared.types import EARLIEST_DATE, LATEST_DATE

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")
PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$"
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
# The years of a plannable date.
FIRST_YEAR, LAST_YEAR = EARLIEST_DATE.year, LATEST_DATE.year


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after `month`'s."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def days_in_month(month: date) -> int:
    return (next_month(month) - month_start(month)).days


def month_text(month: date) -> str:
    """`2030-04`."""
    return f"{month.year:04d}-{month.month:02d}"


def parse_month(text: str) -> date:
    """The first day of a `YYYY-MM` month; ValueError for anything else."""
    match = _MONTH.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a month: use YYYY-MM, e.g. 2030-04")
    return date(_year(match[1]), int(match[2]), 1)


def _year(digits: str) -> int:
    # Past 9998 the end of a December has no date: a report of 9999-12 was a 500.
    year = int(digits)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"out of range: a year from {FIRST_YEAR} to {LAST_YEAR}")
    return year


@dataclass(frozen=True)
class Period:
    """Whole months from `first` to `last` (first days of months), inclusive."""

    text: str
    first: date
    last: date

    @property
    def months(self) -> list[date]:
        months, month = [], self.first
        while month <= self.last:
            months.append(month)
            month = next_month(month)
        return months

    @property
    def start(self) -> datetime:
        """The first instant of the period (UTC)."""
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period (UTC): the period is `[start, end)`."""
        return datetime.combine(next_month(self.last), time.min, tzinfo=UTC)


def parse_period(text: str) -> Period:
    """A `YYYY-MM` month or a `YYYY-Qn` quarter; ValueError naming both forms otherwise."""
    if (quarter := _QUARTER.fullmatch(text)) is not None:
        year, number = _year(quarter[1]), int(quarter[2])
        first = date(year, 3 * number - 2, 1)
        return Period(text, first, date(year, 3 * number, 1))
    try:
        month = parse_month(text)
    except ValueError:
        if _MONTH.fullmatch(text):
            raise  # a month, out of range: say so
        raise ValueError(
            f"{text!r} is not a period: use a month YYYY-MM (2030-04) or a quarter YYYY-Qn "
            "(2030-Q2)"
        ) from None
    return Period(text, month, month)
