"""Date and date-time inputs are ISO text: pydantic alone reads a number as seconds since 1970."""

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
