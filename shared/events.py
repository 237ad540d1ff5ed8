"""CloudEvents 1.0 envelope, the type registry, and Kafka structured-mode encoding.

Kafka value: the JSON envelope; key: the subject; header `content-type:
application/cloudevents+json`. See docs/events.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, TypeVar

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from uuid6 import uuid7

from shared.clock import utc_now
from shared.faults import InvalidEvent
from shared.observability import causation_id_var, correlation_id_var

CONTENT_TYPE = "application/cloudevents+json"
KafkaHeaders = list[tuple[str, bytes]]
# The headers of every record, as text (the outbox's `headers` column); one shared object,
# so a batch's rows convert it once.
HEADERS: Mapping[str, str] = MappingProxyType({"content-type": CONTENT_TYPE})
P = TypeVar("P", bound="EventPayload")


_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


def _fits_64_bits(sequence: str) -> str:
    if sequence.isascii() and sequence.isdigit() and len(sequence) > 18:
        raise ValueError("a decimal sequence has at most 18 digits")
    return sequence


class CloudEvent(BaseModel):
    """The envelope. Unknown extension attributes are kept, as a tolerant reader should."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    # Non-empty, as CloudEvents requires; the id and subject also as the inbox and the
    # dead-letter store keep them (255 characters, no control character: PostgreSQL cannot
    # keep a NUL), so no record from outside fails there on every delivery.
    id: Annotated[str, Field(min_length=1, max_length=255, pattern=_NO_CONTROL)]
    source: Annotated[str, Field(min_length=1)]
    type: Annotated[str, Field(min_length=1)]
    subject: Annotated[str, Field(max_length=255, pattern=_NO_CONTROL)] | None = None
    time: datetime
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    correlationid: str | None = None
    causationid: str | None = None
    # The subject's version after the change (CloudEvents "sequence" extension, decimal):
    # a consumer that has applied the same or a higher one ignores this event as stale.
    # A decimal one of at most 18 digits, to fit the 64-bit column that keeps it; one that
    # is not decimal is read as no sequence (`sequence_number`).
    sequence: Annotated[str, AfterValidator(_fits_64_bits)] | None = None

    @property
    def sequence_number(self) -> int | None:
        return (
            int(self.sequence)
            if self.sequence and self.sequence.isascii() and self.sequence.isdigit()
            else None
        )


