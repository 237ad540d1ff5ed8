"""`productops events tail`: print the CloudEvents on a topic as they arrive."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord

_POLL_MS = 500


@dataclass(frozen=True, kw_only=True)
class TailOptions:
    """What to tail, from where, and when to stop."""

    topic: str
    bootstrap: str
    # TLS/SASL options of the client (`shared.broker.kafka_security`).
    security: Mapping[str, Any] = field(default_factory=dict)
    from_beginning: bool = False
    max_events: int | None = None
    timeout_s: float | None = None


def format_record(record: ConsumerRecord[bytes, bytes]) -> str:
    """One line: `<time> <type> subject=<subject> id=<id> <data>`, or the raw value."""
    try:
        envelope: Any = json.loads(record.value or b"")
    except (UnicodeDecodeError, ValueError):
        envelope = None
    if not isinstance(envelope, dict):
        return f"p{record.partition}@{record.offset} not a CloudEvent: {record.value!r}"
    data = json.dumps(envelope.get("data"), separators=(",", ":"), ensure_ascii=False)
    return (
        f"{envelope.get('time', '-')} {envelope.get('type', '-')}"
        f" subject={envelope.get('subject', '-')} id={envelope.get('id', '-')} {data}"
    )


async def tail(options: TailOptions) -> int:
    """Consume the topic without a group (every partition) and print each event; 0 when done."""
    # No group: nothing is committed, and subscribing assigns every partition of the topic.
    consumer = AIOKafkaConsumer(
        options.topic,
        bootstrap_servers=options.bootstrap,
        **options.security,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if options.from_beginning else "latest",
    )
    await consumer.start()
    printed = 0
    last_event_at = time.monotonic()
    try:
        while options.max_events is None or printed < options.max_events:
            if (
                options.timeout_s is not None
                and time.monotonic() - last_event_at > options.timeout_s
            ):
                break
            batches = await consumer.getmany(timeout_ms=_POLL_MS)
            for record in (r for records in batches.values() for r in records):
                print(format_record(record), flush=True)
                printed += 1
                last_event_at = time.monotonic()
                if printed == options.max_events:
                    break
    finally:
        await consumer.stop()
    return 0


def run_tail(options: TailOptions) -> int:
    """Run `tail` to completion; Ctrl-C ends it quietly."""
    try:
        return asyncio.run(tail(options))
    except KeyboardInterrupt:
        return 0
