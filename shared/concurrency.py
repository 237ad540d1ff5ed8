"""Optimistic concurrency: resources carry `version`; `If-Match` must name the current one."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from shared.errors import PreconditionFailed, field_error
from shared.openapi import answers


# A malformed version is 422; a stale one is 412 where the route compares it (`check_version`).
@answers(412, 422)
def _parse_if_match(
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not (raw.isascii() and raw.isdigit()):
        raise field_error(
            "If-Match",
            "not a version number",
            where="header",
            detail="If-Match must be the resource version, e.g. If-Match: 3",
        )
    return int(raw)


IfMatch = Annotated[int | None, Depends(_parse_if_match)]


def check_version(expected: int | None, actual: int) -> None:
    """412 when the client's `If-Match` version is not the current one."""
    if expected is not None and expected != actual:
        raise PreconditionFailed(
            f"the resource is at version {actual}, not {expected}; reload and retry",
            current_version=actual,
        )


def etag(version: int) -> str:
    return f'"{version}"'
