"""What the dashboard's pages list, asked of the services with the caller's token.

Each function answers a `Section` (gateway/views/sections.py): the items, or why they are
missing (the service failed or was slow: degraded; the caller lacks the scope: forbidden).
A page shows the first `PAGE_SIZE` of each list, most urgent first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gateway.upstream import Answer, ServiceCalls
from gateway.views.sections import Missing, Section, if_allowed, items_of, section_of
from shared.auth import Principal

PAGE_SIZE = 50
# Product names are looked up one by one (the catalog has no batch read): a page names at
# most this many products and shows the id for the rest.
NAMED_PRODUCTS = 50
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


async def _items(calls: ServiceCalls, service: str, path: str, **params: str | int) -> Section:
    outcome = await calls.get(service, path, params={"limit": PAGE_SIZE, **params})
    return section_of(outcome, items_of)


def _merged(sections: Iterable[Section]) -> Section:
    """One section from several calls to one service: missing if any of them is."""
    sections = list(sections)
    for section in sections:
        if section.missing is not None:
            return section
    seen: dict[str, Any] = {}
    for section in sections:
        for item in section.value:
            seen.setdefault(str(item["id"]), item)
    return Section(sections[0].service, list(seen.values()))


async def launches(calls: ServiceCalls, caller: Principal) -> Section:
    """Plans not launched or cancelled yet, by target date."""

    async def ask() -> Section:
        planned, approved = await asyncio.gather(
            _items(calls, "launch", "/v1/launches", status="planned"),
            _items(calls, "launch", "/v1/launches", status="approved"),
        )
        merged = _merged([planned, approved])
        if merged.value is not None:
            merged.value.sort(key=lambda plan: (str(plan["target_date"]), str(plan["id"])))
        return merged

    return await if_allowed(caller, "launch:read", "launch", ask)


async def _unresolved(calls: ServiceCalls, **params: str | int) -> Section:
    """Findings open or acknowledged (not resolved yet), matching `params`."""
    opened, acknowledged = await asyncio.gather(
        _items(calls, "feedback", "/v1/findings", status="open", **params),
        _items(calls, "feedback", "/v1/findings", status="acknowledged", **params),
    )
    merged = _merged([opened, acknowledged])
    if merged.value is not None:
        merged.value.sort(key=lambda f: str(f["last_seen"]), reverse=True)
    return merged


async def findings(calls: ServiceCalls, caller: Principal) -> Section:
    """Unresolved findings, the most severe first, then the most recently seen."""

    async def ask() -> Section:
        found = await _unresolved(calls)
        if found.value is not None:
            found.value.sort(key=lambda f: _SEVERITY_RANK.get(str(f["severity"]), 9))
        return found

    return await if_allowed(caller, "feedback:read", "feedback", ask)


async def critical_findings(calls: ServiceCalls, caller: Principal) -> Section:
    """Unresolved critical findings, the most recently seen first."""
    return await if_allowed(
        caller, "feedback:read", "feedback", lambda: _unresolved(calls, severity="critical")
    )


# Escalations still waiting for an answer: a forwarded one waits on sales, and stays due.
_WAITING = ("open", "forwarded")


async def escalations(calls: ServiceCalls, caller: Principal) -> Section:
    """Escalations waiting for an answer (open, or forwarded to sales), the overdue ones
    first, each group by due time."""

    async def ask() -> Section:
        merged = _merged(
            await asyncio.gather(
                *(
                    _items(calls, "feedback", "/v1/escalations", status=status, **overdue)
                    for overdue in ({"overdue": "true"}, {})
                    for status in _WAITING
                )
            )
        )
        if merged.value is not None:
            merged.value.sort(key=lambda e: str(e["due_at"]))
            merged.value.sort(key=lambda e: not e.get("overdue"))
        return merged

    return await if_allowed(caller, "feedback:read", "feedback", ask)


async def proposals(calls: ServiceCalls, caller: Principal) -> Section:
    """Prices waiting for approval, the oldest proposal first."""
    return await if_allowed(
        caller,
        "pricing:read",
        "pricing",
        lambda: _items(calls, "pricing", "/v1/prices", status="proposed"),
    )


async def product_names(
    calls: ServiceCalls, caller: Principal, product_ids: Iterable[str]
) -> Mapping[str, str]:
    """The catalog's name of each product it knows and the caller may read; none when the
    caller lacks catalog:read (the page then shows ids)."""
    if not caller.has("catalog:read"):
        return {}
    wanted = list(dict.fromkeys(product_ids))[:NAMED_PRODUCTS]
    outcomes = await asyncio.gather(
        *(calls.get("catalog", f"/v1/products/{quote(pid, safe='')}") for pid in wanted)
    )
    return {
        pid: str(outcome.body.get("name", pid))
        for pid, outcome in zip(wanted, outcomes, strict=True)
        if isinstance(outcome, Answer) and isinstance(outcome.body, dict)
    }


@dataclass(frozen=True)
class Notice:
    """What a page says in place of a part it could not fill; `retry` asks the page to
    fetch the part again shortly (a slow service may answer next time; a scope will not)."""

    text: str
    retry: bool = False


def forbidden(service: str) -> Notice:
    return Notice(f"Your key may not read {service} data.")


def degraded(service: str) -> Notice:
    return Notice(f"The {service} service did not answer in time; trying again shortly.", True)


def why_missing(section: Section) -> Notice | None:
    """What to say for a part that could not be filled, or None when it was."""
    if section.missing is Missing.FORBIDDEN:
        return forbidden(section.service)
    if section.missing is Missing.DEGRADED:
        return degraded(section.service)
    return None
