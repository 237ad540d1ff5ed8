"""Keyset pagination against a real database (SQLite and PostgreSQL): every walk through the
pages yields the rows once each, in order, and a cursor not made for the list is a 422."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict

import pytest
from sqlalchemy import Column, Date, Float, Integer, Numeric, String, Table, insert, select

from shared.db import Database, new_metadata
from shared.errors import Invalid
from shared.pagination import Keyset, Page, decode_cursor, encode_cursor
from shared.types import UtcDateTime

metadata = new_metadata()
entry = Table(
    "entry",
    metadata,
    Column("id", String(8), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("weight", Float, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("price", Numeric(10, 2), nullable=False),
    Column("day", Date, nullable=False),
)
START = datetime(2025, 1, 1, tzinfo=UTC)


class Row(TypedDict):
    id: str
    score: int
    weight: float
    at: datetime
    price: int
    day: date


# Ties on purpose: scores and times repeat, so only the id tells some rows apart.
ROWS: list[Row] = [
    {
        "id": f"e{n:02d}",
        "score": n % 3,
        "weight": (n % 4) / 2,
        "at": START + timedelta(hours=n % 2),
        "price": n,
        "day": date(2025, 1, 1 + n % 4),
    }
    for n in range(11)
]
MALFORMED = [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]

BY_ID = Keyset(entry.c.id)
BY_SCORE_DESC = Keyset(entry.c.score.desc(), entry.c.id.desc())
BY_SCORE_DESC_ID_ASC = Keyset(entry.c.score.desc(), entry.c.id)
BY_TIME_DESC = Keyset(entry.c.at.desc(), entry.c.id.desc())
BY_WEIGHT = Keyset(entry.c.weight, entry.c.id)
BY_DAY = Keyset(entry.c.day, entry.c.id)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_all([metadata])
    async with database.sessions() as session, session.begin():
        await session.execute(insert(entry), ROWS)
    yield database
    await database.dispose()


async def page(db: Database, keyset: Keyset, *, limit: int, cursor: str | None = None) -> Page[Any]:
    async with db.reader() as session:
        return await keyset.page(session, select(entry), limit=limit, cursor=cursor)


async def walk(db: Database, keyset: Keyset, *, limit: int) -> list[list[str]]:
    """The ids of every page, following next_cursor to the end."""
    pages, cursor = [], None
    while True:
        found = await page(db, keyset, limit=limit, cursor=cursor)
        pages.append([row.id for row in found.items])
        if found.next_cursor is None:
            return pages
        cursor = found.next_cursor


async def walked(db: Database, keyset: Keyset, *, limit: int) -> list[str]:
    return [row_id for ids in await walk(db, keyset, limit=limit) for row_id in ids]


def ids(rows: list[Row]) -> list[str]:
    return [row["id"] for row in rows]


def bad_cursor(found: Invalid) -> None:
    assert found.status == 422
    assert found.extra == {"field": "cursor", "errors": MALFORMED}


async def test_pages_follow_the_cursor_round_trip(db: Database) -> None:
    pages = await walk(db, BY_ID, limit=4)
    assert pages == [
        ["e00", "e01", "e02", "e03"],
        ["e04", "e05", "e06", "e07"],
        ["e08", "e09", "e10"],
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 11, 12])
async def test_descending_order_with_ties_yields_each_row_once(db: Database, limit: int) -> None:
    pages = await walk(db, BY_SCORE_DESC, limit=limit)
    assert all(len(page_ids) == limit for page_ids in pages[:-1])
    in_order = sorted(ROWS, key=lambda r: (r["score"], r["id"]), reverse=True)
    assert [row_id for page_ids in pages for row_id in page_ids] == ids(in_order)


@pytest.mark.parametrize("limit", [1, 4])
async def test_mixed_directions_and_each_column_type(db: Database, limit: int) -> None:
    by_id = sorted(ROWS, key=lambda r: r["id"])
    # Stable sorts: the later key leads, equal rows keep their order by id.
    score_desc_id_asc = sorted(by_id, key=lambda r: r["score"], reverse=True)
    assert await walked(db, BY_SCORE_DESC_ID_ASC, limit=limit) == ids(score_desc_id_asc)
    time_desc = sorted(ROWS, key=lambda r: (r["at"], r["id"]), reverse=True)
    assert await walked(db, BY_TIME_DESC, limit=limit) == ids(time_desc)
    weight_asc = sorted(ROWS, key=lambda r: (r["weight"], r["id"]))
    assert await walked(db, BY_WEIGHT, limit=limit) == ids(weight_asc)
    day_asc = sorted(ROWS, key=lambda r: (r["day"], r["id"]))
    assert await walked(db, BY_DAY, limit=limit) == ids(day_asc)


async def test_a_page_that_reaches_the_end_has_no_next_cursor(db: Database) -> None:
    assert (await page(db, BY_ID, limit=11)).next_cursor is None
    async with db.reader() as session:
        empty = await BY_ID.page(
            session, select(entry).where(entry.c.score > 5), limit=3, cursor=None
        )
    assert empty == Page(items=[], next_cursor=None)


async def test_a_cursor_made_from_key_values_starts_after_that_row(db: Database) -> None:
    first = await page(db, BY_TIME_DESC, limit=3)
    last = first.items[-1]

    made = BY_TIME_DESC.cursor_at(last.at, last.id)

    assert made == first.next_cursor
    after_e04 = await page(db, BY_ID, limit=2, cursor=BY_ID.cursor_at("e04"))
    assert [row.id for row in after_e04.items] == ["e05", "e06"]
    with pytest.raises(ValueError, match="2 keys"):
        BY_TIME_DESC.cursor_at("e04")


async def test_a_tampered_cursor_is_422(db: Database) -> None:
    cursor = (await page(db, BY_ID, limit=2)).next_cursor
    assert cursor is not None
    for tampered in (cursor[:-3], cursor + "!", "%%%", cursor[1:]):
        with pytest.raises(Invalid) as caught:
            await page(db, BY_ID, limit=2, cursor=tampered)
        bad_cursor(caught.value)


async def test_a_cursor_of_the_wrong_shape_is_422(db: Database) -> None:
    cursor = (await page(db, BY_TIME_DESC, limit=2)).next_cursor
    tag, at, last_id = decode_cursor(cursor) or []
    wrong = [
        [tag, at],  # too short
        [tag, at, last_id, "x"],  # too long
        [tag, 7, last_id],  # a number for a time
        [tag, at.removesuffix("+00:00"), last_id],  # a time without its zone
        [tag, "yesterday", last_id],
        # Aware, but with no UTC form a datetime can hold: a 500 when bound, before.
        [tag, "0001-01-01T00:00:00+14:00", last_id],
        [tag, "9999-12-31T23:59:59-14:00", last_id],
        [tag, at, 7],  # a number for an id
        [tag, at, None],
        ["another-list", at, last_id],
        [],
    ]
    for position in wrong:
        with pytest.raises(Invalid) as caught:
            await page(db, BY_TIME_DESC, limit=2, cursor=encode_cursor(position))
        bad_cursor(caught.value)
    # Right shape, right tag: an edited position is only another place to start from.
    edited = encode_cursor([tag, START.isoformat(), "e05"])
    assert [row.id for row in (await page(db, BY_TIME_DESC, limit=2, cursor=edited)).items] == [
        "e04",
        "e02",
    ]


async def test_a_cursor_of_another_list_or_sort_is_422(db: Database) -> None:
    by_score = (await page(db, BY_SCORE_DESC, limit=2)).next_cursor
    by_score_id_asc = (await page(db, BY_SCORE_DESC_ID_ASC, limit=2)).next_cursor
    # Same shape ([int, str]), other order: the cursor names the order it was made for.
    for keyset, cursor in ((BY_SCORE_DESC_ID_ASC, by_score), (BY_SCORE_DESC, by_score_id_asc)):
        with pytest.raises(Invalid) as caught:
            await page(db, keyset, limit=2, cursor=cursor)
        bad_cursor(caught.value)
    # bool is an int subclass, yet [true] was never written for an integer key; nor an
    # integer its column cannot hold (`score` is an INTEGER: 32 bits on PostgreSQL), a 500
    # when bound, before.
    tag, _, last_id = decode_cursor(by_score) or []
    for value in (True, 2**31, -(2**31) - 1, 2**63, 2**64 - 1):
        with pytest.raises(Invalid) as caught:
            await page(db, BY_SCORE_DESC, limit=2, cursor=encode_cursor([tag, value, last_id]))
        bad_cursor(caught.value)
    lowest = encode_cursor([tag, -(2**31), last_id])
    assert (await page(db, BY_SCORE_DESC, limit=2, cursor=lowest)).items == []
    highest = encode_cursor([tag, 2**31 - 1, last_id])
    assert len((await page(db, BY_SCORE_DESC, limit=2, cursor=highest)).items) == 2


async def test_a_date_key_is_its_iso_text_in_the_cursor(db: Database) -> None:
    cursor = (await page(db, BY_DAY, limit=2)).next_cursor
    tag, day, last_id = decode_cursor(cursor) or []
    assert (day, last_id) == ("2025-01-01", "e04")
    for wrong in ("2025-13-01", "tomorrow", 20250101, None):
        with pytest.raises(Invalid) as caught:
            await page(db, BY_DAY, limit=2, cursor=encode_cursor([tag, wrong, last_id]))
        bad_cursor(caught.value)


def test_a_keyset_takes_only_columns_a_cursor_can_hold() -> None:
    with pytest.raises(TypeError, match="price"):
        Keyset(entry.c.price, entry.c.id)
    with pytest.raises(ValueError, match="at least one"):
        Keyset()


def test_page_map_shapes_items_and_keeps_the_cursor() -> None:
    assert Page(items=[1, 2], next_cursor="c").map(str) == Page(items=["1", "2"], next_cursor="c")
