"""`GET /v1/dead-letters` on the gateway: every service's dead letters in one list.

Each service keeps two kinds (shared/dead_letter_api.py): what its consumer could not apply
(`source=consumer`, newest first by id, a UUIDv7) and the outbox events its relay parked
because the broker can never take them (`source=outbox`, newest first by outbox `seq`). The
gateway reads each (service, source) stream from its own place, merges the pages by id
(UUIDv7 both: a letter's from when it was dead-lettered, a parked event's from when it was
made) taking each stream's items in its own order, and cuts at `limit`. The next cursor
holds every stream's place: after the last item shown from it, in that stream's own order,
so no item is skipped or shown twice whatever the mix. Replay and discard go to the service
that holds the letter or the parked event, through routing
(`/v1/<service>/dead-letters/{letter_id}/replay`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from gateway.upstream import Answer, Failure, ServiceCalls, Trouble
from shared.dead_letters import LETTERS
from shared.errors import DomainError, Invalid, field_error
from shared.pagination import decode_cursor, encode_cursor
from shared.parked import PARKED_ROWS

# Names this cursor format, so a service's own cursor (or another list's) is refused.
_CURSOR_TAG = "dl2"
_LETTER_ID_MAX = 64


class Source(StrEnum):
    CONSUMER = "consumer"  # what a consumer could not apply
    OUTBOX = "outbox"  # what a relay parked


@dataclass(frozen=True)
class Stream:
    """One service's list of one kind."""

    service: str
    source: Source


# Where a stream resumes: None from its start, else after the item with this key (a letter's
# id for the consumer's list, a parked event's outbox seq for the relay's).
Place = str | int | None


class MergedDeadLetters(BaseModel):
    """A page of every service's dead letters and parked outbox events, newest first."""

    items: list[dict[str, Any]] = Field(
        description="each as its service's `GET /v1/dead-letters` shows it (`source`: consumer "
        "or outbox), plus `service`, the service holding it"
    )
    next_cursor: str | None
    degraded: list[str] = Field(description="services that failed or did not answer in time")


def sources_for(source: Source | None, filters: Mapping[str, str]) -> list[Source]:
    """The kinds to list: the one asked for, else both, but only consumer letters when a
    filter names what parked events do not have (a consumer group, the replayed status)."""
    if source is not None:
        return [source]
    if "consumer" in filters or filters.get("status") == "replayed":
        return [Source.CONSUMER]
    return [Source.CONSUMER, Source.OUTBOX]


async def merged_dead_letters(
    *,
    calls: ServiceCalls,
    services: Sequence[str],
    sources: Sequence[Source],
    filters: Mapping[str, str],
    limit: int,
    cursor: str | None,
) -> MergedDeadLetters:
    """One page of the services' dead letters merged newest first; a service's refusal of
    the filters (422) is the answer, any other failure names it degraded."""
    streams = [Stream(service, source) for service in services for source in sources]
    places = _places(cursor, streams)
    asked = list(places)
    outcomes = await asyncio.gather(
        *(_page(calls, stream, places[stream], filters, limit) for stream in asked)
    )
    for outcome in outcomes:
        if isinstance(outcome, Failure) and outcome.trouble is Trouble.INVALID:
            raise _refusal(outcome)
    pages: dict[Stream, list[dict[str, Any]]] = {}
    more: set[Stream] = set()
    degraded: set[str] = set()
    for stream, outcome in zip(asked, outcomes, strict=True):
        items = _items(outcome, stream) if isinstance(outcome, Answer) else None
        if items is None:
            # Failed, or answered in a shape this gateway cannot read.
            degraded.add(stream.service)
            continue
        pages[stream] = items
        if isinstance(outcome, Answer) and outcome.body.get("next_cursor"):
            more.add(stream)
    page = list(itertools.islice(_newest_first(pages), limit))
    next_places = _next_places(places, pages, more, page)
    return MergedDeadLetters(
        items=[{**item, "service": s.service, "source": s.source.value} for s, item in page],
        next_cursor=_cursor_of(next_places) if next_places else None,
        degraded=sorted(degraded),
    )


