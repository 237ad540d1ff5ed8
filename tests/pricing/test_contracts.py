"""What pricing reads from other services' events refuses what it could not keep or should
not guess: each refusal is a validation error, so the consumer dead-letters the event at
once instead of failing it on every try."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.pricing.contracts import Purchase, Return
from tests.pricing.conftest import purchase_event

AT = datetime(2030, 3, 5, 10, tzinfo=UTC)


def purchase(**changes: Any) -> dict[str, Any]:
    return {**purchase_event("p-1", occurred_at=AT, quantity=2).data, **changes}


def test_a_purchase_as_feedback_forwards_it_is_read() -> None:
    read = Purchase.model_validate(purchase())
    assert (read.quantity, read.occurred_at) == (2, AT)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # No UTC form a datetime can hold: the insert failed on every try, before.
        ("occurred_at", "0001-01-01T00:00:00+14:00"),
        ("occurred_at", 1900000000),
        # A count of units is a JSON integer; these were read as 2 and 1, before.
        ("quantity", "2"),
        ("quantity", 2.0),
        ("quantity", True),
    ],
)
def test_what_pricing_could_not_keep_or_would_guess_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Purchase.model_validate(purchase(**{field: value}))
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]
    with pytest.raises(ValidationError):
        Return.model_validate({**purchase(kind="return"), field: value})
