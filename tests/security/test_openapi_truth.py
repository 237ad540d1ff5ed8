"""Issue 12, "OpenAPI that tells the truth": every app's OpenAPI document gives each operation
its problem answers (shared/openapi.py). This is the quick, static half; the proof by calling
is tests/contracts/test_schemathesis.py (schemathesis against each app, `make test`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.errors import PROBLEM_JSON
from shared.settings import Settings
from shared.stack.components import GATEWAY, load_factory, service_names

PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
# Composed views answer any valid token: a part the caller may not read is null and named in
# `forbidden`, never a 403.
ANY_SCOPE = {"GET /v1/products/{product_id}/overview", "GET /v1/dashboard/summary"}


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("component", [*service_names(), GATEWAY])
def test_each_operation_documents_its_problems(
    component: str, make_settings: Callable[..., Settings]
) -> None:
    document = load_factory(component)(make_settings()).openapi()
    assert document["components"]["schemas"]["Problem"]["required"] == [
        *("type", "title", "status", "detail")
    ]
    guarded = 0
    for name, operation in operations(document):
        responses = operation["responses"]
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert response["content"] == PROBLEM, (name, status)
        if name == "POST /v1/auth/token":
            # The one route without a token: a bad API key is its 401.
            assert "security" not in operation
            assert "401" in responses
            continue
        # Every other route checks a token, and a scope (its own, or the gateway's
        # "some scope of this service").
        assert operation["security"] == [{"bearer": []}], name
        assert "401" in responses, name
        assert ("403" in responses) is (name not in ANY_SCOPE), name
        guarded += 1
        if "{" in name:
            assert "422" in responses, name
        if "requestBody" in operation:
            assert {"413", "422"} <= set(responses), name
    assert guarded > 0