async def _page(
    calls: ServiceCalls, stream: Stream, place: Place, filters: Mapping[str, str], limit: int
) -> Answer | Failure:
    params: dict[str, str | int] = {**filters, "source": stream.source.value, "limit": limit}
    if place is not None:
        keyset = LETTERS if stream.source is Source.CONSUMER else PARKED_ROWS
        params["cursor"] = keyset.cursor_at(place)
    return await calls.get(stream.service, "/v1/dead-letters", params=params)


def _items(answer: Answer, stream: Stream) -> list[dict[str, Any]] | None:
    """The items of a stream's page, or None when the page cannot be read: each needs its
    id, and a parked event its seq too (its place)."""
    body = answer.body
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and _key(item, stream) is not None for item in items
    ):
        return None
    return items


def _key(item: dict[str, Any], stream: Stream) -> Place:
    """An item's place in its stream's order."""
    key = item.get("id") if stream.source is Source.CONSUMER else item.get("seq")
    wanted = str if stream.source is Source.CONSUMER else int
    # `type(...) is`: a bool is an int subclass, and never a seq.
    if type(key) is not wanted or not isinstance(item.get("id"), str):
        return None
    return key


def _newest_first(
    pages: Mapping[Stream, list[dict[str, Any]]],
) -> Iterator[tuple[Stream, dict[str, Any]]]:
    """The pages merged by id, newest first; each stream's items keep their own order (a
    head is taken only after the items before it in its stream)."""
    tagged = [[(stream, item) for item in items] for stream, items in pages.items()]
    return heapq.merge(*tagged, key=lambda pair: str(pair[1]["id"]), reverse=True)


def _next_places(
    places: Mapping[Stream, Place],
    pages: Mapping[Stream, list[dict[str, Any]]],
    more: set[Stream],
    shown: list[tuple[Stream, dict[str, Any]]],
) -> dict[Stream, Place]:
    """Every stream's place after this page, for the streams with items left: after the
    last item shown from it, else where it was. A stream that did not answer keeps its
    place while others still have items; alone, it ends the walk (a client is not sent
    round in circles while a service is down)."""
    last: dict[Stream, dict[str, Any]] = {}
    for stream, item in shown:
        last[stream] = item
    taken = Counter(stream for stream, _ in shown)
    answered = {
        stream: _key(last[stream], stream) if stream in last else places[stream]
        for stream, items in pages.items()
        if taken[stream] < len(items) or stream in more
    }
    if not answered:
        return {}
    unanswered = {stream: place for stream, place in places.items() if stream not in pages}
    return {**unanswered, **answered}


def _cursor_of(places: Mapping[Stream, Place]) -> str:
    entries = [[s.service, s.source.value, place] for s, place in places.items()]
    return encode_cursor([_CURSOR_TAG, entries])


def _places(cursor: str | None, streams: Sequence[Stream]) -> dict[Stream, Place]:
    """Where each stream resumes: every one from its start without a cursor; with one, the
    streams it names (the others are done). 422 for a cursor this list did not make."""
    position = decode_cursor(cursor)
    if position is None:
        return dict.fromkeys(streams)
    wanted = set(streams)
    if len(position) != 2 or position[0] != _CURSOR_TAG or not isinstance(position[1], list):
        raise _malformed()
    places: dict[Stream, Place] = {}
    for entry in position[1]:
        stream, place = _entry(entry)
        if stream in wanted:
            places[stream] = place
    return places


def _entry(entry: Any) -> tuple[Stream, Place]:
    if not isinstance(entry, list) or len(entry) != 3:
        raise _malformed()
    service, source, place = entry
    if not isinstance(service, str) or source not in tuple(Source):
        raise _malformed()
    stream = Stream(service, Source(source))
    if place is None:
        return stream, None
    if stream.source is Source.CONSUMER:
        if type(place) is str and 0 < len(place) <= _LETTER_ID_MAX:
            return stream, place
    elif type(place) is int and place >= 0:
        return stream, place
    raise _malformed()


def _malformed() -> Invalid:
    return field_error(
        "cursor",
        "malformed cursor",
        where="query",
        detail="the cursor is malformed; pass next_cursor unchanged",
    )


def _refusal(failure: Failure) -> DomainError:
    """The service's 400 or 422 as the gateway's own, with its field errors."""
    problem = failure.problem or {}
    if failure.status == 422:
        return Invalid(failure.detail, errors=problem.get("errors", []))
    return DomainError(failure.detail)
