"""Service calls made by the composed views: each ends as the service's JSON or as a typed
failure, never as an exception, so one slow or broken service cannot sink a whole view.

The calls of one view share its deadline (`PRODUCTOPS_VIEW_BUDGET_S` from the moment the
view starts), go through the gateway's own upstream clients, and carry the caller's token:
the services check scopes themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
import orjson
from fastapi import Request

from gateway.runtime import GatewayRuntime
from shared.observability import correlation_id_var, request_id_var

log = logging.getLogger(__name__)


class Trouble(StrEnum):
    """Why a call brought back no answer."""

    TIMEOUT = "timeout"  # no answer within the view's budget
    UNAVAILABLE = "unavailable"  # not deployed here, or the connection failed
    FORBIDDEN = "forbidden"  # the service refused the caller (401, 403)
    NOT_FOUND = "not_found"
    INVALID = "invalid"  # the service refused the request's input (400, 422)
    FAILED = "failed"  # any other status, or a body that is not JSON


@dataclass(frozen=True)
class Answer:
    service: str
    body: Any


@dataclass(frozen=True)
class Failure:
    service: str
    trouble: Trouble
    status: int | None = None
    # The service's problem+json body, when it sent one.
    problem: Mapping[str, Any] | None = None

    @property
    def detail(self) -> str:
        """The service's own words when it answered, else what went wrong."""
        if self.problem is not None and isinstance(self.problem.get("detail"), str):
            return str(self.problem["detail"])
        if self.status is not None:
            return f"the {self.service} service answered {self.status}"
        return f"the {self.service} service is {self.trouble.value}"


Outcome = Answer | Failure

_TROUBLE_BY_STATUS = {
    401: Trouble.FORBIDDEN,
    403: Trouble.FORBIDDEN,
    404: Trouble.NOT_FOUND,
    400: Trouble.INVALID,
    422: Trouble.INVALID,
}


class ServiceCalls:
    """The calls of one composed view: the runtime's clients, the caller's credentials and
    request ids, and one deadline for all of them."""

    def __init__(
        self,
        clients: Mapping[str, httpx.AsyncClient],
        *,
        headers: Mapping[str, str],
        budget_s: float,
    ) -> None:
        self._clients = clients
        self._headers = dict(headers)
        self._loop = asyncio.get_running_loop()
        self.budget_s = budget_s
        self.deadline = self._loop.time() + budget_s

    @classmethod
    def of(
        cls, runtime: GatewayRuntime, request: Request, *, budget_s: float | None = None
    ) -> ServiceCalls:
        """Calls on behalf of this request's caller, within `budget_s` (default: the view
        budget)."""
        headers = {
            "authorization": request.headers.get("authorization", ""),
            "x-request-id": request_id_var.get(),
            "x-correlation-id": correlation_id_var.get(),
            "accept": "application/json",
        }
        return cls(
            runtime.upstreams,
            headers={k: v for k, v in headers.items() if v},
            budget_s=budget_s or runtime.settings.view_budget_s,
        )

    @property
    def services(self) -> list[str]:
        """The services this gateway reaches."""
        return list(self._clients)

    async def get(
        self,
        service: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        also_ok: Collection[int] = (),
    ) -> Outcome:
        """GET `path` on `service`: its JSON body on a 2xx (or a status in `also_ok`), a
        `Failure` otherwise."""
        client = self._clients.get(service)
        if client is None:
            return Failure(service, Trouble.UNAVAILABLE)
        remaining = self.deadline - self._loop.time()
        if remaining <= 0:
            return Failure(service, Trouble.TIMEOUT)
        try:
            # httpx times each phase; this bounds the whole exchange, a hung service included.
            async with asyncio.timeout(remaining):
                response = await client.get(
                    path, params=params, headers=self._headers, timeout=remaining
                )
        except (TimeoutError, httpx.TimeoutException):
            log.warning("upstream timed out in a view", extra={"upstream": service, "path": path})
            return Failure(service, Trouble.TIMEOUT)
        except httpx.TransportError as exc:
            log.warning(
                "upstream unavailable in a view",
                extra={"upstream": service, "error": type(exc).__name__},
            )
            return Failure(service, Trouble.UNAVAILABLE)
        return _outcome(service, response, also_ok)


def _outcome(service: str, response: httpx.Response, also_ok: Collection[int]) -> Outcome:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if response.is_success or response.status_code in also_ok:
        if body is None:
            return Failure(service, Trouble.FAILED, response.status_code)
        return Answer(service, body)
    trouble = _TROUBLE_BY_STATUS.get(response.status_code, Trouble.FAILED)
    problem = body if isinstance(body, dict) else None
    return Failure(service, trouble, response.status_code, problem)
