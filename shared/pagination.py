"""Keyset pagination: `?limit=` (default 50, at most 200) and an opaque `?cursor=`.

A list declares its order once, as a `Keyset`; `Keyset.page` sorts, skips to the row after
the cursor, fetches one row more than the page and names where the next page starts. The
cursor holds the order's fingerprint and the last row's key values, so a cursor of another
list, or one tampered with, is a 422 problem rather than a 500 or a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Row,
    Select,
    SmallInteger,
    and_,
    or_,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.types import TypeDecorator

from shared.errors import Invalid, field_error
from shared.types import utc_representable

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
T = TypeVar("T")
U = TypeVar("U")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")]
Cursor = Annotated[str | None, Query(max_length=512, description="from the previous page")]

# The key values a cursor may hold, by the Python type of their column.
_KINDS = (str, int, float, datetime, date)
# The integers a column of each type holds on PostgreSQL (SQLite's INTEGER holds 64 bits,
# but the schema is the same on both); subclasses before Integer.
_INTEGER_BITS = ((BigInteger, 64), (SmallInteger, 16), (Integer, 32))


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None

    def map(self, shape: Callable[[T], U]) -> Page[U]:
        """The same page with each item shaped, e.g. a row into its public model."""
        return Page(items=[shape(item) for item in self.items], next_cursor=self.next_cursor)


def encode_cursor(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The keyset position a cursor names; 422 for anything not made by `encode_cursor`."""
    if cursor is None:
        return None
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        # validate: a character outside the alphabet is an error, not silently dropped.
        position = orjson.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _malformed() from exc
    if not isinstance(position, list):
        raise _malformed()
    return position


def _malformed() -> Invalid:
    return field_error(
        "cursor",
        "malformed cursor",
        where="query",
        detail="the cursor is malformed; pass next_cursor unchanged",
    )


@dataclass(frozen=True)
class _Key:
    column: ColumnElement[Any]
    kind: type
    descending: bool
    # For an integer key, the values its column can hold: a cursor past them was not ours.
    integers: range | None = None

    def past(self, value: object) -> ColumnElement[bool]:
        return self.column < value if self.descending else self.column > value

    def encode(self, value: Any) -> Any:
        return value.isoformat() if self.kind in (datetime, date) else value

    def decode(self, value: Any) -> Any:
        """The value a cursor holds for this key; 422 unless it has the key's type."""
        # `type(...) is`: bool is an int subclass, and a cursor of [true] was not made by us.
        if self.kind is float and type(value) in (int, float):
            return float(value)
        if self.kind is datetime and type(value) is str:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise _malformed() from None
            if moment.tzinfo is not None:
                try:
                    # Compared in UTC: 0001-01-01T00:00:00+14:00 has no UTC form.
                    return utc_representable(moment)
                except ValueError:
                    raise _malformed() from None
        elif self.kind is date and type(value) is str:
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise _malformed() from None
        elif type(value) is self.kind and (self.integers is None or value in self.integers):
            return value
        raise _malformed()


class Keyset:
    """The order of a list, for keyset pagination.

    Give the columns as to `order_by`: `Keyset(price.c.published_at.desc(), price.c.id.desc())`.
    The last column must be unique (the id), so ties break and a page boundary always falls
    between two rows; every column must be NOT NULL in the rows listed. Directions may mix.
    """

    def __init__(self, *order: ColumnElement[Any]) -> None:
        if not order:
            raise ValueError("a keyset needs at least one column")
        self._order = order
        self._keys = tuple(_key_of(column) for column in order)
        text = ",".join(f"{key.column}{' desc' if key.descending else ''}" for key in self._keys)
        # A cursor names its order, so one from another list (or another sort) is refused.
        self._tag = hashlib.blake2s(text.encode(), digest_size=4).hexdigest()

    async def page(
        self, session: AsyncSession, stmt: Select[Any], *, limit: int, cursor: str | None
    ) -> Page[Row[Any]]:
        """One page of `stmt` in this order: at most `limit` rows, from just after `cursor`."""
        stmt = stmt.order_by(*self._order)
        if (values := self._position(cursor)) is not None:
            stmt = stmt.where(self._after(values))
        rows = list((await session.execute(stmt.limit(limit + 1))).all())
        if len(rows) <= limit:
            return Page(items=rows, next_cursor=None)
        return Page(items=rows[:limit], next_cursor=self._cursor_after(rows[limit - 1]))

    def _cursor_after(self, row: Row[Any]) -> str:
        """The cursor of the page that starts after `row`."""
        mapping = row._mapping
        return self.cursor_at(*(mapping[key.column] for key in self._keys))

    def cursor_at(self, *values: Any) -> str:
        """The cursor of the page that starts after the row with these key values, in the
        order's columns: how a list merged from several databases that share this order
        (the gateway's dead letters) names where its next page starts in each of them."""
        if len(values) != len(self._keys):
            raise ValueError(f"this order has {len(self._keys)} keys, not {len(values)}")
        return encode_cursor(
            [self._tag, *(key.encode(value) for key, value in zip(self._keys, values, strict=True))]
        )

    def _position(self, cursor: str | None) -> list[Any] | None:
        """The key values a cursor holds; 422 unless it was made for this order."""
        position = decode_cursor(cursor)
        if position is None:
            return None
        tag, *values = position or [None]
        if tag != self._tag or len(values) != len(self._keys):
            raise _malformed()
        return [key.decode(value) for key, value in zip(self._keys, values, strict=True)]

    def _after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        keys = self._keys
        directions = {key.descending for key in keys}
        if len(keys) > 1 and len(directions) == 1:
            # A row-value comparison, which an index on the columns can serve directly.
            columns, bounds = tuple_(*(key.column for key in keys)), tuple(values)
            return columns < bounds if directions == {True} else columns > bounds
        # One key or mixed directions: past the first key, or equal to it and past the next...
        return or_(
            *(
                and_(
                    *(key.column == value for key, value in zip(keys[:n], values[:n], strict=True)),
                    keys[n].past(values[n]),
                )
                for n in range(len(keys))
            )
        )


def _key_of(order: ColumnElement[Any]) -> _Key:
    descending = isinstance(order, UnaryExpression) and order.modifier is operators.desc_op
    column = order.element if isinstance(order, UnaryExpression) else order
    column_type = column.type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    kind = column_type.python_type
    if kind not in _KINDS:
        raise TypeError(f"{column}: a keyset column holds str, int, float, datetime or date")
    bits = next((bits for kind, bits in _INTEGER_BITS if isinstance(column_type, kind)), None)
    integers = range(-(2 ** (bits - 1)), 2 ** (bits - 1)) if bits else None
    return _Key(column, kind, descending, integers)
