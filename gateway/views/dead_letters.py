"""`GET /v1/dead-letters` on the gateway: every service's dead letters in one list.

Every service keeps its dead letters in the kernel's store, listed newest first by id
(UUIDv7, so time-ordered across databases too). The gateway asks each service for a page
from the same position, merges the pages by id and cuts at `limit`; the next page starts
after the last letter shown, which in every service is the store's own cursor for that id.
Replay and discard go to the service that holds the letter, through routing
(`/v1/<service>/dead-letters/{id}/replay`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from gateway.upstream import Answer, Failure, ServiceCalls, Trouble
from shared.dead_letters import LETTERS
from shared.errors import DomainError, Invalid


class MergedDeadLetters(BaseModel):
    """A page of every service's dead letters, newest first."""

    items: list[dict[str, Any]] = Field(
        description="each service's dead letter as its `GET /v1/dead-letters` shows it, "
        "plus `service`, the service holding it"
    )
    next_cursor: str | None
    degraded: list[str] = Field(description="services that failed or did not answer in time")


async def merged_dead_letters(
    *,
    calls: ServiceCalls,
    services: list[str],
    filters: Mapping[str, str],
    limit: int,
    cursor: str | None,
) -> MergedDeadLetters:
    """One page of the services' dead letters merged newest first; a service's refusal of
    the filters or the cursor (422) is the answer, any other failure names it degraded."""
    params: dict[str, str | int] = {**filters, "limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    outcomes = await asyncio.gather(
        *(calls.get(service, "/v1/dead-letters", params=params) for service in services)
    )
    for outcome in outcomes:
        if isinstance(outcome, Failure) and outcome.trouble is Trouble.INVALID:
            raise _refusal(outcome)
    pages = {o.service: _items(o) for o in outcomes if isinstance(o, Answer)}
    letters = sorted(
        (
            {**letter, "service": service}
            for service, items in pages.items()
            for letter in items or ()
        ),
        key=lambda letter: str(letter["id"]),
        reverse=True,
    )
    more = len(letters) > limit or any(
        isinstance(o, Answer) and o.body.get("next_cursor") for o in outcomes
    )
    page = letters[:limit]
    # A service that failed, or answered in a shape this gateway cannot read.
    degraded = [o.service for o in outcomes if isinstance(o, Failure)]
    degraded += [service for service, items in pages.items() if items is None]
    return MergedDeadLetters(
        items=page,
        next_cursor=LETTERS.cursor_at(page[-1]["id"]) if more and page else None,
        degraded=sorted(degraded),
    )


def _items(answer: Answer) -> list[dict[str, Any]] | None:
    """The letters of a service's page, or None when the page cannot be read."""
    body = answer.body
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("id"), str) for item in items
    ):
        return None
    return items


def _refusal(failure: Failure) -> DomainError:
    """The service's 400 or 422 as the gateway's own, with its field errors."""
    problem = failure.problem or {}
    if failure.status == 422:
        return Invalid(failure.detail, errors=problem.get("errors", []))
    return DomainError(failure.detail)