class EventPayload(BaseModel):
    """Base of every event's `data`: readers ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore")
    # Set on each model by `EventRegistry.register`.
    event_type: ClassVar[str]


def read_product_event(model: type[P], event: CloudEvent) -> P:
    """`event.data` read as `model` (which has a `product_id`), of an event about one
    product: its subject (the key its inbox orders it by, and the partition key) must be
    that product, or the event is refused as invalid. Otherwise an event whose subject named
    another product was applied to the product its data named, past that product's order
    and staleness checks."""
    data = model.model_validate(event.data)
    product_id = data.product_id  # type: ignore[attr-defined]
    if event.subject != product_id:
        raise InvalidEvent(
            f"{event.type} {event.id} is about product {product_id!r} but its subject"
            f" is {event.subject!r}"
        )
    return data


class EventRegistry:
    """Maps each event `type` to the pydantic model of its `data` (and to its topic, when
    that is not its service's own): the service's published contract, which
    `shared.asyncapi` documents."""

    def __init__(self) -> None:
        self._types: dict[str, type[BaseModel]] = {}
        self._topics: dict[str, str] = {}

    def register(
        self, event_type: str, *, topic: str | None = None
    ) -> Callable[[type[P]], type[P]]:
        """Register a payload model; `topic` if the type is not written to `topic_of(service)`."""

        def decorate(model: type[P]) -> type[P]:
            if event_type in self._types:
                raise ValueError(f"event type {event_type} registered twice")
            self._types[event_type] = model
            if topic is not None:
                self._topics[event_type] = topic
            model.event_type = event_type
            return model

        return decorate

    def __contains__(self, event_type: str) -> bool:
        return event_type in self._types

    @property
    def types(self) -> list[str]:
        return sorted(self._types)

    def model(self, event_type: str) -> type[BaseModel]:
        """The payload model of a registered type."""
        return self._types[event_type]

    def topic(self, event_type: str, *, service: str) -> str:
        """The topic a registered type is written to by `service`."""
        return self._topics.get(event_type, topic_of(service))

    def payload(self, event: CloudEvent) -> BaseModel:
        """The event's `data` validated against its registered model."""
        return self._types[event.type].model_validate(event.data)


def new_event(
    *,
    source: str,
    type: str,
    subject: str | None,
    data: BaseModel | dict[str, Any],
    sequence: int | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """A new envelope; correlation and causation come from the current request or event.

    `time`: when it happened (the use case's clock; now by default).
    """
    event_id = str(uuid7())
    body = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    return CloudEvent(
        id=event_id,
        source=source,
        type=type,
        subject=subject,
        time=time or utc_now(),
        data=body,
        correlationid=correlation_id_var.get() or event_id,
        causationid=causation_id_var.get(),
        sequence=str(sequence) if sequence is not None else None,
    )


def event_for(
    payload: BaseModel,
    *,
    source: str,
    subject: str | None,
    sequence: int | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """The envelope of a registered payload (its `type` is the one it was registered
    under), from `source`, with the current correlation and causation.

    `sequence`: the subject's version after the change, or None for an event that does not
    change it (it is then never taken as stale).
    """
    event_type: str = type(payload).event_type  # type: ignore[attr-defined]
    return new_event(
        source=source, type=event_type, subject=subject, data=payload, sequence=sequence, time=time
    )


class EncodedEvent(NamedTuple):
    """An event in its wire form, ready for the outbox: what `encoded` makes of a
    CloudEvent, and what `encode_new_events` makes directly in bulk."""

    id: str
    type: str
    subject: str | None
    # The structured-mode JSON (the Kafka value), as text.
    value: str


def encoded(event: CloudEvent | EncodedEvent) -> EncodedEvent:
    """The wire form of an event (an encoded one is returned as it is)."""
    if isinstance(event, EncodedEvent):
        return event
    return EncodedEvent(event.id, event.type, event.subject, encode_text(event))


def encode_new_events(
    *,
    source: str,
    type: str,
    time: datetime,
    items: Iterable[tuple[str | None, dict[str, Any]]],
) -> list[EncodedEvent]:
    """Many new events of one type, from `(subject, data)` pairs, straight to their wire
    form: the JSON `encode(new_event(...))` writes, with the same ids, correlation and
    causation, for bulk publishing (`uow.publish_many`).

    `data` must be JSON-ready already (str, int, float, bool, None, lists and dicts of
    them; times as `rfc3339` text). No pydantic envelope is made per event: at ingestion
    rates validating and serialising one would be most of the request's cost.
    """
    return _encode(source, time, ((type, subject, data, None) for subject, data in items))


def encode_payload_events(
    *,
    source: str,
    time: datetime,
    items: Iterable[tuple[EventPayload, str | None, int | None]],
) -> list[EncodedEvent]:
    """`event_for` in bulk: registered payloads (models, so validated already) with their
    subject and sequence, straight to the wire form `encode(event_for(...))` writes, all
    stamped `time`. The envelope is built as JSON rather than as a pydantic model per
    event: for a scheduler publishing thousands at once that was a third of the work."""
    return _encode(
        source,
        time,
        (
            (type(payload).event_type, subject, payload.model_dump(mode="json"), sequence)
            for payload, subject, sequence in items
        ),
    )


def _encode(
    source: str,
    time: datetime,
    items: Iterable[tuple[str, str | None, dict[str, Any], int | None]],
) -> list[EncodedEvent]:
    """(type, subject, JSON-ready data, sequence) to wire form, as `encode` would write it."""
    stamp = rfc3339(time)
    correlation = correlation_id_var.get()
    causation = causation_id_var.get()
    result = []
    # Lazily, item by item: only the encoded text outlives the loop.
    for (event_type, subject, data, sequence), event_id in zip(items, _uuid7s(time), strict=False):
        # The attributes in CloudEvent's field order, None ones left out, as `encode` does.
        envelope: dict[str, Any] = {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "type": event_type,
            "subject": subject,
            "time": stamp,
            "datacontenttype": "application/json",
            "data": data,
            "correlationid": correlation or event_id,
        }
        if subject is None:
            del envelope["subject"]
        if causation is not None:
            envelope["causationid"] = causation
        if sequence is not None:
            envelope["sequence"] = str(sequence)
        result.append(EncodedEvent(event_id, event_type, subject, orjson.dumps(envelope).decode()))
    return result


def rfc3339(moment: datetime) -> str:
    """A time as the envelope's JSON writes it (UTC, `Z`): for data built as plain dicts."""
    # Per published customer event: orjson writes what `isoformat` does, at a third of the
    # cost, and a time already at offset 0 (pydantic's `Z` times) is not converted first.
    # A naive time (no offset) is taken as local time, as `astimezone` takes it.
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return orjson.dumps(moment, option=orjson.OPT_UTC_Z)[1:-1].decode()


def uuid7_batch(count: int, now: datetime) -> list[str]:
    """`count` UUIDv7 strings stamped `now` (RFC 9562: 48-bit Unix milliseconds, version 7,
    variant, 74 random bits), from one read of the OS's random source: under a third of
    the cost of one `uuid6.uuid7()` call each. Order within the batch is not needed (the
    outbox orders by `seq`)."""
    # Built as text from the random bytes' hex: per id only slices, no integer arithmetic
    # and formatting (once per published customer event). Of an id's 20 hex digits (10
    # bytes), 19 give rand_a (12 bits), 2 bits beside the variant and 60 more of rand_b.
    stamp = f"{int(now.timestamp() * 1000) & _MS_MASK:012x}"
    head = f"{stamp[:8]}-{stamp[8:]}-7"
    noise = os.urandom(10 * count).hex()
    return [
        f"{head}{noise[at : at + 3]}-{_VARIANT[noise[at + 3]]}{noise[at + 4 : at + 7]}"
        f"-{noise[at + 7 : at + 19]}"
        for at in range(0, 20 * count, 20)
    ]


def _uuid7s(now: datetime) -> Iterator[str]:
    """Endless UUIDv7 strings stamped `now`, drawn in doubling batches: fewer are left
    unused than were taken."""
    size = 1
    while True:
        yield from uuid7_batch(size, now)
        size = min(2 * size, 1024)


_MS_MASK = (1 << 48) - 1
_ZERO = timedelta(0)
# A hex digit's low 2 bits under the variant's `10`: 8, 9, a or b.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def encode_text(event: CloudEvent) -> str:
    """The structured-mode JSON of an event (None attributes left out), as text."""
    return event.model_dump_json(exclude_none=True)


def encode(event: CloudEvent) -> bytes:
    """The Kafka value of an event: `encode_text` as UTF-8."""
    return encode_text(event).encode()


def decode(value: bytes | str) -> CloudEvent:
    """Parse a structured-mode value; raises ValueError on anything that is not an event."""
    return CloudEvent.model_validate(orjson.loads(value))


def kafka_headers() -> KafkaHeaders:
    return [(name, value.encode()) for name, value in HEADERS.items()]


def topic_of(service: str) -> str:
    """The topic a service writes its own events to."""
    return f"{service}.events"


class Origin(NamedTuple):
    """Where events of one type may come from: the topic and the CloudEvents `source`."""

    topic: str
    source: str


class UntrustedOrigin(ValueError):
    """An event of a known type from elsewhere than its owner's topic and source: forged, or
    misrouted (security issue 12, finding 11). No retry can make it trustworthy."""


def origin_of(event_type: str, *, topic: str | None = None) -> Origin:
    """The origin of a type: its owner is the type's first segment (`pricing.price...` is
    pricing's), which writes from source `/<owner>` to `<owner>.events`, or to `topic` when
    the owner's registry names another one."""
    owner = event_type.partition(".")[0]
    return Origin(topic or topic_of(owner), f"/{owner}")


def origins_of(
    event_types: Iterable[str], *, topics: Mapping[str, str] | None = None
) -> dict[str, Origin]:
    """The origin of each type; `topics` names the ones not on their owner's own topic."""
    named = topics or {}
    return {t: origin_of(t, topic=named.get(t)) for t in event_types}


def check_origin(event: CloudEvent, *, topic: str, expected: Origin) -> None:
    """Raise `UntrustedOrigin` unless `event` (read from `topic`) comes from `expected`."""
    if (topic, event.source) != (expected.topic, expected.source):
        raise UntrustedOrigin(
            f"{event.type} is accepted only from source {expected.source} on {expected.topic}; "
            f"this one came from source {event.source!r} on {topic}"
        )


def dlq_topic(group: str) -> str:
    return f"dlq.{group}"
