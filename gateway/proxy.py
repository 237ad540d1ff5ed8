"""Routing: `/v1/<service>/<path>` on the gateway is `/v1/<path>` on that service.

The gateway verifies the token and that the caller holds some scope of the service; the
service gets the same `Authorization` header and makes the fine-grained check itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, Mount, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.forwarding import TIMEOUTS, UNAVAILABLE, header_text
from gateway.runtime import CallerDep, GatewayRuntime, RuntimeDep, limited_caller
from shared.auth import ADMIN, SCOPES, Principal, current_principal
from shared.errors import (
    DomainError,
    Forbidden,
    NotFound,
    UpstreamError,
    UpstreamTimeout,
    domain_problem,
)
from shared.observability import correlation_id_var, request_id_var
from shared.openapi import problems

log = logging.getLogger(__name__)

PREFIX = "/v1"
_ROUTED = PREFIX + "/"
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


def _request_headers(request: Request) -> list[tuple[str, str]]:
    # From the ASGI scope, not `request.headers`/`request.url`: each builds an object per
    # request that routing reads one value of.
    raw: list[tuple[bytes, bytes]] = request.scope["headers"]
    headers = [
        (header_text(name), header_text(value)) for name, value in _filtered(raw, _REQUEST_OWN)
    ]
    client = request.client.host if request.client else "unknown"
    earlier = next((value for name, value in raw if name == b"x-forwarded-for"), None)
    headers.append(("x-forwarded-for", f"{header_text(earlier)}, {client}" if earlier else client))
    headers.append(("x-forwarded-proto", request.scope["scheme"]))
    for name, var in (("x-request-id", request_id_var), ("x-correlation-id", correlation_id_var)):
        if value := var.get():
            headers.append((name, value))
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
    body = await request.body()  # capped at max_body_bytes by the request middleware
    target = _target(request, service, path)
    try:
        # Raw bytes: a compressed body goes back compressed, matching its headers.
        upstream = await forwarder.send(request.method, target, _request_headers(request), body)
    except TIMEOUTS as exc:
        log.warning("upstream timed out", extra={"upstream": service})
        timeout_s = runtime.settings.upstream_timeout_s
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


async def route_call(
    *, runtime: GatewayRuntime, service: str, request: Request, path: str, caller: Principal
) -> Response:
    """A routed call of `caller`, whose token and rate were checked (`CallerDep`): 403
    without any scope of the service, else the service's answer; it checks the
    fine-grained scope itself."""
    if not may_call(caller, service):
        raise Forbidden(
            f"this call needs a scope of the {service} service ({service}:*)",
            required_scope=f"{service}:*",
        )
    return await forward(runtime=runtime, service=service, request=request, path=path)


def _endpoint(service: str) -> Callable[..., Awaitable[Response]]:
    async def route(
        request: Request, path: str, runtime: RuntimeDep, caller: CallerDep
    ) -> Response:
        """Forward to the service; it checks the fine-grained scope itself."""
        return await route_call(
            runtime=runtime, service=service, request=request, path=path, caller=caller
        )

    return route


def _template(service: str) -> str:
    return f"/{service}/{{path:path}}"


def proxy_router(services: Sequence[str]) -> APIRouter:
    """One catch-all route per service and method, so paths of composed views never collide
    with them; one per method so each is one operation of the OpenAPI document.

    In the gateway `RoutedCalls` answers these paths before FastAPI's router sees them,
    through the same steps; the routes declare them: the OpenAPI document (with the problems
    their dependencies answer) and the route template of metrics and logs."""
    router = APIRouter(prefix=PREFIX, tags=["routing"])
    for service in services:
        # The service documents its own answers (its OpenAPI, at /docs on its port); the
        # document lists what the gateway itself answers, and any status for the rest.
        responses: dict[int | str, dict[str, Any]] = {
            "default": {"description": f"The {service} service's answer, as it came"},
            **problems(403, 404, 502, 504),
        }
        for method in METHODS:
            router.add_api_route(
                _template(service),
                _endpoint(service),
                methods=[method],
                name=f"proxy_{service}_{method.lower()}",
                response_class=Response,
                responses=responses,
                summary=f"Routed to the {service} service as /v1/{{path}}",
            )
    return router


def shadowed_by_routing(routes: Sequence[BaseRoute], services: Collection[str]) -> list[str]:
    """The templates of `routes` that could match a routed path (`/v1/<service>/...`), which
    `RoutedCalls` would answer before FastAPI's router got to them."""
    shadowed = []
    for route in iter_route_contexts(routes):
        # A mount takes every path under its own.
        whole = f"{route.path}/{{path:path}}" if isinstance(route.original_route, Mount) else None
        if route.path is not None and _could_match_routed(whole or route.path, services):
            shadowed.append(route.path)
    return shadowed


def _could_match_routed(template: str, services: Collection[str]) -> bool:
    # Segment by segment: the literal wanted or a parameter; one that takes the rest of the
    # path (`{name:path}`) matches whatever follows.
    segments = template.split("/")[1:]
    for segment, wanted in zip(segments, ({PREFIX[1:]}, services), strict=False):
        if segment.endswith(":path}"):
            return True
        if not segment.startswith("{") and segment not in wanted:
            return False
    return len(segments) > 2


class RoutedCalls:
    """Answers `/v1/<service>/...` (for the methods routed) in plain ASGI, in front of
    FastAPI's error handlers and router; everything else goes on to `app`.

    A routed call is most of what the gateway serves, and FastAPI's part of one (the scan
    of every route, dependency solving, its inner middleware, request and response
    wrapping) was about a fifth of the gateway's CPU per call (issue 16's profile). Here
    the call takes the same steps, through the same functions: the token
    (`current_principal`), the caller's rate (`limited_caller`), the service scope and the
    forward (`route_call`), with the route FastAPI would have matched in `scope["route"]`,
    whose template metrics and logs read. Its errors are answered as the app's handlers
    answer them."""

    def __init__(self, app: ASGIApp, *, runtime: GatewayRuntime, router: APIRouter) -> None:
        self.app = app
        self.runtime = runtime
        self._routes: dict[tuple[str, str], APIRoute] = {}
        for service in runtime.services:
            template = PREFIX + _template(service)
            for route in router.routes:
                if isinstance(route, APIRoute) and route.path == template:
                    self._routes.update({(service, m): route for m in route.methods or ()})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route_path = get_route_path(scope) if scope["type"] == "http" else ""
        if not route_path.startswith(_ROUTED):
            await self.app(scope, receive, send)
            return
        service, slash, path = route_path[len(_ROUTED) :].partition("/")
        route = self._routes.get((service, scope["method"])) if slash else None
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route
        request = Request(scope, receive)
        try:
            # `CallerDep`, in its order: the token (401), then the caller's rate (429).
            caller = await limited_caller(await current_principal(request), self.runtime)
            response = await route_call(
                runtime=self.runtime, service=service, request=request, path=path, caller=caller
            )
        except DomainError as exc:
            response = domain_problem(exc)
        await response(scope, receive, send)
