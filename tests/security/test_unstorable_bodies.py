"""Every route whose body is a model refuses values no database can keep (a NUL character, a
lone surrogate, a number that is not finite, an integer past 64 bits: shared.unstorable.py)
with a 422 naming the place, in every app: a body holding one was a 500 wherever the value
reached the database or the JSON encoder. Routes that read their body raw
(storefront ingestion, the gateway's forwarding) refuse it per event or leave it to the
service behind them, and are not listed here."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from shared.settings import Settings
from shared.stack.components import GATEWAY, load_factory, service_names
from shared.unstorable import INTEGER_RANGE_MESSAGE, NOT_FINITE_MESSAGE, SURROGATE_MESSAGE
from tests.support import assert_problem

BODIES = [
    (b'{"name": "a\\u0000b"}', "must not contain the NUL character"),
    (b'{"name": "a\\ud800b"}', SURROGATE_MESSAGE),
    (b'{"name": -Infinity}', NOT_FINITE_MESSAGE),
    (b'{"name": 9223372036854775808}', INTEGER_RANGE_MESSAGE),
]
JSON = {"Content-Type": "application/json"}
_PARAMETER = re.compile(r"\{[^}]+\}")


@pytest.mark.parametrize("component", [*service_names(), GATEWAY])
async def test_each_body_route_refuses_values_no_database_can_keep(
    component: str, make_settings: Callable[..., Settings]
) -> None:
    app = load_factory(component)(make_settings())
    # Routes of included routers too, with their prefixes.
    routes = [
        route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.original_route.body_field
    ]
    checked = 0
    # No lifespan: the check answers before any route reaches the database or the broker.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        for route in routes:
            assert route.path_format is not None  # an API route always has its path
            path = _PARAMETER.sub("x", route.path_format)
            for method in route.methods or ():
                for body, message in BODIES:
                    response = await client.request(method, path, content=body, headers=JSON)
                    problem = assert_problem(response, 422, detail_has=message)
                    assert problem["errors"] == [{"loc": ["body", "name"], "msg": message}], (
                        method,
                        route.path_format,
                    )
                checked += 1
    assert checked > 0, component
