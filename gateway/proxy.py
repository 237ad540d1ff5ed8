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

from fastapi import APIRouter, Request, Response

from gateway.forwarding import TIMEOUTS, UNAVAILABLE
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
    # From the ASGI scope, not `request.headers`/`request.url`: each builds an object per
    # request that routing reads one value of.
    raw: list[tuple[bytes, bytes]] = request.scope["headers"]
    headers = _filtered(raw, _REQUEST_OWN)
    client = request.client.host if request.client else "unknown"
    earlier = next((value for name, value in raw if name == b"x-forwarded-for"), None)
    forwarded_for = b"%b, %b" % (earlier, client.encode()) if earlier else client.encode()
    headers.append((b"x-forwarded-for", forwarded_for))
    headers.append((b"x-forwarded-proto", request.scope["scheme"].encode()))
    for name, var in ((b"x-request-id", request_id_var), (b"x-correlation-id", correlation_id_var)):
        if value := var.get():
            headers.append((name, value.encode("latin-1")))
    return headers


def _target(request: Request, service: str, path: str) -> bytes:
    """The upstream path and query, keeping the client's percent-encoding as sent."""
    if any(segment in {".", ".."} for segment in path.split("/")):
        raise NotFound("dot segments are not allowed in a routed path")
    scope = request.scope
    raw = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
    prefix = b"/v1/%b/" % service.encode()
    tail = raw[len(prefix) :] if raw.startswith(prefix) else quote(path).encode()
    query: bytes = scope["query_string"]
    return b"/v1/%b?%b" % (tail, query) if query else b"/v1/%b" % tail


def may_call(principal: Principal, service: str) -> bool:
    """Whether the caller holds any scope of `service` (or admin)."""
    if ADMIN in principal.scopes:
        return True
    return any(s.startswith(f"{service}:") and s in SCOPES for s in principal.scopes)


async def forward(
    *, runtime: GatewayRuntime, service: str, request: Request, path: str
) -> Response:
    """Send the request on to `service` and hand back its answer as it came."""
    forwarder = runtime.forwarders[service]
    timeout_s = runtime.settings.upstream_timeout_s
    body = await request.body()  # capped at max_body_bytes by the request middleware
    target = _target(request, service, path)
    try:
        # httpcore times each phase; this bounds the whole exchange.
        async with asyncio.timeout(timeout_s):
            # Raw bytes: a compressed body goes back compressed, matching its headers.
            upstream = await forwarder.send(
                request.method.encode(), target, _request_headers(request), body
            )
    except TIMEOUTS as exc:
        log.warning("upstream timed out", extra={"upstream": service})
        raise UpstreamTimeout(
            f"the {service} service did not answer within {timeout_s:g} s", service=service
        ) from exc
    except UNAVAILABLE as exc:
        log.warning(
            "upstream unavailable", extra={"upstream": service, "error": type(exc).__name__}
        )
        raise UpstreamError(f"the {service} service is unavailable", service=service) from exc
    response = Response(content=upstream.content, status_code=upstream.status)
    response.raw_headers.extend(_filtered(upstream.headers, _RESPONSE_OWN))
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
