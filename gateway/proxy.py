"""Routing: `/v1/<service>/<path>` on the gateway is `/v1/<path>` on that service.

The gateway verifies the token and that the caller holds some scope of the service; the
service gets the same `Authorization` header and makes the fine-grained check itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request, Response

from gateway.runtime import CallerDep, GatewayRuntime, RuntimeDep
from shared.auth import ADMIN, SCOPES, Principal
from shared.errors import Forbidden, NotFound, UpstreamError, UpstreamTimeout
from shared.observability import correlation_id_var, request_id_var
from shared.openapi import problems

log = logging.getLogger(__name__)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}
)
# Set by the gateway itself (or recomputed for the body the gateway sends on).
_REQUEST_OWN = frozenset(
    {"content-length", "x-request-id", "x-correlation-id", "x-forwarded-for", "x-forwarded-proto"}
)
# The gateway's own server stack adds these to its response.
_RESPONSE_OWN = frozenset({"content-length", "date", "server", "x-request-id", "x-correlation-id"})


def _filtered(raw: Iterable[tuple[bytes, bytes]], own: frozenset[str]) -> list[tuple[bytes, bytes]]:
    """Headers minus hop-by-hop ones, `proxy-*`, those the `Connection` header names, and `own`."""
    pairs = [(name.decode("latin-1").lower(), name, value) for name, value in raw]
    named = {
        token.strip().lower()
        for lower, _, value in pairs
        if lower == "connection"
        for token in value.decode("latin-1").split(",")
    }
    return [
        (name, value)
        for lower, name, value in pairs
        if lower not in HOP_BY_HOP
        and lower not in own
        and lower not in named
        and not lower.startswith("proxy-")
    ]


def _request_headers(request: Request) -> list[tuple[bytes, bytes]]:
    headers = _filtered(request.headers.raw, _REQUEST_OWN)
    client = request.client.host if request.client else "unknown"
    earlier = request.headers.get("x-forwarded-for")
    forwarded_for = f"{earlier}, {client}" if earlier else client
    extra = {
        "x-forwarded-for": forwarded_for,
        "x-forwarded-proto": request.url.scheme,
        "x-request-id": request_id_var.get(),
        "x-correlation-id": correlation_id_var.get(),
    }
    return headers + [(k.encode(), v.encode("latin-1")) for k, v in extra.items() if v]


def _target(request: Request, service: str, path: str) -> str:
    """The upstream path and query, keeping the client's percent-encoding as sent."""
    if any(segment in {".", ".."} for segment in path.split("/")):
        raise NotFound("dot segments are not allowed in a routed path")
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    raw = raw_path.split(b"?", 1)[0].decode("latin-1")
    prefix = f"/v1/{service}/"
    tail = raw[len(prefix) :] if raw.startswith(prefix) else quote(path)
    query = request.url.query
    return f"/v1/{tail}?{query}" if query else f"/v1/{tail}"


def may_call(principal: Principal, service: str) -> bool:
    """Whether the caller holds any scope of `service` (or admin)."""
    if ADMIN in principal.scopes:
        return True
    return any(s.startswith(f"{service}:") and s in SCOPES for s in principal.scopes)


async def forward(
    *, runtime: GatewayRuntime, service: str, request: Request, path: str
) -> Response:
    """Send the request on to `service` and hand back its answer as it came."""
    client = runtime.upstreams[service]
    timeout_s = runtime.settings.upstream_timeout_s
    body = await request.body()  # capped at max_body_bytes by the request middleware
    outgoing = client.build_request(
        request.method,
        _target(request, service, path),
        headers=_request_headers(request),
        content=body,
    )
    try:
        # httpx times each phase; this bounds the whole exchange.
        async with asyncio.timeout(timeout_s):
            upstream = await client.send(outgoing, stream=True)
            try:
                # Raw bytes: a compressed body goes back compressed, matching its headers.
                content = b"".join([chunk async for chunk in upstream.aiter_raw()])
            finally:
                await upstream.aclose()
    except (TimeoutError, httpx.TimeoutException) as exc:
        log.warning("upstream timed out", extra={"upstream": service})
        raise UpstreamTimeout(
            f"the {service} service did not answer within {timeout_s:g} s", service=service
        ) from exc
    except httpx.TransportError as exc:
        log.warning(
            "upstream unavailable", extra={"upstream": service, "error": type(exc).__name__}
        )
        raise UpstreamError(f"the {service} service is unavailable", service=service) from exc
    response = Response(content=content, status_code=upstream.status_code)
    response.raw_headers.extend(_filtered(upstream.headers.raw, _RESPONSE_OWN))
    return response


def _endpoint(service: str) -> Callable[..., Awaitable[Response]]:
    async def route(
        request: Request, path: str, runtime: RuntimeDep, caller: CallerDep
    ) -> Response:
        """Forward to the service; it checks the fine-grained scope itself."""
        if not may_call(caller, service):
            raise Forbidden(
                f"this call needs a scope of the {service} service ({service}:*)",
                required_scope=f"{service}:*",
            )
        return await forward(runtime=runtime, service=service, request=request, path=path)

    return route


def proxy_router(services: Sequence[str]) -> APIRouter:
    """One catch-all route per service and method, so paths of composed views never collide
    with them; one per method so each is one operation of the OpenAPI document."""
    router = APIRouter(prefix="/v1", tags=["routing"])
    for service in services:
        # The service documents its own answers (its OpenAPI, at /docs on its port); the
        # document lists what the gateway itself answers, and any status for the rest.
        responses: dict[int | str, dict[str, Any]] = {
            "default": {"description": f"The {service} service's answer, as it came"},
            **problems(403, 404, 502, 504),
        }
        for method in METHODS:
            router.add_api_route(
                f"/{service}/{{path:path}}",
                _endpoint(service),
                methods=[method],
                name=f"proxy_{service}_{method.lower()}",
                response_class=Response,
                responses=responses,
                summary=f"Routed to the {service} service as /v1/{{path}}",
            )
    return router
