"""The routed calls' own connection pool to one service: aiohttp's client.

Routing hands a request on as it came and its answer back as it came, so it wants a client
that adds nothing and decodes nothing. httpx's client layers (URL merging, header
normalisation, auth and redirect loops, a cookie jar, content decoding) were all work the
gateway then undid; httpcore alone still spent about 0.6 ms of CPU per exchange in h11's
pure-Python parser and anyio's cancel scopes. aiohttp parses answers in C (llhttp) and runs
on asyncio directly: about 0.25 ms per exchange on the same machine (issue 16). The views
keep their httpx clients (gateway/upstream.py): they want JSON, parameters and decoding.

The session is told to add nothing of its own: no `Accept`, `Accept-Encoding`,
`User-Agent` or `Content-Type` defaults, no decompression, no redirects, no proxy from the
environment, and no cookie jar, which in a proxy shared by every caller would send a
`Set-Cookie` from a service's answer to one caller along with the next caller's requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import aiohttp
from yarl import URL

# What a failed routed call is: the service did not answer in time, or not at all.
# aiohttp's own timeouts (`ServerTimeoutError`, `ConnectionTimeoutError`) are TimeoutErrors;
# catch these first, as they are ClientErrors too.
TIMEOUTS: tuple[type[Exception], ...] = (TimeoutError,)
UNAVAILABLE: tuple[type[Exception], ...] = (aiohttp.ClientError,)

# Defaults aiohttp would add to a request that has none: the caller's own are sent instead.
_NOT_ADDED = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
# An idle connection is let go of before the service's server would close it (uvicorn: 5 s),
# so a call never goes out on a connection the service is closing at that moment.
_KEPT_IDLE_S = 4.0


def exchange_timeout(timeout_s: float, connect_timeout_s: float) -> aiohttp.ClientTimeout:
    """`timeout_s` for a whole exchange, the body read included, `connect_timeout_s` for the
    connection. aiohttp rounds a timeout of `ceil_threshold` (5 s) or more up to the next
    whole second of the loop's clock: the default 5 s limit answered its 504 after 5.6-6.0 s.
    Never rounded here."""
    return aiohttp.ClientTimeout(
        total=timeout_s, sock_connect=connect_timeout_s, ceil_threshold=math.inf
    )


class Answer(NamedTuple):
    """A service's answer as it came: status, raw headers and raw (still encoded) body."""

    status: int
    headers: Sequence[tuple[bytes, bytes]]
    content: bytes


def header_text(value: bytes) -> str:
    """A header name or value as aiohttp takes it: aiohttp writes them out as UTF-8, so
    decoding them so sends the bytes the caller sent. A value that is not UTF-8 (RFC 9110's
    obs-text) is read as Latin-1, as HTTP once defined it."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")


class Forwarder:
    """Keep-alive connections to the service at `base_url`, and one exchange at a time on
    each. Must be made on the running event loop (aiohttp's session is bound to it)."""

    def __init__(self, base_url: str, *, timeout_s: float, connect_timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=100, keepalive_timeout=_KEPT_IDLE_S, timeout_ceil_threshold=math.inf
            ),
            timeout=exchange_timeout(timeout_s, connect_timeout_s),
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_NOT_ADDED,
            auto_decompress=False,
            trust_env=False,
        )

    async def send(
        self, method: str, target: bytes, headers: list[tuple[str, str]], body: bytes
    ) -> Answer:
        """One exchange (`target` is the path and query, percent-encoded as they go out); its
        body read whole. Raises `TIMEOUTS` or `UNAVAILABLE`."""
        # `encoded=True`: the caller's percent-encoding goes on untouched, not normalised.
        url = URL(self._base_url + header_text(target), encoded=True)
        # As httpx sent them: the connection is the gateway's, kept alive for the next call.
        sent = [*headers, ("Connection", "keep-alive")]
        async with self._session.request(
            method, url, headers=sent, data=body or None, allow_redirects=False
        ) as response:
            content = await response.read()
        return Answer(response.status, response.raw_headers, content)

    async def aclose(self) -> None:
        await self._session.close()
