"""The routed calls' own connection pool to one service: httpcore, without httpx's client.

Routing hands a request on as it came and its answer back as it came, so httpx's client
layers (URL merging, header normalisation, auth and redirect loops, a cookie jar, content
decoding) are all work the gateway then undoes or must not do: a profile of a routed GET
put them at a tenth of the gateway's time per request. The views keep their httpx clients
(gateway/upstream.py): they want JSON, parameters and decoding.

The client-wide cookie jar is also a hazard for a proxy shared by every caller: a
`Set-Cookie` from a service answering one caller would be sent along with the next
caller's requests. The pool keeps none.
"""

from __future__ import annotations

import httpcore
import httpx

# What a failed routed call is: the service did not answer in time, or not at all.
TIMEOUTS: tuple[type[Exception], ...] = (TimeoutError, httpcore.TimeoutException)
UNAVAILABLE: tuple[type[Exception], ...] = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
)


class Forwarder:
    """Keep-alive connections to the service at `base_url`, and one exchange at a time on
    each: `send` gives back the status, raw headers and raw (still encoded) body."""

    def __init__(self, base_url: str, *, timeout_s: float, connect_timeout_s: float) -> None:
        url = httpx.URL(base_url)
        port = url.port
        self._scheme = url.raw_scheme
        self._host = url.raw_host
        self._port = port
        # The Host header httpx would send: the port only when it is not the scheme's own.
        self._host_header = url.raw_host if port is None else b"%b:%d" % (url.raw_host, port)
        self._timeouts = {
            "connect": connect_timeout_s,
            "read": timeout_s,
            "write": timeout_s,
            "pool": timeout_s,
        }
        self._pool = httpcore.AsyncConnectionPool(max_connections=100, max_keepalive_connections=20)

    async def send(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> httpcore.Response:
        """One exchange; its body read whole. Raises httpcore's exceptions (`TIMEOUTS`,
        `UNAVAILABLE`)."""
        # As httpx sent them: the connection is the gateway's, kept alive for the next call.
        headers = [(b"host", self._host_header), *headers, (b"connection", b"keep-alive")]
        if body:
            headers.append((b"content-length", b"%d" % len(body)))
        request = httpcore.Request(
            method,
            httpcore.URL(scheme=self._scheme, host=self._host, port=self._port, target=target),
            headers=headers,
            content=body,
            extensions={"timeout": self._timeouts},
        )
        response = await self._pool.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def aclose(self) -> None:
        await self._pool.aclose()
