"""Domain errors and their RFC 9457 problem+json rendering.

Every error a client can see leaves through `problem_response`; no traceback ever does.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://productops.dev/problems/"


_RESERVED_FIELDS = frozenset({"type", "title", "status", "detail", "slug"})


class DomainError(Exception):
    """A rule said no; carries the HTTP status it maps to and extra problem fields."""

    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        if clash := _RESERVED_FIELDS & extra.keys():
            raise TypeError(f"problem fields {sorted(clash)} are set by the error itself")
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(DomainError):
    status, title, slug = 422, "Invalid input", "invalid-input"


class Unauthorized(DomainError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(DomainError):
    status, title, slug = 403, "Forbidden", "missing-scope"


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class NotAcceptable(DomainError):
    status, title, slug = 406, "Not acceptable", "not-acceptable"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(DomainError):
    status, title, slug = 412, "Precondition failed", "stale-version"


class PayloadTooLarge(DomainError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class EventTooLarge(PayloadTooLarge):
    """The request would make an event bigger than the broker takes: refused where it is made,
    since the relay could never send it."""

    title, slug = "Event too large", "event-too-large"


class TooManyRequests(DomainError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class UpstreamError(DomainError):
    status, title, slug = 502, "Bad gateway", "upstream-unavailable"


class UpstreamTimeout(DomainError):
    status, title, slug = 504, "Gateway timeout", "upstream-timeout"


# Errors raised by the framework (404, 405, 413...) get the same type and title as ours.
_BY_STATUS: dict[int, type[DomainError]] = {
    cls.status: cls
    for cls in (
        Unauthorized,
        Forbidden,
        NotFound,
        NotAcceptable,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        TooManyRequests,
        UpstreamError,
        UpstreamTimeout,
    )
}


def problem_body(
    status: int, detail: str, *, title: str | None = None, slug: str | None = None, **extra: Any
) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": _TYPE_BASE + (slug or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return body


def problem_response(
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    title: str | None = None,
    slug: str | None = None,
    **extra: Any,
) -> Response:
    body = problem_body(status, detail, title=title, slug=slug, **extra)
    return Response(
        orjson.dumps(body, default=str),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


@dataclass(frozen=True)
class FieldError:
    """One input a rule refused: where it is within its part of the request, and why."""

    loc: tuple[str | int, ...]
    msg: str


def invalid_input(
    errors: Sequence[FieldError],
    *,
    where: str = "body",
    what: str | None = None,
    detail: str | None = None,
    **extra: Any,
) -> Invalid:
    """The 422 for input that broke field rules (at least one error), with `errors: [{loc,
    msg}]` as request validation renders them: `loc` starts with `where` (body, query,
    header or path), its parts as strings.

    `detail` defaults to the first error and how many more; with `what` (the input's name)
    it reads "invalid criteria: 1.name: duplicate criterion 'a' (and 3 more)".
    """
    first = errors[0]
    place = ".".join(str(part) for part in first.loc) or what or where
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    summary = f"{place}: {first.msg}{more}"
    return Invalid(
        detail or (f"invalid {what}: {summary}" if what else summary),
        errors=[{"loc": [where, *(str(part) for part in e.loc)], "msg": e.msg} for e in errors],
        **extra,
    )


def field_error(
    field: str, msg: str, *, where: str = "body", detail: str | None = None, **extra: Any
) -> Invalid:
    """The 422 for one input field, named dotted (`guardrails.floor`) in the problem's
    `field` as well as in `errors`; `detail` defaults to "field: msg"."""
    error = FieldError(tuple(field.split(".")), msg)
    return invalid_input([error], where=where, detail=detail, field=field, **extra)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's error list reduced to `{loc, msg}` with JSON-safe locations."""
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in errors
    ]


def allowed_methods(request: Request) -> str:
    """Every method the path's route template takes, for a 405's `Allow` (RFC 9110 section
    15.5.6). Starlette names only the first route whose path matched, and FastAPI makes one
    route per method, so a path with GET and PATCH would answer `Allow: GET`."""
    # Routes of included routers too, each as its inclusion made it (prefix and all).
    routes = list(iter_route_contexts(request.app.router.routes))
    template = next(
        (r.path_format for r in routes if r.matches(request.scope)[0] != Match.NONE), None
    )
    # The methods of the first template that matched, as the OpenAPI document groups them:
    # `/v1/products/stats` is not `/v1/products/{product_id}`, whose methods it also matches.
    methods = {m for r in routes if r.path_format == template for m in r.methods or ()}
    return ", ".join(sorted(methods))


def domain_problem(exc: DomainError) -> Response:
    """The answer to a domain error: its status, title, type, detail and extra fields, and
    the headers it carries (`Retry-After`, `WWW-Authenticate`) as response headers."""
    extra = dict(exc.extra)
    headers = extra.pop("headers", None)
    return problem_response(
        exc.status, exc.detail, title=exc.title, slug=exc.slug, headers=headers, **extra
    )


def unreadable_body(cause: ValueError | RecursionError) -> str | None:
    """What to tell the client whose JSON body FastAPI could not read at all (its 400 says
    only "There was an error parsing the body"), or None when the cause is not known here.

    Python's own messages would name its internals (`sys.set_int_max_str_digits`)."""
    if isinstance(cause, RecursionError):
        return "the body's arrays and objects nest too deeply to be read"
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not JSON text: it must be UTF-8"
    if "integer string conversion" in str(cause):
        return f"a number in the body has more than {sys.get_int_max_str_digits()} digits"
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem+json: validation, domain, HTTP and unexpected."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> Response:
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(exc.errors())
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem_response(
            422,
            detail or "invalid request",
            title="Invalid input",
            slug="invalid-input",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
            detail = unreadable_body(exc.__cause__) or detail
        known = _BY_STATUS.get(exc.status_code)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem_response(
            exc.status_code,
            detail,
            headers=headers or None,
            title=known.title if known else None,
            slug=known.slug if known else None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(500, "an unexpected error occurred; it has been logged")
