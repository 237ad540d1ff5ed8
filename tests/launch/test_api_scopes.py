"""Every launch route checks its scope: without a token 401, with a token lacking the scope
403, both as problem+json. The routes are read from the app, so a new one is covered too."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.support import assert_problem, auth

# A token with scopes of other services only: it may call no launch route.
STRANGER = auth("catalog:read catalog:write pricing:read pricing:approve feedback:read")


def launch_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every `/v1` route the app documents, path parameters filled with a
    placeholder."""
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "x1", path))
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1/")
        for method in operations
    ]


async def test_every_route_needs_a_token_and_its_scope(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    routes = launch_routes(app)
    # The plan routes, the templates, the calendar and the kernel's dead-letter routes.
    assert {path.split("/")[2] for _, path in routes} >= {
        "launches",
        "gate-templates",
        "launch-calendar",
        "dead-letters",
    }
    for method, path in routes:
        body: dict[str, object] | None = {} if method in {"POST", "PUT", "PATCH"} else None
        anonymous = await client.request(method, path, json=body)
        assert_problem(anonymous, 401)
        stranger = await client.request(method, path, json=body, headers=STRANGER)
        problem = assert_problem(stranger, 403)
        assert problem["required_scope"].startswith(("launch:", "admin")), (method, path)


@pytest.mark.parametrize("scope", ["launch:read", "launch:write", "launch:approve"])
async def test_a_scope_opens_only_its_own_routes(
    app: FastAPI, client: httpx.AsyncClient, scope: str
) -> None:
    for method, path in launch_routes(app):
        body: dict[str, object] | None = {} if method in {"POST", "PUT", "PATCH"} else None
        response = await client.request(method, path, json=body, headers=auth(scope))
        if response.status_code == 403:
            assert assert_problem(response, 403)["required_scope"] != scope, (method, path)
