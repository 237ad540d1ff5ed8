"""The launch domain's errors that more than one rule raises; each renders as problem+json."""

from __future__ import annotations

from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Invalid, NotFound

WRITE = "launch:write"
APPROVE = "launch:approve"


def field_error(field: str, msg: str, *, where: str = "body", **extra: object) -> Invalid:
    """A 422 naming the field, in the same `errors` shape as request validation."""
    return Invalid(
        f"{field}: {msg}",
        field=field,
        errors=[{"loc": [where, *field.split(".")], "msg": msg}],
        **extra,
    )


def required_text(field: str, value: str | None) -> str:
    """The stripped text, or a 422: reasons and evidence are read by people later."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise field_error(field, f"{field} must not be empty")
    return text


def require_scope(actor: Principal, scope: str) -> None:
    """The same 403 as `shared.auth.require`, for rules that name their scope themselves."""
    if not actor.has(scope):
        raise Forbidden(f"this needs the scope {scope}", required_scope=scope)


class FourEyes(Forbidden):
    """The plan's owner (or its planner) may not approve the plan, nor waive its gates."""

    title, slug = "Four-eyes rule", "four-eyes"


class OwnerNotAllowed(Forbidden):
    """Only an admin plans a launch in someone else's name."""

    title, slug = "Owner not allowed", "owner-not-allowed"


class GateNotFound(NotFound):
    title, slug = "Gate not found", "gate-not-found"


class ItemNotFound(NotFound):
    """A task, improvement or change request the plan does not have."""

    title, slug = "Not found on this plan", "item-not-found"


class NotSignable(Conflict):
    """The gate is not decided by a sign-off, or not yet."""

    title, slug = "Gate cannot be signed off", "not-signable"
