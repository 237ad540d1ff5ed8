"""Request bodies are JSON: a body sent as anything else is a 415, said as such.

Without this check FastAPI leaves a body of another media type (`text/plain`, a form, or
none named) unparsed, and its model then answers "Input should be a valid dictionary" about
a body that may well be one; storefront ingestion, which reads its body by hand, took it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute

from shared.errors import DomainError

JSON = "application/json"


class UnsupportedMediaType(DomainError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


def is_json(content_type: str) -> bool:
    """`application/json` or a `+json` type of `application/`, parameters aside."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON or (media.startswith("application/") and media.endswith("+json"))


def takes_json(route: APIRoute) -> bool:
    """Whether the route reads a JSON body: a body model, or a body it reads by hand and
    documents (`openapi_extra`) as JSON."""
    if route.body_field is not None:
        return True
    documented: dict[str, Any] = (route.openapi_extra or {}).get("requestBody", {})
    return JSON in documented.get("content", {})


async def refuse_other_media_types(request: Request) -> None:
    """415 `unsupported-media-type` for a request with a body, to a route that takes JSON,
    whose `Content-Type` is missing or not JSON. A request with no body is left to the
    route (a required body is then a 422)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not takes_json(route):
        return
    headers = request.headers
    has_body = "transfer-encoding" in headers or headers.get("content-length", "0") != "0"
    content_type = headers.get("content-type")
    if has_body and (content_type is None or not is_json(content_type)):
        named = f"is {content_type!r}" if content_type else "is not named"
        raise UnsupportedMediaType(
            f"the body must be JSON, sent with Content-Type: {JSON}; its media type {named}"
        )
