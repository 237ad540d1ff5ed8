"""The OpenAPI document lists every problem a route answers (shared/openapi.py), and a 405
names every method of the path's template in `Allow` (shared/errors.py)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict

from shared.auth import Principal, TokenSigner, require
from shared.concurrency import IfMatch
from shared.errors import PROBLEM_JSON, install_error_handlers
from shared.idempotency import IdempotencyDep
from shared.openapi import MISSING, MISSING_OR_CONFLICT, install_openapi, problems
from tests.support import TEST_SECRET, assert_problem

Reader = Annotated[Principal, Depends(require("catalog:read"))]
Writer = Annotated[Principal, Depends(require("catalog:write"))]


class ThingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def sample_app() -> FastAPI:
    """Routes that answer problems for each reason the kernel knows."""
    app = FastAPI()
    app.state.signer = TokenSigner(TEST_SECRET)
    install_error_handlers(app)
    install_openapi(app)

    @app.get("/v1/things/stats")
    async def stats() -> dict[str, int]:
        return {"things": 0}

    @app.get("/v1/things/{thing_id}", responses=MISSING)
    async def get_thing(thing_id: str, _: Reader) -> dict[str, str]:
        return {"id": thing_id}

    @app.patch("/v1/things/{thing_id}", responses=MISSING_OR_CONFLICT)
    async def update_thing(
        thing_id: str, body: ThingIn, _: Writer, if_match: IfMatch
    ) -> dict[str, str]:
        return {"id": thing_id}

    @app.post("/v1/things", status_code=201)
    async def create_thing(body: ThingIn, _: Writer, idem: IdempotencyDep) -> dict[str, str]:
        return {"id": "1"}

    @app.post("/v1/token", responses=problems(401))
    async def token() -> dict[str, str]:
        return {}

    return app


def statuses(document: dict[str, Any], method: str, path: str) -> set[str]:
    return set(document["paths"][path][method]["responses"])


def test_each_route_lists_the_problems_it_answers() -> None:
    document = sample_app().openapi()
    # The token check 401, the scope 403, the path parameter 422, its own 404.
    assert statuses(document, "get", "/v1/things/{thing_id}") == {"200", "401", "403", "404", "422"}
    # A body adds 400 (unparsable), 413 and 415 (not JSON); If-Match adds 412; its own 404
    # and 409.
    assert statuses(document, "patch", "/v1/things/{thing_id}") == {
        *("200", "400", "401", "403", "404", "409", "412", "413", "415", "422"),
    }
    # Idempotency-Key adds 409 (the same key in use) and 422.
    assert statuses(document, "post", "/v1/things") == {
        *("201", "400", "401", "403", "409", "413", "415", "422"),
    }
    # No parameter, no dependency: only what the route declares.
    assert statuses(document, "get", "/v1/things/stats") == {"200"}
    assert statuses(document, "post", "/v1/token") == {"200", "401"}


def test_routes_that_check_a_token_say_so() -> None:
    document = sample_app().openapi()
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    assert document["paths"]["/v1/things/{thing_id}"]["get"]["security"] == bearer
    assert document["paths"]["/v1/things"]["post"]["security"] == bearer
    assert "security" not in document["paths"]["/v1/things/stats"]["get"]
    assert "security" not in document["paths"]["/v1/token"]["post"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_problems_are_problem_json_with_one_schema() -> None:
    document = sample_app().openapi()
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"] == {
                        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }, status
    schemas = document["components"]["schemas"]
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail"]
    # FastAPI's validation error shapes describe no answer of ours.
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/things/abc", "GET, PATCH"),
        ("/v1/things", "POST"),
        # Also matched by /v1/things/{thing_id}, but a template of its own.
        ("/v1/things/stats", "GET"),
    ],
)
async def test_a_405_names_every_method_of_the_path(path: str, allowed: str) -> None:
    transport = httpx.ASGITransport(app=sample_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.put(path)
    assert_problem(response, 405)
    assert response.headers["allow"] == allowed
