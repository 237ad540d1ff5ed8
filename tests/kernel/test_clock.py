"""The production clock."""

from __future__ import annotations

from datetime import UTC, timedelta

from shared.clock import utc_now


def test_the_production_clock_is_aware_utc_and_moves_forward():
    first = utc_now()
    second = utc_now()
    assert first.tzinfo is UTC
    assert first.utcoffset() == timedelta(0)
    assert second >= first
