"""The live feed inside one gateway process: a bounded window of recent events for
`Last-Event-ID` resume, and a bounded queue per client.

Nothing here grows with time or with a client's slowness: the window keeps at most
`window_events` events and `window_bytes` bytes (the oldest go first), and a client whose
queue is full when an event arrives is dropped (its queue emptied, its stream ended) rather
than held in memory; it may reconnect with `Last-Event-ID` and resume from the window.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field

import orjson
from prometheus_client import Counter, Gauge

LIVE_CLIENTS = Gauge("productops_live_clients", "Clients connected to GET /v1/live")
LIVE_DROPPED = Counter(
    "productops_live_clients_dropped_total", "Live clients dropped for falling behind"
)


@dataclass(frozen=True)
class LiveEvent:
    """A domain event as every client receives it: its SSE frame is made once."""

    position: int  # arrival order in this process
    id: str
    topic: str
    type: str
    frame: bytes


def sse_frame(*, event_id: str, event_type: str, data: bytes) -> bytes:
    """`id`, `event` and one `data` line (WHATWG HTML, server-sent events): the CloudEvent's
    id (what a reconnecting client sends back as Last-Event-ID), type and JSON envelope."""
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode(), event_type.encode(), data)


def gap_frame(last_event_id: str) -> bytes:
    """Said first when Last-Event-ID is no longer in the window: events may have been missed,
    so the client should reload what it shows. No `id`, so its last id stays as it was."""
    detail = {
        "last_event_id": last_event_id,
        "detail": "events after this id are no longer kept here; reload, then follow live",
    }
    return b"event: gap\ndata: %s\n\n" % orjson.dumps(detail)


@dataclass(eq=False)
class Subscription:
    """One client: the topics it may read, what it missed (on resume), and its queue."""

    topics: frozenset[str]
    backlog: list[LiveEvent]
    gap: bool
    queue: asyncio.Queue[LiveEvent | None]
    dropped: bool = field(default=False)

    async def next(self) -> LiveEvent | None:
        """The next event, or None once the client has been dropped."""
        return await self.queue.get()

    def ready(self, most: int) -> list[LiveEvent | None]:
        """Up to `most` more events that are already waiting, without waiting."""
        taken: list[LiveEvent | None] = []
        while len(taken) < most and not self.queue.empty():
            taken.append(self.queue.get_nowait())
        return taken


class LiveFeed:
    """Fans each event out to the clients that may read its topic."""

    def __init__(self, *, window_events: int, window_bytes: int, client_queue: int) -> None:
        self._window: deque[LiveEvent] = deque()
        self._window_bytes = 0
        self._max_events = window_events
        self._max_bytes = window_bytes
        self._client_queue = client_queue
        # Window events by id, for resume and to pass over an event delivered twice.
        self._by_id: dict[str, LiveEvent] = {}
        self._subscribers: set[Subscription] = set()
        self._next_position = 0
        self.dropped = 0

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    @property
    def window(self) -> int:
        return len(self._window)

    def publish(self, *, event_id: str, topic: str, event_type: str, data: bytes) -> bool:
        """Keep the event in the window and queue it for every client of its topic; False
        for an event already in the window (at-least-once delivery repeats some)."""
        if event_id in self._by_id:
            return False
        frame = sse_frame(event_id=event_id, event_type=event_type, data=data)
        event = LiveEvent(self._next_position, event_id, topic, event_type, frame)
        self._next_position += 1
        self._remember(event)
        for subscription in list(self._subscribers):
            if topic in subscription.topics:
                self._offer(subscription, event)
        return True

    def subscribe(
        self, topics: Collection[str], *, last_event_id: str | None = None
    ) -> Subscription:
        """A new client of `topics`; with `last_event_id`, what came after it (when the window
        still holds it) waits in `backlog`, else `gap` says events may have been missed."""
        wanted = frozenset(topics)
        backlog: list[LiveEvent] = []
        gap = False
        if last_event_id is not None:
            seen = self._by_id.get(last_event_id)
            if seen is None:
                gap = True
            else:
                backlog = [
                    e for e in self._window if e.position > seen.position and e.topic in wanted
                ]
        # Subscribed in the same step as the backlog is taken: nothing falls between them.
        subscription = Subscription(wanted, backlog, gap, asyncio.Queue(maxsize=self._client_queue))
        self._subscribers.add(subscription)
        LIVE_CLIENTS.set(len(self._subscribers))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        LIVE_CLIENTS.set(len(self._subscribers))

    def _offer(self, subscription: Subscription, event: LiveEvent) -> None:
        try:
            subscription.queue.put_nowait(event)
        except asyncio.QueueFull:
            self._drop(subscription)

    def _drop(self, subscription: Subscription) -> None:
        """A client too slow to keep up: free what waits for it and end its stream."""
        subscription.dropped = True
        while not subscription.queue.empty():
            subscription.queue.get_nowait()
        subscription.queue.put_nowait(None)
        self.unsubscribe(subscription)
        self.dropped += 1
        LIVE_DROPPED.inc()

    def _remember(self, event: LiveEvent) -> None:
        self._window.append(event)
        self._by_id[event.id] = event
        self._window_bytes += len(event.frame)
        while len(self._window) > self._max_events or (
            self._window_bytes > self._max_bytes and len(self._window) > 1
        ):
            oldest = self._window.popleft()
            del self._by_id[oldest.id]
            self._window_bytes -= len(oldest.frame)
