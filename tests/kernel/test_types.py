"""Date and date-time inputs are ISO text (pydantic alone reads a number as seconds since 1970),
within the range every computation from them can hold."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.types import IsoDate, Rfc3339

INSTANT = TypeAdapter(Rfc3339)
DAY = TypeAdapter(IsoDate)


def test_rfc3339_text_and_datetimes_are_taken() -> None:
    moment = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
    assert INSTANT.validate_python("2030-03-01T09:00:00Z") == moment
    assert INSTANT.validate_json('"2030-03-01T10:00:00+01:00"') == moment
    assert INSTANT.validate_python(moment) == moment


@pytest.mark.parametrize("value", [0.5, 0, "0.5", "1700000000", "2030-03-01", "2030-03-01T09:00"])
def test_numbers_dates_and_naive_times_are_not_instants(value: object) -> None:
    with pytest.raises(ValidationError):
        INSTANT.validate_python(value)


def test_a_date_is_yyyy_mm_dd() -> None:
    assert DAY.validate_python("2030-03-01") == date(2030, 3, 1)
    assert DAY.validate_python(date(2030, 3, 1)) == date(2030, 3, 1)
    for value in ("0", 0, "2030-3-1", "2030-03-01T00:00:00Z"):
        with pytest.raises(ValidationError):
            DAY.validate_python(value)


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-00:01"]
)
def test_an_instant_without_a_utc_form_is_refused(value: str) -> None:
    # Every instant is kept and compared in UTC; converting these overflowed (a 500).
    with pytest.raises(ValidationError, match="in UTC it must fall within the years 1 to 9999"):
        INSTANT.validate_python(value)


def test_the_ends_of_the_utc_range_are_instants() -> None:
    # "Valid until 9999-12-31T23:59:59Z" is how people write "for good".
    assert INSTANT.validate_python("9999-12-31T23:59:59Z").year == 9999
    assert INSTANT.validate_python("0001-01-01T00:00:00Z").year == 1


def test_a_date_lies_between_1970_and_2999() -> None:
    assert DAY.validate_python("1970-01-01") == date(1970, 1, 1)
    assert DAY.validate_python("2999-12-31") == date(2999, 12, 31)
    for value in ("1969-12-31", "3000-01-01", "9999-12-31", "0001-01-01"):
        with pytest.raises(ValidationError, match="out of range: a date from 1970-01-01"):
            DAY.validate_python(value)
