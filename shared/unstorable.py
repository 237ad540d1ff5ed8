"""JSON values no database can keep, refused in every request body before its model runs:

- the NUL character (U+0000): PostgreSQL refuses it in text and JSON (a 500 there), and
  SQLite's full-text search reads it as the end of the string;
- a lone surrogate (U+D800-U+DFFF, half of a UTF-16 pair): not Unicode text, it cannot be
  written as UTF-8 at all (a 500 on both databases);
- `NaN`, `Infinity` and numbers past a float's range (`1e400`): not JSON (RFC 8259), yet
  Python's decoder, which FastAPI uses, takes them; a JSON column then kept `null` in their
  place on SQLite, and PostgreSQL refused them (a 500);
- an integer past 64 bits (`2**63` and beyond, `-2**63 - 1` and below): Python's decoder
  takes any integer, but orjson, which writes the events, the responses and the idempotency
  records, cannot (a 500: schemathesis found it in a questionnaire's answers), and most JSON
  readers (PostgreSQL's `bigint`, Java's `long`, Go's `int64`) stop at the signed range.

Pydantic refuses them in plain string and number fields already, but not inside a free-form
JSON value (a product's `attributes`). The middleware refuses a NUL in the path and the query
string; a surrogate cannot arrive there (percent-escaped bytes are read as UTF-8 with
replacement).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

from fastapi import Request
from fastapi.routing import APIRoute

from shared.errors import FieldError, invalid_input

NUL_MESSAGE = "must not contain the NUL character"
SURROGATE_MESSAGE = "must not contain a lone surrogate (\\ud800-\\udfff): it is not Unicode text"
NOT_FINITE_MESSAGE = "must be a finite number (JSON has no NaN or Infinity)"
_INT64 = range(-(2**63), 2**63)
INTEGER_RANGE_MESSAGE = f"must be an integer from {_INT64.start} to {_INT64.stop - 1} (64 bits)"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# What a body must hold for any of them to be in it: a NUL or a surrogate only as an escape (a
# raw control character is not valid JSON, a surrogate's UTF-8 bytes are not valid UTF-8),
# the two constants, an exponent of three digits or a run of 19 digits (an integer past 64
# bits has at least 19; so has a float written out past its range). A body without these
# bytes needs no closer look; one with an escaped pair (an emoji), "NaN" in a text or a long
# number that fits is looked at and passes.
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|NaN|Infinity|[eE][-+]?\d{3}|\d{19}")
# Enough places to fix a body by; a batch full of them is not listed whole.
MAX_REPORTED = 20

Loc = tuple[str | int, ...]


def unstorable_text(text: str) -> str | None:
    """Why the text cannot be kept, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE


def unstorable_places(value: object, loc: Loc = ()) -> Iterator[FieldError]:
    """Where a decoded JSON value holds what cannot be kept, and why: a text, an object's key
    (the key itself is the place then, shown without the character), a number that is not
    finite, or an integer past 64 bits."""
    if isinstance(value, str):
        if why := unstorable_text(value):
            yield FieldError(loc, why)
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield FieldError(loc, NOT_FINITE_MESSAGE)
    elif isinstance(value, int):
        if value not in _INT64:
            yield FieldError(loc, INTEGER_RANGE_MESSAGE)
    elif isinstance(value, dict):
        for key, item in value.items():
            if why := unstorable_text(key):
                yield FieldError((*loc, _UNSTORABLE.sub("", key)), why)
            yield from unstorable_places(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable_places(item, (*loc, index))


async def refuse_unstorable_body(request: Request) -> None:
    """422 `invalid-input` naming each place (up to `MAX_REPORTED`) where the JSON body holds
    a value that cannot be kept. Only routes whose body is a model are checked: a route that
    reads its body raw (storefront ingestion, which refuses one event and accepts the rest;
    the gateway's forwarding) checks what it keeps itself. A body that is not JSON is left to
    the route's own parsing, which refuses it."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return
    body = await request.body()
    if not _SUSPECT.search(body):
        return
    try:
        # The decoder FastAPI reads bodies with (orjson refuses all of these outright).
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
