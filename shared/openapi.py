"""An OpenAPI document that lists every problem a route can answer (issue 12).

Each problem response is `application/problem+json` with the `Problem` schema. What a route
answers comes from two places:

- what it does itself, declared where it raises: `responses=problems(404, 409)` on the
  route (or a named set such as `MISSING`);
- what its dependencies and parameters do, read from the route: a dependency marked with
  `answers(...)` (the token check 401, a scope 403, `If-Match` 412/422, `Idempotency-Key`
  409/422, a rate limit 429) and any parameter 422 (validation), any body 400 and 413 as
  well. A route whose dependencies answer 401 checks a token: it names the `bearer`
  security scheme.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from shared.errors import PROBLEM_JSON

F = TypeVar("F", bound=Callable[..., Any])
Responses = dict[int | str, dict[str, Any]]

_REF = "#/components/schemas/Problem"
_BEARER = "bearer"
# The access token from `POST /v1/auth/token` on the gateway (docs/http-api.md).
BEARER_SCHEME: dict[str, Any] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}

# RFC 9457's members, plus `errors` as validation problems carry them; a problem may add
# members of its own (`current_version`, `required_scope`...).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: every error answer of ProductOps.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

# What each status means for a ProductOps route, as the document says it.
_MEANING = {
    400: "The body could not be parsed",
    401: "No valid access token (`Authorization: Bearer <token>`)",
    403: "The token lacks the scope this call needs",
    404: "Nothing with this id (or no such route)",
    406: "None of the media types in `Accept` can be served; `acceptable` lists those that can",
    409: "The request conflicts with the resource's state",
    412: "`If-Match` names a version that is no longer current",
    413: "The request body (or the event it makes) is too large",
    422: "The input breaks a rule; `errors` says where",
    429: "Too many requests; retry after `Retry-After` seconds",
    502: "The service behind the gateway is unavailable",
    504: "The service behind the gateway did not answer in time",
}

# The dependencies that answer problems of their own, by identity (see `answers`).
_ANSWERED_BY: dict[Callable[..., Any], frozenset[int]] = {}


def documented_problem(status: int) -> dict[str, Any]:
    """One problem+json response object."""
    return {
        "description": _MEANING.get(status, HTTPStatus(status).phrase),
        "content": {PROBLEM_JSON: {"schema": {"$ref": _REF}}},
    }


def problems(*statuses: int) -> Responses:
    """`responses=` for a route: the problems it raises itself, e.g. `problems(404, 409)`."""
    return {status: documented_problem(status) for status in statuses}


# Named sets for what most routes raise themselves.
MISSING = problems(404)  # the route loads one thing by its id
MISSING_OR_CONFLICT = problems(404, 409)  # ... and changes its state
CONFLICT = problems(409)  # the route creates a thing that must be unique


def answers(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency with the problems it answers; every route using it (directly or
    through another dependency) documents them."""

    def mark(dependency: F) -> F:
        _ANSWERED_BY[dependency] = frozenset(statuses)
        return dependency

    return mark


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def derived_statuses(route: Dependant) -> set[int]:
    """The problems a route answers because of its dependencies and parameters (`route` is
    the route's `dependant`)."""
    found: set[int] = set()
    for part in _dependants(route):
        if part.call is not None:
            found |= _ANSWERED_BY.get(part.call, frozenset())
        if part.body_params:
            # 400: a body that cannot be read at all (FastAPI's "error parsing the body");
            # 415: one that is not JSON (`shared.media_type`).
            found |= {400, 413, 415, 422}
        if part.path_params or part.query_params or part.header_params or part.cookie_params:
            found.add(422)
    return found


def _document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    paths = schema.get("paths", {})
    # Routes of included routers too, with what the inclusion added (prefix, dependencies).
    for route in iter_route_contexts(app.routes):
        if not (isinstance(route.original_route, APIRoute) and route.include_in_schema):
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            derived = derived_statuses(route.dependant)
            for status in sorted(derived):
                responses[str(status)] = documented_problem(status)
            # A dependency that answers 401 is the token check: the route needs a bearer token.
            if 401 in derived:
                operation["security"] = [{_BEARER: []}]
    for operations in paths.values():
        for operation in operations.values():
            # FastAPI's own 422 (application/json) is replaced: validation answers a problem.
            if "422" in operation.get("responses", {}):
                operation["responses"]["422"] = documented_problem(422)
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[_BEARER] = BEARER_SCHEME
    components = components.setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    # FastAPI's validation error schemas describe no answer ProductOps gives.
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and `/openapi.json`) list each route's problem answers."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
