"""The envelope helpers of `shared/events.py`: the registered-payload helper, the bulk
encoder and its ids, the wire form. Pure: no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson
import pytest
from pydantic import AwareDatetime, TypeAdapter

from shared.events import (
    HEADERS,
    EncodedEvent,
    EventPayload,
    EventRegistry,
    decode,
    encode,
    encode_new_events,
    encode_payload_events,
    encode_text,
    encoded,
    event_for,
    kafka_headers,
    new_event,
    read_product_event,
    rfc3339,
    uuid7_batch,
)
from shared.faults import InvalidEvent
from shared.observability import causation_id_var, correlation_id_var

registry = EventRegistry()


@registry.register("shop.item.added.v1")
class ItemAdded(EventPayload):
    item_id: str
    added_at: datetime


MOMENT = datetime(2025, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)


def test_event_for_takes_the_type_the_payload_was_registered_under():
    payload = ItemAdded(item_id="i-1", added_at=MOMENT)
    event = event_for(payload, source="/shop", subject="cart-1", sequence=3, time=MOMENT)
    assert (event.type, event.source, event.subject) == ("shop.item.added.v1", "/shop", "cart-1")
    assert event.sequence_number == 3
    assert event.time == MOMENT
    assert event.data == {"item_id": "i-1", "added_at": "2025-05-01T12:00:00.250000Z"}
    assert registry.payload(event) == payload
    # Without a sequence the event never counts as stale.
    assert event_for(payload, source="/shop", subject="cart-1").sequence is None


def test_event_for_carries_the_context_correlation_and_causation():
    correlation = correlation_id_var.set("corr-1")
    causation = causation_id_var.set("cause-1")
    try:
        event = event_for(ItemAdded(item_id="i", added_at=MOMENT), source="/shop", subject=None)
    finally:
        correlation_id_var.reset(correlation)
        causation_id_var.reset(causation)
    assert (event.correlationid, event.causationid) == ("corr-1", "cause-1")


def test_new_event_takes_its_time_from_the_caller():
    event = new_event(source="/s", type="t.v1", subject=None, data={}, time=MOMENT)
    assert event.time == MOMENT


DATA = [
    ("p-1", {"n": 1, "text": 'héllo ✓ "quoted"\n', "none": None, "nested": {"x": [1.5, True]}}),
    ("p-2", {"amount": "10.10", "small": 1e-7, "big": 12345678901234567, "f": 0.1 + 0.2}),
    (None, {}),
]


def test_encoded_new_events_are_what_new_event_encodes():
    batch = encode_new_events(source="/shop", type="shop.thing.v1", time=MOMENT, items=DATA)
    assert [(e.type, e.subject) for e in batch] == [("shop.thing.v1", s) for s, _ in DATA]
    assert len({e.id for e in batch}) == 3
    for wire, (subject, data) in zip(batch, DATA, strict=True):
        event = decode(wire.value)
        one = new_event(
            source="/shop", type="shop.thing.v1", subject=subject, data=data, time=MOMENT
        )
        # Outside a request each event starts its own correlation, as `new_event` does.
        assert (event.id, event.correlationid, event.causationid) == (wire.id, wire.id, None)
        assert event.model_dump(exclude={"id", "correlationid"}) == one.model_dump(
            exclude={"id", "correlationid"}
        )
        # Byte for byte the text the kernel's own encoder writes for that event.
        assert encode(event) == wire.value.encode()
        assert encoded(event) == wire


def test_encoded_new_events_share_the_context_correlation_and_causation():
    correlation = correlation_id_var.set("corr-9")
    causation = causation_id_var.set("cause-9")
    try:
        batch = encode_new_events(
            source="/s", type="t.v1", time=MOMENT, items=[("a", {}), ("b", {})]
        )
    finally:
        correlation_id_var.reset(correlation)
        causation_id_var.reset(causation)
    events = [decode(e.value) for e in batch]
    assert {(e.correlationid, e.causationid) for e in events} == {("corr-9", "cause-9")}
    assert [encode(e) for e in events] == [e.value.encode() for e in batch]


def test_encoded_payload_events_are_what_event_for_encodes():
    payloads = [
        (ItemAdded(item_id="i-1", added_at=MOMENT + timedelta(hours=2)), "s-1", 7),
        (ItemAdded(item_id="i-2", added_at=MOMENT), None, None),
    ]
    batch = encode_payload_events(source="/shop", time=MOMENT, items=payloads)
    assert [(e.type, e.subject) for e in batch] == [
        ("shop.item.added.v1", "s-1"),
        ("shop.item.added.v1", None),
    ]
    for wire, (payload, subject, sequence) in zip(batch, payloads, strict=True):
        event = decode(wire.value)
        one = event_for(payload, source="/shop", subject=subject, sequence=sequence, time=MOMENT)
        assert event.model_dump(exclude={"id", "correlationid"}) == one.model_dump(
            exclude={"id", "correlationid"}
        )
        assert registry.payload(event) == payload
        # Byte for byte the text the kernel's own encoder writes for that event.
        assert encode(event) == wire.value.encode()


def test_no_items_encode_no_events():
    assert encode_new_events(source="/s", type="t.v1", time=MOMENT, items=[]) == []


def test_an_encoded_event_is_its_own_wire_form():
    event = new_event(source="/s", type="t.v1", subject="x", data={"k": 1}, time=MOMENT)
    wire = encoded(event)
    assert wire == EncodedEvent(event.id, "t.v1", "x", encode_text(event))
    assert encoded(wire) is wire


def test_batch_ids_are_uuid7_stamped_with_the_time():
    ids = uuid7_batch(1000, MOMENT)
    assert len(set(ids)) == 1000
    for text in ids[:50]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert parsed.int >> 80 == int(MOMENT.timestamp() * 1000)


def test_encode_text_is_the_value_encode_sends():
    event = new_event(source="/s", type="t.v1", subject="x", data={"é": [1, None]}, time=MOMENT)
    assert encode_text(event).encode() == encode(event)
    envelope = orjson.loads(encode(event))
    assert envelope["time"] == "2025-05-01T12:00:00.250000Z"
    assert "causationid" not in envelope


@pytest.mark.parametrize(
    "moment",
    [
        MOMENT,
        datetime(2025, 5, 1, 12, tzinfo=UTC),
        datetime(2025, 5, 1, 14, 0, 0, 1, tzinfo=timezone(timedelta(hours=2))),
        # Offset 0 without the stdlib's UTC: a `Z` time as pydantic parses it, and a zone.
        TypeAdapter(AwareDatetime).validate_json(b'"2025-05-01T12:00:00.000100Z"'),
        datetime(2025, 1, 1, 9, 30, tzinfo=ZoneInfo("Europe/London")),
        datetime(2025, 7, 1, 9, 30, tzinfo=ZoneInfo("Europe/London")),
    ],
)
def test_rfc3339_writes_times_as_the_envelope_does(moment: datetime):
    event = new_event(source="/s", type="t.v1", subject=None, data={}, time=moment.astimezone(UTC))
    assert rfc3339(moment) == orjson.loads(encode(event))["time"]


def test_headers_as_text_and_as_kafka_bytes_agree():
    assert dict(HEADERS) == {"content-type": "application/cloudevents+json"}
    assert kafka_headers() == [("content-type", b"application/cloudevents+json")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", ""),
        ("id", "a\x00b"),
        ("id", "x" * 256),
        ("source", ""),
        ("type", ""),
        ("subject", "p\x00"),
        ("subject", "s" * 256),
        ("sequence", "9" * 19),
    ],
)
def test_an_envelope_the_inbox_could_not_keep_is_no_event(field: str, value: str) -> None:
    """Such a record is dead-lettered at once as no event. Before, an empty id was applied
    (and every later empty id dropped as its duplicate); a sequence past 64 bits failed the
    inbox on every delivery before it was dead-lettered."""
    made = new_event(source="/x", type="x.y.v1", subject="p1", data={}, sequence=7)
    sent = orjson.loads(encode(made))
    assert decode(orjson.dumps(sent)).sequence_number == 7
    with pytest.raises(ValueError, match=field):
        decode(orjson.dumps({**sent, field: value}))


class _AboutAProduct(EventPayload):
    product_id: str


def test_an_event_about_a_product_is_read_only_when_its_subject_is_that_product() -> None:
    event = new_event(source="/x", type="x.y.v1", subject="p1", data={"product_id": "p1"})
    assert read_product_event(_AboutAProduct, event).product_id == "p1"
    for subject in ("p2", None):
        other = event.model_copy(update={"subject": subject})
        with pytest.raises(InvalidEvent, match="is about product 'p1' but its subject"):
            read_product_event(_AboutAProduct, other)
