"""The AsyncAPI 3.0 document of the platform's events, built from the services' registries.

Channels are the Kafka topics (each service's `<service>.events`, the topics a registry names
for a type, and the dead-letter topics `dlq.<group>`); messages are the event types, their
payload the CloudEvents envelope (`shared.events.CloudEvent`) whose `data` is the type's
registered pydantic model, as JSON Schema. `productops asyncapi` writes it to
`docs/asyncapi.yaml`. Spec: https://www.asyncapi.com/docs/reference/specification/v3.0.0
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.events import CONTENT_TYPE, CloudEvent, EventRegistry, kafka_headers

ASYNCAPI_VERSION = "3.0.0"
SERVER = "kafka"
DLQ_CHANNEL = "dead-letters"
DLQ_MESSAGE = "dead-letter"
# The Kafka bindings' own version: https://github.com/asyncapi/bindings/tree/master/kafka
KAFKA_BINDING_VERSION = "0.5.0"
_SCHEMAS = "#/components/schemas/"
_ENVELOPE = "CloudEvent"
_HEADERS = "KafkaHeaders"
_DLQ_HEADERS = "DeadLetterHeaders"

# What the kernel's consumer adds to a record it dead-letters (`shared/consumer.py`).
DLQ_HEADERS: Mapping[str, str] = {
    "dlq-original-topic": "the topic the record was read from",
    "dlq-original-partition": "its partition (decimal)",
    "dlq-original-offset": "its offset (decimal)",
    "dlq-consumer-group": "the consumer group that gave up on it",
    "dlq-attempts": "how many times its handler ran (0: the value is not a CloudEvent)",
    "dlq-error-type": "the last error's exception class",
    "dlq-error-message": "the last error's message, at most 1000 characters",
}

_DESCRIPTION = """\
Every event is a CloudEvents 1.0 event in structured mode (the Kafka protocol binding):
the Kafka value is the JSON envelope, the header `content-type` is
`application/cloudevents+json`, and the Kafka key is the envelope's `subject` (normally
the product id), so one subject's events stay in order on one partition. `type` is
`<service>.<thing>.<past-tense verb>.v<N>`; a breaking change of `data` is a new `.vN`
published alongside the old one for a while. Readers are tolerant: unknown fields are
ignored, unknown types skipped. `sequence`, when present, is the subject's version after
the change: a consumer that has applied the same or a higher one ignores the event as stale.
Delivery is at least once (transactional outbox, then a relay); every consumer keeps an
inbox of the event ids it has handled, so a redelivered event changes nothing. An event
its handler keeps failing on goes to `dlq.<group>` with the original key, value and
headers, plus headers naming the error.
"""


def build(
    registries: Mapping[str, EventRegistry],
    *,
    version: str,
    broker: str,
    groups: Collection[str] | None = None,
) -> dict[str, Any]:
    """The AsyncAPI document of the events `registries` (by component name) publish.

    `version` is the platform's version, `broker` the default bootstrap address, `groups`
    the consumer groups with a dead-letter topic (default: every component in `registries`).
    """
    published = [
        (
            service,
            event_type,
            registry.model(event_type),
            registry.topic(event_type, service=service),
        )
        for service, registry in sorted(registries.items())
        for event_type in registry.types
    ]
    refs, schemas = _schemas([model for _, _, model, _ in published])
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for service, event_type, model, topic in published:
        channel = channels.setdefault(topic, _channel(topic))
        channel["messages"][event_type] = {"$ref": f"#/components/messages/{event_type}"}
        messages[event_type] = _message(service, event_type, model, data_ref=refs[model])
        operation = operations.setdefault(f"{service}.sends.{topic}", _send(service, topic))
        operation["messages"].append({"$ref": f"#/channels/{topic}/messages/{event_type}"})
    channels[DLQ_CHANNEL] = _dead_letter_channel(sorted(registries if groups is None else groups))
    messages[DLQ_MESSAGE] = _dead_letter_message()
    operations["consumers.dead-letter"] = _dead_letter_operation()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "ProductOps events",
            "version": version,
            "description": _DESCRIPTION,
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            SERVER: {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "Apache Kafka, or the embedded Kafka-protocol broker (Tansu).",
                "variables": {
                    "bootstrap": {
                        "default": broker,
                        "description": "PRODUCTOPS_KAFKA_BOOTSTRAP, else the embedded broker "
                        "on 127.0.0.1:PRODUCTOPS_BROKER_PORT.",
                    }
                },
            }
        },
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {
            "schemas": {
                _ENVELOPE: _envelope_schema(),
                _HEADERS: _headers_schema(),
                _DLQ_HEADERS: _dead_letter_headers_schema(),
                **schemas,
            },
            "messages": dict(sorted(messages.items())),
        },
    }


def render(document: Mapping[str, Any]) -> str:
    """The document as YAML, in the order it was built (stable: regenerating is a no-op)."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    # Repeated values are written out, not as YAML anchors: tools read it more easily.
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Several lines as a literal block, so the YAML keeps the text's own line breaks.
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _text)


