"""The live feed's rules, without a broker or HTTP: topics, the resume window and its
bounds, repeated events, and dropping a client that falls behind."""

from __future__ import annotations

import orjson

from gateway.live.feed import LiveEvent, LiveFeed, gap_frame, sse_frame


def feed(*, window: int = 10, window_bytes: int = 1_000_000, queue: int = 10) -> LiveFeed:
    return LiveFeed(window_events=window, window_bytes=window_bytes, client_queue=queue)


def publish(live: LiveFeed, event_id: str, topic: str = "catalog.events") -> bool:
    data = orjson.dumps({"id": event_id, "type": "catalog.product.created.v1"})
    return live.publish(
        event_id=event_id, topic=topic, event_type="catalog.product.created.v1", data=data
    )


def ids(events: list[LiveEvent | None]) -> list[str | None]:
    return [event.id if event is not None else None for event in events]


def test_a_frame_is_an_sse_event_with_the_cloudevent_id_type_and_data() -> None:
    frame = sse_frame(event_id="e1", event_type="catalog.product.created.v1", data=b'{"a":1}')

    assert frame == b'id: e1\nevent: catalog.product.created.v1\ndata: {"a":1}\n\n'
    assert gap_frame("e0").startswith(b"event: gap\ndata: {")
    assert b"\nid:" not in gap_frame("e0")


def test_a_client_gets_the_events_of_its_topics_only() -> None:
    live = feed()
    catalog = live.subscribe({"catalog.events"})
    both = live.subscribe({"catalog.events", "pricing.events"})

    publish(live, "e1", "catalog.events")
    publish(live, "e2", "pricing.events")

    assert ids(catalog.ready(10)) == ["e1"]
    assert ids(both.ready(10)) == ["e1", "e2"]


def test_an_event_delivered_twice_is_sent_once() -> None:
    live = feed()
    client = live.subscribe({"catalog.events"})

    assert publish(live, "e1") is True
    assert publish(live, "e1") is False

    assert ids(client.ready(10)) == ["e1"]
    assert live.window == 1


def test_resume_sends_what_came_after_the_last_event_id_in_its_topics() -> None:
    live = feed()
    for event_id, topic in [("e1", "catalog.events"), ("e2", "pricing.events")]:
        publish(live, event_id, topic)
    publish(live, "e3", "catalog.events")

    resumed = live.subscribe({"catalog.events"}, last_event_id="e1")

    assert ids(list(resumed.backlog)) == ["e3"]
    assert resumed.gap is False


def test_an_id_no_longer_in_the_window_is_a_gap() -> None:
    live = feed(window=2)
    for n in range(1, 4):
        publish(live, f"e{n}")

    assert live.window == 2
    resumed = live.subscribe({"catalog.events"}, last_event_id="e1")
    assert resumed.gap is True
    assert resumed.backlog == []
    # The oldest left the window, and with it what knew its id: e1 is news again.
    assert publish(live, "e1") is True


def test_the_window_keeps_to_its_bytes_too() -> None:
    one = len(sse_frame(event_id="e1", event_type="catalog.product.created.v1", data=b"x" * 60))
    live = feed(window=100, window_bytes=int(one * 2.5))
    for n in range(1, 6):
        publish(live, f"e{n}")

    assert live.window == 2
    assert ids(list(live.subscribe({"catalog.events"}, last_event_id="e4").backlog)) == ["e5"]


def test_a_client_whose_queue_is_full_is_dropped_and_holds_nothing() -> None:
    live = feed(queue=2)
    slow = live.subscribe({"catalog.events"})
    keeping_up = live.subscribe({"catalog.events"})

    for n in range(1, 4):
        publish(live, f"e{n}")
        keeping_up.ready(10)

    assert slow.dropped is True
    assert ids(slow.ready(10)) == [None]  # only the end of its stream waits for it
    assert keeping_up.dropped is False
    assert live.clients == 1
    assert live.dropped == 1
    publish(live, "e4")
    assert slow.queue.empty()


def test_a_client_that_leaves_is_forgotten() -> None:
    live = feed()
    client = live.subscribe({"catalog.events"})

    live.unsubscribe(client)
    publish(live, "e1")

    assert live.clients == 0
    assert client.queue.empty()
