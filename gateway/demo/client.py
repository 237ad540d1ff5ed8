"""A small synchronous client of the gateway's public API for the demo: an API key exchanged
for a bearer token, problem+json turned into `DemoError`, rate limits and expired tokens
handled by waiting or logging in again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

Json = Any
# A write that hits the per-caller rate limit (429) waits `Retry-After` and tries again,
# this many times at most.
MAX_RATE_LIMITED = 30
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class DemoError(Exception):
    """The gateway refused a call, or something did not happen in time."""


class Gateway:
    """Calls to the gateway on behalf of one API key."""

    def __init__(self, base_url: str, api_key: str, *, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or httpx.Client(base_url=self.base_url, timeout=TIMEOUT, trust_env=False)
        self._api_key = api_key
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def login(self) -> None:
        """Exchange the API key for a token (again, when the last one expired)."""
        response = self._send("POST", "/v1/auth/token", json={"api_key": self._api_key})
        if response.status_code != 200:
            raise DemoError(f"the gateway refused the API key: {_problem(response)}")
        self._token = response.json()["access_token"]

    def call(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        json: Json = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The response when its status is one of `ok`; DemoError otherwise."""
        if self._token is None:
            self.login()
        response = self._authorised(method, path, json=json, params=params, headers=headers)
        if response.status_code == 401:
            self.login()
            response = self._authorised(method, path, json=json, params=params, headers=headers)
        if response.status_code not in ok:
            raise DemoError(f"{method} {path}: {_problem(response)}")
        return response

    def get(self, path: str, **params: Any) -> Json:
        return self.call("GET", path, params=params).json()

    def post(self, path: str, body: Json, *, ok: tuple[int, ...] = (200, 201)) -> Json:
        return self.call("POST", path, json=body, ok=ok).json()

    def items(self, path: str, **params: Any) -> Iterator[Json]:
        """Every item of a list, page by page."""
        cursor: str | None = None
        while True:
            page = self.get(path, limit=200, **params, **({"cursor": cursor} if cursor else {}))
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def _authorised(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", **(kwargs.pop("headers") or {})}
        return self._send(method, path, headers=headers, **kwargs)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for _ in range(MAX_RATE_LIMITED):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise DemoError(f"{method} {self.base_url}{path}: {exc!r}") from exc
            if response.status_code != 429:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))
        raise DemoError(f"{method} {path}: still rate-limited after {MAX_RATE_LIMITED} waits")


def until(check: Callable[[], Json], what: str, *, timeout_s: float = 60.0) -> Json:
    """Poll `check` until it returns something truthy (other services learn of a change
    through events, a moment later); DemoError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(0.25)
    return found


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"
    if isinstance(body, dict):
        return f"{response.status_code} {body.get('title', '')}: {body.get('detail', '')}"
    return f"{response.status_code} {body}"
