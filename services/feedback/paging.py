"""Keyset pages of feedback's lists: the page-and-cursor pair and the malformed-cursor error."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from shared.errors import Invalid

PageOf = tuple[list[Row[Any]], str | None]


def malformed_cursor() -> Invalid:
    return Invalid(
        "the cursor is malformed; pass next_cursor unchanged",
        errors=[{"loc": ["query", "cursor"], "msg": "malformed cursor"}],
    )
