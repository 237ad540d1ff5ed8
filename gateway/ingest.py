"""`POST /v1/customer-events` on the gateway: where storefronts push customer events.

The feedback service's own route does the work (per-event validation, durable storage,
the 202 answer); the gateway checks the token, the scope and the caller's rate, and forwards
the body as it came.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.proxy import forward
from gateway.runtime import CallerDep, RuntimeDep
from shared.errors import Forbidden
from shared.openapi import problems

SCOPE = "feedback:ingest"

router = APIRouter(prefix="/v1", tags=["feedback"])


# The feedback service's answer comes back as it is: 202, or its problems (413, 422).
@router.post("/customer-events", status_code=202, responses=problems(403, 413, 422, 502, 504))
async def ingest_customer_events(
    request: Request, runtime: RuntimeDep, caller: CallerDep
) -> Response:
    """Push a batch of up to 1,000 storefront events (`{"events": [...]}`, scope
    feedback:ingest); answered by the feedback service: 202 with `accepted`, `duplicates`
    and the `rejected` events by index."""
    if not caller.has(SCOPE):
        raise Forbidden(f"this call needs the scope {SCOPE}", required_scope=SCOPE)
    return await forward(
        runtime=runtime, service="feedback", request=request, path="customer-events"
    )
