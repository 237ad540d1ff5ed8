"""`POST /v1/customer-events` on the gateway: where storefronts push customer events.

The feedback service's own route does the work (per-event validation, durable storage,
the 202 answer); the gateway checks the token, the scope, the caller's request rate and its
event rate (one token a request buys up to 1,000 events, so batches are also limited per
event: security issue 12, finding 6), and forwards the body as it came.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from gateway.proxy import forward
from gateway.runtime import CallerDep, RuntimeDep
from shared.errors import Forbidden
from shared.openapi import problems

SCOPE = "feedback:ingest"

router = APIRouter(prefix="/v1", tags=["feedback"])


# The feedback service's answer comes back as it is: 202, or its problems (413, 415, 422).
@router.post("/customer-events", status_code=202, responses=problems(403, 413, 415, 422, 502, 504))
async def ingest_customer_events(
    request: Request, runtime: RuntimeDep, caller: CallerDep
) -> Response:
    """Push a batch of up to 1,000 storefront events (`{"events": [...]}`, scope
    feedback:ingest); answered by the feedback service: 202 with `accepted`, `duplicates`
    and the `rejected` events by index. 429 with `Retry-After` past the caller's events per
    second (`PRODUCTOPS_INGEST_EVENTS_PER_S`)."""
    if not caller.has(SCOPE):
        raise Forbidden(f"this call needs the scope {SCOPE}", required_scope=SCOPE)
    # Past the burst a batch could never pass; feedback refuses one over its cap (413) anyway.
    events = min(events_in(await request.body()), runtime.settings.ingest_events_burst)
    await runtime.ingest_limiter.hit(caller.subject, what="customer events", cost=events)
    return await forward(
        runtime=runtime, service="feedback", request=request, path="customer-events"
    )


def events_in(body: bytes) -> int:
    """How many events a batch carries, for the event rate; a body the feedback service will
    refuse anyway (not JSON, another shape) costs one."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 1
    events = data.get("events") if isinstance(data, dict) else None
    return max(1, len(events)) if isinstance(events, list) else 1
