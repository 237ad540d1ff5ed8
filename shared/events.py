"""CloudEvents 1.0 envelope, the type registry, and Kafka structured-mode encoding.

Kafka value: the JSON envelope; key: the subject; header `content-type:
application/cloudevents+json`. See docs/events.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field
from uuid6 import uuid7

from shared.observability import causation_id_var, correlation_id_var

CONTENT_TYPE = "application/cloudevents+json"
KafkaHeaders = list[tuple[str, bytes]]
P = TypeVar("P", bound=BaseModel)


class CloudEvent(BaseModel):
    """The envelope. Unknown extension attributes are kept, as a tolerant reader should."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    subject: str | None = None
    time: datetime
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    correlationid: str | None = None
    causationid: str | None = None
    # The subject's version after the change (CloudEvents "sequence" extension, decimal):
    # a consumer that has applied the same or a higher one ignores this event as stale.
    sequence: str | None = None

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
            model.event_type = event_type  # type: ignore[attr-defined]
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
) -> CloudEvent:
    """A new envelope; correlation and causation come from the current request or event."""
    event_id = str(uuid7())
    body = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    return CloudEvent(
        id=event_id,
        source=source,
        type=type,
        subject=subject,
        time=datetime.now(UTC),
        data=body,
        correlationid=correlation_id_var.get() or event_id,
        causationid=causation_id_var.get(),
        sequence=str(sequence) if sequence is not None else None,
    )


def encode(event: CloudEvent) -> bytes:
    return orjson.dumps(event.model_dump(mode="json", exclude_none=True))


def decode(value: bytes | str) -> CloudEvent:
    """Parse a structured-mode value; raises ValueError on anything that is not an event."""
    return CloudEvent.model_validate(orjson.loads(value))


def kafka_headers() -> KafkaHeaders:
    return [("content-type", CONTENT_TYPE.encode())]


def topic_of(service: str) -> str:
    """The topic a service writes its own events to."""
    return f"{service}.events"


def dlq_topic(group: str) -> str:
    return f"dlq.{group}"
