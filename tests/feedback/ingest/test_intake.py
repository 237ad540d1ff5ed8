"""Validation of customer events, each on its own: every kind and every rejection reason.
Pure: no database, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.feedback.ingest.intake import KINDS, check_batch
from shared.unstorable import NUL_MESSAGE
from tests.feedback.conftest import at, event


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_accepted(kind: str) -> None:
    checked = check_batch([event(kind)])
    assert checked.rejected == []
    ((index, parsed),) = checked.valid
    assert index == 0
    assert parsed.kind == kind


def test_fields_are_parsed() -> None:
    purchase = event(
        "purchase",
        occurred_at="2025-03-01T10:00:00.123456789+02:00",
        sku=" KT-1 ",
        unit_price={"amount": "1200", "currency": "JPY"},
    )
    ((_, parsed),) = check_batch([purchase], now=datetime(2025, 3, 2, tzinfo=UTC)).valid
    assert parsed.occurred_at == datetime(2025, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
    assert parsed.sku == "KT-1"
    assert parsed.unit_price.amount == Decimal("1200")
    assert parsed.account is None
    ((_, b2b),) = check_batch([event("return", account="acme:eu-1")]).valid
    assert b2b.account == "acme:eu-1"
    # A search miss may name no product: it is about one the store lacks.
    miss = event("search_miss", product_id=None)
    del miss["results"]
    assert check_batch([miss]).rejected == []
    # Line breaks and tabs are text; CRLF is what HTML forms send.
    assert check_batch([event("question", text="Is it\r\n\tsafe?")]).rejected == []


REJECTIONS: list[tuple[str, dict[str, Any], list[str], str]] = [
    ("review", {"rating": 0}, ["rating"], "greater than or equal to 1"),
    ("review", {"rating": 6}, ["rating"], "less than or equal to 5"),
    ("review", {"rating": "5"}, ["rating"], "valid integer"),
    ("review", {"rating": 4.5}, ["rating"], "valid integer"),
    ("review", {"rating": None}, ["rating"], "Field required"),
    ("review", {"text": "x" * 5001}, ["text"], "at most 5000 characters"),
    ("review", {"text": "nul \x00 byte"}, ["text"], NUL_MESSAGE),
    ("review", {"text": "bell \x07"}, ["text"], "control characters"),
    ("review", {"text": "c1 \x85"}, ["text"], "control characters"),
    ("review", {"text": "   "}, ["text"], "blank"),
    ("review", {"text": 42}, ["text"], "valid string"),
    ("return", {"reason": None}, ["reason"], "Field required"),
    ("return", {"reason": "r" * 501}, ["reason"], "at most 500"),
    ("support_ticket", {"subject": None}, ["subject"], "Field required"),
    ("support_ticket", {"text": None}, ["text"], "Field required"),
    ("support_ticket", {"priority": "asap"}, ["priority"], "'low', 'normal', 'high' or 'urgent'"),
    ("question", {"text": None}, ["text"], "Field required"),
    ("search_miss", {"query": None}, ["query"], "Field required"),
    ("search_miss", {"results": 3}, ["results"], "0 results"),
    ("search_miss", {"results": False}, ["results"], "valid integer"),
    ("purchase", {"quantity": 0}, ["quantity"], "greater than or equal to 1"),
    ("purchase", {"quantity": None}, ["quantity"], "Field required"),
    (
        "purchase",
        {"unit_price": {"amount": 19.99, "currency": "EUR"}},
        ["unit_price", "amount"],
        "decimal string",
    ),
    (
        "purchase",
        {"unit_price": {"amount": "-1", "currency": "EUR"}},
        ["unit_price", "amount"],
        "non-negative",
    ),
    (
        "purchase",
        {"unit_price": {"amount": "1.999", "currency": "EUR"}},
        ["unit_price"],
        "at most 2 decimals",
    ),
    (
        "purchase",
        {"unit_price": {"amount": "1", "currency": "XXX"}},
        ["unit_price", "currency"],
        "unknown currency",
    ),
    ("purchase", {"unit_price": {"amount": "1"}}, ["unit_price", "currency"], "Field required"),
    ("purchase", {"text": "hello"}, ["text"], "unknown field"),
    ("purchase", {"account": "acme gmbh"}, ["account"], "1-128 of"),
    ("purchase", {"account": "a" * 129}, ["account"], "1-128 of"),
    ("purchase", {"account": 42}, ["account"], "valid string"),
    ("return", {"account": ""}, ["account"], "1-128 of"),
    # Only sales name an account (what pricing attributes to one).
    ("review", {"account": "acme"}, ["account"], "unknown field"),
    ("support_ticket", {"account": "acme"}, ["account"], "unknown field"),
    ("question", {"occurred_at": "2025-01-01"}, ["occurred_at"], "RFC 3339"),
    ("question", {"occurred_at": "2025-01-01T10:00:00"}, ["occurred_at"], "RFC 3339"),
    ("question", {"occurred_at": 1735725600}, ["occurred_at"], "RFC 3339"),
    ("question", {"occurred_at": "2025-02-30T10:00:00Z"}, ["occurred_at"], "day value"),
    ("question", {"occurred_at": "1999-12-31T23:59:59Z"}, ["occurred_at"], "before 2000"),
    ("question", {"occurred_at": "0001-01-01T00:00:00+01:00"}, ["occurred_at"], "before 2000"),
    ("question", {"product_id": None}, ["product_id"], "give product_id or sku"),
    ("question", {"product_id": "a b"}, ["product_id"], "1-36 of"),
    ("question", {"product_id": "p" * 37}, ["product_id"], "1-36 of"),
    ("question", {"sku": "-bad"}, ["sku"], "an SKU"),
    ("question", {"event_id": ""}, ["event_id"], "1-128 of"),
    ("question", {"event_id": "x" * 129}, ["event_id"], "1-128 of"),
    ("question", {"event_id": 7}, ["event_id"], "valid string"),
    ("question", {"customer_ref": None}, ["customer_ref"], "Field required"),
    ("question", {"customer_ref": "c\x1b"}, ["customer_ref"], "control characters"),
    ("question", {"status": "open"}, ["status"], "unknown field"),
    ("gossip", {}, ["kind"], "kind must be one of"),
]


@pytest.mark.parametrize(("kind", "fields", "loc", "msg"), REJECTIONS)
def test_each_rejection_names_the_field_and_reason(
    kind: str, fields: dict[str, Any], loc: list[str], msg: str
) -> None:
    good = event("question")
    checked = check_batch([good, event(kind, **fields), good | {"event_id": "other"}])

    assert [index for index, _ in checked.valid] == [0, 2]
    (rejected,) = checked.rejected
    assert rejected.index == 1
    assert {"loc", "msg"} == set(rejected.errors[0])
    matching = [e for e in rejected.errors if e["loc"] == loc]
    assert matching, rejected.errors
    assert msg in matching[0]["msg"], matching[0]["msg"]


def test_a_time_ahead_of_the_server_clock_is_rejected() -> None:
    # Computed here, not at collection: the suite may run longer than the tolerance.
    checked = check_batch([event("question", occurred_at=at(minutes=-10))])
    (rejected,) = checked.rejected
    assert rejected.errors[0]["loc"] == ["occurred_at"]
    assert "in the future" in rejected.errors[0]["msg"]


def test_an_event_that_is_no_object_or_has_no_kind_is_rejected() -> None:
    no_kind = event("question")
    del no_kind["kind"]
    checked = check_batch([3, "text", no_kind, event("question")])
    assert [index for index, _ in checked.valid] == [3]
    assert [(r.index, r.errors[0]["loc"]) for r in checked.rejected] == [
        (0, []),
        (1, []),
        (2, ["kind"]),
    ]


def test_every_error_of_an_event_is_reported() -> None:
    bad = event("review", rating=9, text="\x00", customer_ref=None)
    (rejected,) = check_batch([bad]).rejected
    assert sorted(tuple(e["loc"]) for e in rejected.errors) == [
        ("customer_ref",),
        ("rating",),
        ("text",),
    ]


def test_many_bad_events_in_a_large_batch() -> None:
    events = [
        event("review", rating=0 if i % 7 == 0 else 3, event_id=f"b-{i}") for i in range(1000)
    ]
    checked = check_batch(events)
    assert [r.index for r in checked.rejected] == [i for i in range(1000) if i % 7 == 0]
    assert len(checked.valid) == 1000 - len(checked.rejected)
