"""`docs/asyncapi.yaml`: current with the registries, and valid AsyncAPI 3.0.0.

The schema is the official one, vendored from `@asyncapi/specs` (see schemas/README.md).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.events import dlq_topic
from shared.stack.cli import ASYNCAPI_PATH, asyncapi_text, main
from shared.stack.components import event_registries, service_names

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / ASYNCAPI_PATH
SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def test_the_committed_document_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == asyncapi_text(), (
        "docs/asyncapi.yaml is stale: run `productops asyncapi` and commit the result"
    )


def test_it_is_valid_against_the_asyncapi_3_schema(
    document: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


def test_the_schema_check_catches_a_broken_document(
    document: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    # Not a vacuous pass: AsyncAPI 2's "publish" is no v3 action, and a payload schema
    # deep in components is checked too.
    broken = copy.deepcopy(document)
    operation = next(iter(broken["operations"].values()))
    operation["action"] = "publish"
    broken["components"]["schemas"]["CloudEvent"]["type"] = "envelope"
    paths = {tuple(e.absolute_path) for e in validator.iter_errors(broken)}
    assert len(paths) == 2


def test_every_local_reference_resolves(document: dict[str, Any]) -> None:
    for ref in _refs(document):
        assert ref.startswith("#/"), ref
        target: Any = document
        for part in ref[2:].split("/"):
            assert isinstance(target, dict), ref
            assert part in target, ref
            target = target[part]


def test_every_registered_type_is_a_message_on_its_topic(document: dict[str, Any]) -> None:
    registries = event_registries()
    assert set(registries) >= {"catalog", "feedback", "pricing"}
    for service, registry in registries.items():
        for event_type in registry.types:
            topic = registry.topic(event_type, service=service)
            assert event_type in document["channels"][topic]["messages"]
            message = document["components"]["messages"][event_type]
            envelope = message["payload"]["allOf"][1]["properties"]
            assert envelope["type"] == {"const": event_type}
            assert envelope["source"] == {"const": f"/{service}"}
    accepted = document["channels"]["storefront.customer-events"]["messages"]
    assert list(accepted) == ["feedback.customer_event.accepted.v1"]


def test_dead_letter_topics_are_one_parameterised_channel(document: dict[str, Any]) -> None:
    (channel,) = [c for c in document["channels"].values() if "{group}" in c["address"]]
    assert channel["address"] == dlq_topic("{group}")
    # Every service has a consumer group; the gateway publishes but consumes in no group.
    assert channel["parameters"]["group"]["enum"] == service_names()
    message = document["components"]["messages"]["dead-letter"]
    headers = document["components"]["schemas"]["DeadLetterHeaders"]
    assert message["headers"] == {"$ref": "#/components/schemas/DeadLetterHeaders"}
    assert "dlq-error-message" in headers["required"]


def test_the_cli_writes_the_document_and_checks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "docs" / "asyncapi.yaml"
    assert main(["asyncapi", "--check", "--output", str(output)]) == 1
    assert "is not current" in capsys.readouterr().err
    assert main(["asyncapi", "--output", str(output)]) == 0
    assert output.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")
    assert main(["asyncapi", "--check", "--output", str(output)]) == 0
    output.write_text("asyncapi: 3.0.0\n", encoding="utf-8")
    assert main(["asyncapi", "--check", "--output", str(output)]) == 1


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)
