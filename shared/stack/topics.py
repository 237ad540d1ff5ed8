"""`productops topics list` and `productops topics create`: every topic the platform's
services write, created before a deploy with the configured partition count.

A service creates the topics it needs at start too, but a one-shot job is what a cluster
that does not create topics on demand wants, and the only place a replication factor above
one is chosen (services create a missing topic with one replica).
"""

from __future__ import annotations

import asyncio
import sys

from aiokafka.errors import KafkaError

from shared.broker import ensure_topics
from shared.events import dlq_topic, topic_of
from shared.settings import Settings
from shared.stack.components import event_registries


def platform_topics() -> list[str]:
    """Each registered service's own topic, the other topics its events go to, and its
    dead-letter topic; consumed topics are some service's own, so they are all here."""
    topics: set[str] = set()
    for name, registry in event_registries().items():
        topics |= {topic_of(name), dlq_topic(name)}
        topics |= {registry.topic(event_type, service=name) for event_type in registry.types}
    return sorted(topics)


def create(settings: Settings, *, replication_factor: int, timeout_s: float) -> int:
    """Create the missing topics on `settings`' cluster; print them. Exit code 1 when the
    cluster cannot be reached or refuses."""
    topics = platform_topics()
    try:
        asyncio.run(
            ensure_topics(
                settings.bootstrap_servers,
                topics,
                partitions=settings.topic_partitions,
                replication_factor=replication_factor,
                timeout_s=timeout_s,
            )
        )
    except (KafkaError, OSError, TimeoutError) as exc:
        print(
            f"productops: cannot create topics on {settings.bootstrap_servers}: {exc!r}",
            file=sys.stderr,
        )
        return 1
    print(
        f"{len(topics)} topics present on {settings.bootstrap_servers}"
        f" (missing ones created with {settings.topic_partitions} partitions,"
        f" replication factor {replication_factor}): {', '.join(topics)}"
    )
    return 0
