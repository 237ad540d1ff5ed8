"""The clock: where "now" comes from, so tests can move time instead of waiting for it.

The kernel's `Runtime` holds one (`runtime.clock`, also `uow.clock`); use cases and
handlers take it from there rather than calling `datetime.now` themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The production clock: the current time, timezone-aware UTC."""
    return datetime.now(UTC)