def _schemas(
    models: list[type[BaseModel]],
) -> tuple[dict[type[BaseModel], str], dict[str, Any]]:
    """Each model's `$ref`, and the JSON Schema of every model and sub-model as
    `components.schemas` entries (pydantic's `$defs` would not resolve inside an AsyncAPI
    document). The wire shape: serialization mode, aliases such as `from`."""
    refs, defs = models_json_schema(
        [(model, "serialization") for model in models], ref_template=_SCHEMAS + "{model}"
    )
    by_model = {model: refs[(model, "serialization")]["$ref"] for model in models}
    return by_model, dict(sorted(defs.get("$defs", {}).items()))


def _channel(topic: str) -> dict[str, Any]:
    return {
        "address": topic,
        "title": topic,
        "servers": [{"$ref": f"#/servers/{SERVER}"}],
        "messages": {},
    }


def _send(service: str, topic: str) -> dict[str, Any]:
    return {
        "action": "send",
        "title": f"{service} publishes on {topic}",
        "summary": f"Written to {service}'s outbox in the transaction of the change, "
        "then published by its relay.",
        "channel": {"$ref": f"#/channels/{topic}"},
        "messages": [],
    }


def _message(
    service: str, event_type: str, model: type[BaseModel], *, data_ref: str
) -> dict[str, Any]:
    message: dict[str, Any] = {"name": event_type, "title": event_type}
    summary = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    if summary:
        message["summary"] = summary
    return message | {
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": _SCHEMAS + _HEADERS},
        "payload": {
            "allOf": [
                {"$ref": _SCHEMAS + _ENVELOPE},
                {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "source": {"const": f"/{service}"},
                        "type": {"const": event_type},
                        "data": {"$ref": data_ref},
                    },
                },
            ]
        },
        "bindings": {"kafka": _key_binding("The envelope's subject.")},
    }


def _key_binding(description: str) -> dict[str, Any]:
    return {
        "key": {"type": "string", "description": description},
        "bindingVersion": KAFKA_BINDING_VERSION,
    }


def _envelope_schema() -> dict[str, Any]:
    schema = CloudEvent.model_json_schema(mode="serialization")
    # `encode` leaves absent attributes out, so the wire never holds a null one, and
    # always writes the others (those with a default too).
    always = []
    for name, prop in schema["properties"].items():
        options = prop.pop("anyOf", None)
        if options is None:
            always.append(name)
            continue
        (kept,) = [option for option in options if option != {"type": "null"}]
        prop.pop("default", None)
        schema["properties"][name] = kept | prop
    schema["required"] = always
    schema["description"] = (
        "The CloudEvents 1.0 envelope; an absent attribute is left out, never null. "
        "`correlationid` names the request or event that started the chain, `causationid` "
        "the event that caused this one, `sequence` the subject's version after the change "
        "(decimal)."
    )
    return schema


def _headers_schema() -> dict[str, Any]:
    properties = {
        name: {"type": "string", "const": value.decode()} for name, value in kafka_headers()
    }
    return {"type": "object", "required": sorted(properties), "properties": properties}


def _dead_letter_headers_schema() -> dict[str, Any]:
    original = {
        name: {"type": "string", "description": "The original record's header."}
        for name, _ in kafka_headers()
    }
    added = {name: {"type": "string", "description": text} for name, text in DLQ_HEADERS.items()}
    return {"type": "object", "required": list(added), "properties": original | added}


def _dead_letter_channel(groups: list[str]) -> dict[str, Any]:
    return {
        "address": "dlq.{group}",
        "title": "dlq.<group>",
        "description": "One dead-letter topic per consumer group: the events its handlers "
        "kept failing on, after the consumer's retries.",
        "servers": [{"$ref": f"#/servers/{SERVER}"}],
        "parameters": {
            "group": {
                "description": "The consumer group: the consuming service's name.",
                "enum": groups,
            }
        },
        "messages": {DLQ_MESSAGE: {"$ref": f"#/components/messages/{DLQ_MESSAGE}"}},
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": DLQ_MESSAGE,
        "title": "A dead-lettered record",
        "summary": "The original record: the same key and value, its headers and the error's.",
        "headers": {"$ref": _SCHEMAS + _DLQ_HEADERS},
        "payload": {
            "description": "The original value, unchanged: a CloudEvent envelope, or the "
            "bytes that could not be read as one."
        },
        "bindings": {"kafka": _key_binding("The original record's key.")},
    }


def _dead_letter_operation() -> dict[str, Any]:
    return {
        "action": "send",
        "title": "Every consumer dead-letters what it cannot handle",
        "channel": {"$ref": f"#/channels/{DLQ_CHANNEL}"},
        "messages": [{"$ref": f"#/channels/{DLQ_CHANNEL}/messages/{DLQ_MESSAGE}"}],
    }
