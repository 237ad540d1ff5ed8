"""Where a decoded JSON body holds what no database can keep (shared.unstorable.py): the NUL
character, lone surrogates, numbers that are not finite and integers past 64 bits, without
I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.errors import FieldError
from shared.unstorable import (
    INTEGER_RANGE_MESSAGE,
    NOT_FINITE_MESSAGE,
    NUL_MESSAGE,
    SURROGATE_MESSAGE,
    unstorable_places,
)

NUL = NUL_MESSAGE
HALF = SURROGATE_MESSAGE
INFINITE = NOT_FINITE_MESSAGE
WIDE = INTEGER_RANGE_MESSAGE


@pytest.mark.parametrize(
    ("value", "places"),
    [
        pytest.param("a\x00", [((), NUL)], id="text"),
        pytest.param({"name": "ok", "tags": ["x", "\x00y"]}, [(("tags", 1), NUL)], id="in-a-list"),
        pytest.param({"a": {"b": {"c": "\x00"}}}, [(("a", "b", "c"), NUL)], id="nested"),
        pytest.param({"k\x00ey": 1}, [(("key",), NUL)], id="key"),
        pytest.param({"k\x00": "\x00"}, [(("k",), NUL), (("k\x00",), NUL)], id="key-and-value"),
        pytest.param({"a": "x\ud800"}, [(("a",), HALF)], id="high-surrogate"),
        pytest.param(["\udfff"], [((0,), HALF)], id="low-surrogate"),
        pytest.param({"n\udc00": 1}, [(("n",), HALF)], id="surrogate-key"),
        pytest.param("\U0001f600 \u00e9 \uffff", [], id="astral-and-other-text-is-kept"),
        pytest.param({"a": [float("nan")]}, [(("a", 0), INFINITE)], id="nan"),
        pytest.param({"a": float("-inf")}, [(("a",), INFINITE)], id="infinity"),
        pytest.param({"a": [2**63]}, [(("a", 0), WIDE)], id="past-64-bits"),
        pytest.param({"a": -(2**63) - 1}, [(("a",), WIDE)], id="below-64-bits"),
        pytest.param([10**40], [((0,), WIDE)], id="far-past"),
        pytest.param(
            [1, 2.5, -0.0, 1e40, 2**63 - 1, -(2**63), None, True, "NaN", "9" * 40],
            [],
            id="none-here",
        ),
        pytest.param("\\u0000", [], id="backslash-u0000-is-text"),
    ],
)
def test_unstorable_places(value: Any, places: list[tuple[tuple[Any, ...], str]]) -> None:
    assert list(unstorable_places(value)) == [FieldError(loc, msg) for loc, msg in places]


def test_the_json_escapes_are_found_after_decoding() -> None:
    assert list(unstorable_places(json.loads(b'{"a": ["\\u0000"]}'))) == [FieldError(("a", 0), NUL)]
    assert list(unstorable_places(json.loads(b'{"a": "\\uD800"}'))) == [FieldError(("a",), HALF)]
    # An escaped pair is one character (an emoji); an escaped backslash is no escape.
    assert list(unstorable_places(json.loads(b'["\\ud83d\\ude00", "\\\\u0000"]'))) == []
    # Python's decoder takes these, which are not JSON; an exponent past a float's range is
    # infinity, one below it zero (kept: it is the nearest float).
    assert list(unstorable_places(json.loads(b"[NaN, -Infinity, 1e400, 1e-400]"))) == [
        FieldError((0,), INFINITE),
        FieldError((1,), INFINITE),
        FieldError((2,), INFINITE),
    ]
    # Any integer decodes exactly; one past 64 bits is refused, as the encoder cannot write it.
    assert list(
        unstorable_places(json.loads(b"[9223372036854775807, 9223372036854775808, 1.5e19]"))
    ) == [FieldError((1,), WIDE)]
