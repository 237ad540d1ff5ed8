"""ASGI middleware every app uses: request and correlation ids, body cap, metrics, access log,
and the security headers of every response.

Written as plain ASGI (not BaseHTTPMiddleware) so it adds little per request and can
stop an oversized body while it streams in.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import Invalid, problem_response
from shared.observability import HTTP_LATENCY, HTTP_REQUESTS, correlation_id_var, request_id_var
from shared.unstorable import NUL_MESSAGE

log = logging.getLogger("productops.access")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# JSON and problem+json answers carry data meant for one caller: no cache keeps them.
_NOT_CACHED = (b"application/json", b"application/problem+json")


def _security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`nosniff` on every response, `no-store` on JSON ones, unless already set (a
    proxied answer comes with the service's own)."""
    names = {name.lower(): value for name, value in headers}
    extra = []
    if b"x-content-type-options" not in names:
        extra.append((b"x-content-type-options", b"nosniff"))
    content_type = names.get(b"content-type", b"").lower()
    if content_type.startswith(_NOT_CACHED) and b"cache-control" not in names:
        extra.append((b"cache-control", b"no-store"))
    return extra


class _BodyTooLarge(HTTPException):
    # FastAPI's body reader re-raises HTTPException but turns anything else into a 400.
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes")


def _nul_in(scope: Scope) -> list[str] | None:
    """Where the request's path or query string holds a NUL character (`%00`), as a
    validation error's `loc`: `["path"]`, or `["query", name]`."""
    if "\x00" in scope["path"]:
        return ["path"]
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return ["query", name.replace("\x00", "")]
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


class RequestContextMiddleware:
    """Tags each request with ids, caps its body, records it in metrics and logs, and adds
    `X-Content-Type-Options: nosniff` (and `Cache-Control: no-store` to JSON answers)."""

    def __init__(self, app: ASGIApp, *, service: str, max_body_bytes: int) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_ID.match(incoming) else uuid.uuid4().hex
        incoming = _header(scope, b"x-correlation-id")
        correlation_id = incoming if incoming and _SAFE_ID.match(incoming) else request_id
        request_token = request_id_var.set(request_id)
        correlation_token = correlation_id_var.set(correlation_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        ids = [
            (b"x-request-id", request_id.encode()),
            (b"x-correlation-id", correlation_id.encode()),
        ]

        async def send_with_ids(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                message["headers"] = [*headers, *ids, *_security_headers(headers)]
            await send(message)

        try:
            length = _header(scope, b"content-length")
            if (
                length is not None
                and length.isascii()
                and length.isdigit()
                and int(length) > self.max_body_bytes
            ):
                await self._too_large(scope, receive, send_with_ids)
                return
            if nul := _nul_in(scope):
                # No text we keep or look up holds one: PostgreSQL refuses it, SQLite's
                # full-text search reads it as the end of the string.
                await problem_response(
                    422,
                    f"{'.'.join(nul[1:]) or nul[0]}: {NUL_MESSAGE}",
                    title=Invalid.title,
                    slug=Invalid.slug,
                    errors=[{"loc": nul, "msg": NUL_MESSAGE}],
                )(scope, receive, send_with_ids)
                return
            try:
                await self.app(scope, self._capped(receive), send_with_ids)
            except _BodyTooLarge:
                if response_started:
                    raise
                await self._too_large(scope, receive, send_with_ids)
            except Exception:
                if response_started:
                    raise
                # Starlette's error middleware sits outside this one: its 500 would carry no
                # ids and its log line no request_id. Answer here, inside the request context.
                log.exception("unhandled error", extra={"path": scope["path"]})
                await problem_response(500, "an unexpected error occurred; it has been logged")(
                    scope, receive, send_with_ids
                )
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], template).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(request_token)
            correlation_id_var.reset(correlation_token)

    def _capped(self, receive: Receive) -> Receive:
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        return capped_receive

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            f"the request body is larger than {self.max_body_bytes} bytes",
            title="Payload too large",
            slug="payload-too-large",
            max_bytes=self.max_body_bytes,
        )
        await response(scope, receive, send)
