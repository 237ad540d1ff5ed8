"""Text no database can keep, refused in every request input: the NUL character (U+0000),
which PostgreSQL refuses in text and JSON (a 500 there) and SQLite's full-text search reads as
the end of the string, and a lone surrogate (U+D800-U+DFFF, half of a UTF-16 pair), which is
not Unicode text and cannot be written as UTF-8 at all (a 500 on both databases).

The middleware refuses a NUL in the path and the query string (a surrogate cannot arrive
there: percent-escaped bytes are read as UTF-8 with replacement). `refuse_unstorable_body`
refuses both in a JSON body, before the body model runs; pydantic refuses a surrogate in a
plain string field already, but not inside a free-form JSON value (`attributes`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from fastapi import Request
from fastapi.routing import APIRoute

from shared.errors import FieldError, invalid_input

NUL_MESSAGE = "must not contain the NUL character"
SURROGATE_MESSAGE = "must not contain a lone surrogate (\\ud800-\\udfff): it is not Unicode text"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# JSON can carry either only as an escape (a raw control character is not valid JSON, and a
# surrogate's UTF-8 bytes are not valid UTF-8), so a body without these bytes needs no closer
# look. Escaped pairs (`\ud83d\ude00`, an emoji) are looked at and pass.
_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")
# Enough places to fix a body by; a batch full of them is not listed whole.
MAX_REPORTED = 20

Loc = tuple[str | int, ...]


def unstorable(text: str) -> str | None:
    """Why the text cannot be kept, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE


def unstorable_places(value: object, loc: Loc = ()) -> Iterator[FieldError]:
    """Where a decoded JSON value holds text that cannot be kept, and why: in a text, or in
    an object's key (the key itself is the place then, shown without the character)."""
    if isinstance(value, str):
        if why := unstorable(value):
            yield FieldError(loc, why)
    elif isinstance(value, dict):
        for key, item in value.items():
            if why := unstorable(key):
                yield FieldError((*loc, _UNSTORABLE.sub("", key)), why)
            yield from unstorable_places(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable_places(item, (*loc, index))


async def refuse_unstorable_body(request: Request) -> None:
    """422 `invalid-input` naming each place (up to `MAX_REPORTED`) where the JSON body holds
    text that cannot be kept. Only routes whose body is a model are checked: a route that
    reads its body raw (storefront ingestion, which refuses one event and accepts the rest;
    the gateway's forwarding) checks what it keeps itself. A body that is not JSON is left to
    the route's own parsing, which refuses it."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return
    body = await request.body()
    if not _ESCAPE.search(body):
        return
    try:
        # The decoder FastAPI reads bodies with (orjson refuses lone surrogates outright).
        data = json.loads(body)
    except ValueError:
        return
    errors: list[FieldError] = []
    for error in unstorable_places(data):
        errors.append(error)
        if len(errors) == MAX_REPORTED:
            break
    if errors:
        # Worded as request validation words its 422s: "body.name: ...; body.tags.1: ...".
        detail = "; ".join(
            f"{'.'.join(map(str, ('body', *error.loc)))}: {error.msg}" for error in errors[:5]
        )
        raise invalid_input(errors, detail=detail)
