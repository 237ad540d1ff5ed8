"""Cursor pagination: `?limit=` (default 50, at most 200) and an opaque `?cursor=`."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from shared.errors import Invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")]
Cursor = Annotated[str | None, Query(max_length=512, description="from the previous page")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The keyset position a cursor names; 422 for anything not made by `encode_cursor`."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(
            "the cursor is malformed; pass next_cursor unchanged",
            errors=[{"loc": ["query", "cursor"], "msg": "malformed cursor"}],
        ) from exc
    if not isinstance(position, list):
        raise Invalid(
            "the cursor is malformed; pass next_cursor unchanged",
            errors=[{"loc": ["query", "cursor"], "msg": "malformed cursor"}],
        )
    return position


def page_of(rows: list[T], limit: int, position: Any) -> tuple[list[T], str | None]:
    """Split a `limit + 1` fetch into the page and the cursor of the next one."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(position(page[-1]))


def decode_keyset(cursor: str | None, *, size: int) -> list[str] | None:
    """A cursor whose position is `size` strings (e.g. `[id]`); 422 for any other shape."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    if len(position) != size or not all(isinstance(part, str) for part in position):
        raise Invalid(
            "the cursor is malformed; pass next_cursor unchanged",
            errors=[{"loc": ["query", "cursor"], "msg": "malformed cursor"}],
        )
    return position
