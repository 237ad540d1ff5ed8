"""What the contract tests share: an event's trip through Kafka."""

from __future__ import annotations

from shared.events import CloudEvent, decode, encode


def through_kafka(event: CloudEvent) -> CloudEvent:
    """The event as a consumer decodes it from the record value the relay publishes."""
    return decode(encode(event))
