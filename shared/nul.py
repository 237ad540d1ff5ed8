"""The NUL character (U+0000) refused in every request input: PostgreSQL cannot store it in
text or JSON (a 500 there), SQLite stores it and its full-text search reads it as the end of
the string. The middleware refuses it in the path and the query string; `refuse_nul_in_body`
refuses it in a JSON body, before the body model runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from fastapi import Request
from fastapi.routing import APIRoute

from shared.errors import FieldError, invalid_input

NUL_MESSAGE = "must not contain the NUL character"
# JSON can carry a NUL only as this escape (a raw control character is not valid JSON), so a
# body without these bytes needs no closer look.
_ESCAPED_NUL = b"\\u0000"
# Enough places to fix a body by; a batch full of NULs is not listed whole.
MAX_REPORTED = 20

Loc = tuple[str | int, ...]


def nul_locations(value: object, loc: Loc = ()) -> Iterator[Loc]:
    """Where a decoded JSON value holds a NUL: in a text, or in an object's key (the key
    itself is the place then)."""
    if isinstance(value, str):
        if "\x00" in value:
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield (*loc, key.replace("\x00", ""))
            yield from nul_locations(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_locations(item, (*loc, index))


async def refuse_nul_in_body(request: Request) -> None:
    """422 `invalid-input` naming each place (up to `MAX_REPORTED`) where the JSON body holds
    a NUL. Only routes whose body is a model are checked: a route that reads its body raw
    (storefront ingestion, which refuses one event and accepts the rest; the gateway's
    forwarding) checks what it keeps itself. A body that is not JSON is left to the route's
    own parsing, which refuses it."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return
    body = await request.body()
    if _ESCAPED_NUL not in body:
        return
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    places: list[Loc] = []
    for loc in nul_locations(data):
        places.append(loc)
        if len(places) == MAX_REPORTED:
            break
    if places:
        # Worded as request validation words its 422s: "body.name: ...; body.tags.1: ...".
        detail = "; ".join(
            f"{'.'.join(map(str, ('body', *loc)))}: {NUL_MESSAGE}" for loc in places[:5]
        )
        raise invalid_input([FieldError(loc, NUL_MESSAGE) for loc in places], detail=detail)
