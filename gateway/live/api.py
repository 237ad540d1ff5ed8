"""`GET /v1/live`: the domain events the caller may read, as Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import StreamingResponse

from gateway.live.feed import LiveFeed, gap_frame
from gateway.runtime import CallerDep, RuntimeDep
from shared.auth import Principal
from shared.errors import Forbidden, field_error
from shared.openapi import problems

router = APIRouter(prefix="/v1", tags=["live"])

HEARTBEAT = b": heartbeat\n\n"
# Events sent in one write when several wait: fewer, larger writes for a busy stream.
_BATCH = 64
_STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    # A proxy (nginx) must pass each event on at once rather than buffer the stream.
    "X-Accel-Buffering": "no",
}


def _readable(
    caller: Principal, scopes_by_topic: dict[str, str], asked: list[str] | None
) -> set[str]:
    """The topics to stream: those asked for (all by default) that the caller may read."""
    if asked is None:
        readable = {t for t, scope in scopes_by_topic.items() if caller.has(scope)}
        if not readable:
            needed = " or ".join(sorted(scopes_by_topic.values()))
            raise Forbidden(f"the live stream needs a read scope ({needed})")
        return readable
    for topic in asked:
        if topic not in scopes_by_topic:
            known = ", ".join(sorted(scopes_by_topic))
            raise field_error("topic", f"not one of {known}", where="query", topic=topic)
        if not caller.has(scope := scopes_by_topic[topic]):
            raise Forbidden(f"the topic {topic} needs the scope {scope}", required_scope=scope)
    return set(asked)


async def _frames(
    feed: LiveFeed,
    topics: set[str],
    *,
    last_event_id: str | None,
    heartbeat_s: float,
    revoked: Callable[[], Awaitable[bool]],
) -> AsyncIterator[bytes]:
    # Subscribed here, not in the route: the stream's end (whatever ends it) unsubscribes.
    subscription = feed.subscribe(topics, last_event_id=last_event_id)
    try:
        if subscription.gap and last_event_id is not None:
            yield gap_frame(last_event_id)
        for event in subscription.backlog:
            yield event.frame
        while True:
            try:
                async with asyncio.timeout(heartbeat_s):
                    first = await subscription.next()
            except TimeoutError:
                if await revoked():
                    return
                yield HEARTBEAT
                continue
            # A stream opened before its key was revoked ends by the next event or heartbeat.
            if await revoked():
                return
            waiting = [first, *subscription.ready(_BATCH - 1)]
            events = [event for event in waiting if event is not None]
            if events:
                yield b"".join(event.frame for event in events)
            if len(events) < len(waiting):
                return  # dropped for falling behind: the client may resume from the window
    finally:
        feed.unsubscribe(subscription)


@router.get(
    "/live",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **problems(403)},
)
async def live(
    runtime: RuntimeDep,
    caller: CallerDep,
    topic: Annotated[
        list[str] | None,
        Query(description="only these topics (repeat it); default: every topic you may read"),
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=128)] = None,
) -> StreamingResponse:
    """Domain events as they happen (Server-Sent Events): each `id` is the CloudEvent id,
    `event` its type, `data` the CloudEvent. A topic needs the read scope of its service
    (`catalog.events`: catalog:read, ...; `pricing.events`: pricing:finance, as its events
    carry costs and margins). Reconnect with `Last-Event-ID` to get what came
    after it while this gateway still holds it (else an `event: gap` comes first); a comment
    line comes every `PRODUCTOPS_LIVE_HEARTBEAT_S` seconds when nothing else does; a client
    that falls too far behind is dropped (its stream ends) and may resume. The stream of a
    revoked key's token ends at the next event or heartbeat."""
    topics = _readable(caller, runtime.live_scopes, topic)
    frames = _frames(
        runtime.live,
        topics,
        last_event_id=last_event_id,
        heartbeat_s=runtime.settings.live_heartbeat_s,
        revoked=lambda: runtime.deny_list.refuses(caller.subject),
    )
    return StreamingResponse(frames, media_type="text/event-stream", headers=_STREAM_HEADERS)
