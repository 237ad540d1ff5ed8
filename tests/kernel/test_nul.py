"""Where a decoded JSON body holds a NUL character (shared/nul.py), without I/O."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from shared.nul import nul_locations


@pytest.mark.parametrize(
    ("value", "places"),
    [
        pytest.param("a\x00", [()], id="text"),
        pytest.param({"name": "ok", "tags": ["x", "\x00y"]}, [("tags", 1)], id="in-a-list"),
        pytest.param({"a": {"b": {"c": "\x00"}}}, [("a", "b", "c")], id="nested"),
        pytest.param({"k\x00ey": 1}, [("key",)], id="key"),
        pytest.param({"k\x00": "\x00"}, [("k",), ("k\x00",)], id="key-and-value"),
        pytest.param([1, 2.5, None, True, "fine"], [], id="no-text-holds-one"),
        pytest.param("\\u0000", [], id="backslash-u0000-is-text"),
    ],
)
def test_nul_locations(value: Any, places: list[tuple[Any, ...]]) -> None:
    assert list(nul_locations(value)) == places


def test_the_json_escape_is_found_after_decoding() -> None:
    assert list(nul_locations(orjson.loads(b'{"a": ["\\u0000"]}'))) == [("a", 0)]
    assert list(nul_locations(orjson.loads(b'{"a": ["\\\\u0000"]}'))) == []
