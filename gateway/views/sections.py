"""The parts a composed view is made of: each holds a service's value, or is missing for a
named reason (the service failed or was slow: `degraded`; the caller lacks its scope:
`forbidden`), so the view answers with what it has."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.upstream import Failure, Outcome, Trouble
from shared.auth import Principal

log = logging.getLogger(__name__)


class Missing(StrEnum):
    DEGRADED = "degraded"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class Section:
    service: str
    value: Any = None
    missing: Missing | None = None


def _as_is(body: Any) -> Any:
    return body


def section_of(outcome: Outcome, shape: Callable[[Any], Any] = _as_is) -> Section:
    """The section an outcome makes: the service's body `shape`d, or why it is missing."""
    if isinstance(outcome, Failure):
        forbidden = outcome.trouble is Trouble.FORBIDDEN
        return Section(
            outcome.service, missing=Missing.FORBIDDEN if forbidden else Missing.DEGRADED
        )
    try:
        return Section(outcome.service, shape(outcome.body))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # A body this gateway cannot read is as good as no answer (a newer service, say).
        log.warning(
            "unreadable upstream body", extra={"upstream": outcome.service, "error": repr(exc)}
        )
        return Section(outcome.service, missing=Missing.DEGRADED)


def items_of(body: Any) -> list[Any]:
    """The items of a list page (`{"items": [...], "next_cursor": ...}`)."""
    items = body["items"]
    if not isinstance(items, list):
        raise TypeError("items is not a list")
    return items


async def if_allowed(
    caller: Principal, scope: str, service: str, fetch: Callable[[], Awaitable[Section]]
) -> Section:
    """`fetch()` when the caller holds `scope`; otherwise forbidden, asking no service."""
    if not caller.has(scope):
        return Section(service, missing=Missing.FORBIDDEN)
    return await fetch()


def services_missing(sections: Iterable[Section], why: Missing) -> list[str]:
    """The services whose sections are missing for this reason, by name."""
    return sorted({s.service for s in sections if s.missing is why})
