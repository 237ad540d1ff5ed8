"""The catalog's events keep their wire shape: every type's `data` has exactly these keys.

The payloads are contracts of their own (issue 8, section 3): an API change must not change
them. One walk through the API emits every registered type; each payload's key paths
(nested objects as `a.b`, list items as `a[].b`) are compared with the published shape.
Free-form maps (attributes, axes, answers, scores, question definitions) are not descended.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from services.catalog.events import registry
from services.catalog.requirements.domain import recommendation_id, requirement_key
from shared.republish import write_snapshots
from tests.catalog.conftest import BOTH, WRITE, make_product, make_type, outbox_events
from tests.support import auth

WRITES = "catalog:read catalog:write"

FREE_FORM = frozenset({"attributes", "axes", "answers", "scores", "questions", "old", "new"})

PRODUCT_SNAPSHOT = [
    "attributes",
    "brand",
    "completeness",
    "completeness.missing",
    "completeness.score",
    "cost",
    "cost.amount",
    "cost.currency",
    "created_at",
    "description",
    "lifecycle",
    "name",
    "product_id",
    "product_type",
    "sku",
    "vendor",
    "version",
]
CHANGES = ["changes", "changes[].field", "changes[].new", "changes[].old"]
COMPLETENESS = ["completeness", "completeness.missing", "completeness.score"]
RESPONSE = [
    "answers",
    "completion",
    "completion.answered",
    "completion.complete",
    "completion.required_answered",
    "completion.required_total",
    "completion.total",
    "product_id",
    "questionnaire_id",
    "response_id",
    "status",
    "vendor",
    "version",
]

CASE_STUDY = [
    "author",
    "author.name",
    "author.subject",
    "case_study_id",
    "competitor",
    "competitor_product",
    "created_at",
    "product_type",
    "sources",
    "sources[].text",
    "sources[].url",
    "status",
    "strengths",
    "version",
    "weaknesses",
]

WIRE_KEYS: dict[str, list[str]] = {
    "catalog.product_type.created.v1": [
        "code",
        "created_at",
        "name",
        "required_attributes",
        "version",
    ],
    "catalog.product.created.v1": PRODUCT_SNAPSHOT,
    "catalog.product.snapshot.v1": [
        *PRODUCT_SNAPSHOT,
        "decision",
        "decision.decided_at",
        "decision.decision_id",
        "decision.number",
        "decision.outcome",
        "updated_at",
    ],
    "catalog.product.updated.v1": [*CHANGES, *COMPLETENESS, "product_id", "sku", "version"],
    "catalog.product.lifecycle_changed.v1": ["from", "product_id", "sku", "to", "version"],
    "catalog.research_criteria.changed.v1": [
        "added",
        "changed_at",
        "criteria",
        "criteria[].description",
        "criteria[].name",
        "criteria[].weight",
        "product_type",
        "removed",
        "version",
    ],
    "catalog.benchmark.recorded.v1": [
        "benchmark_id",
        "brand",
        "competitor_ref",
        "product_id",
        "product_type",
        "recorded_at",
        "recorded_by",
        "scores",
        "source",
    ],
    "catalog.case_study.created.v1": CASE_STUDY,
    "catalog.case_study.updated.v1": [
        *CASE_STUDY,
        "changed",
        "updated_at",
        "updated_by",
        "updated_by.name",
        "updated_by.subject",
    ],
    "catalog.questionnaire.created.v1": [
        "created_at",
        "product_type",
        "questionnaire_id",
        "questions",
        "title",
    ],
    "catalog.questionnaire.response_submitted.v1": RESPONSE,
    "catalog.questionnaire.response_updated.v1": [*RESPONSE, "changed_keys"],
    "catalog.case.added.v1": [
        "author",
        "author.name",
        "author.subject",
        "case_id",
        "created_at",
        "evidence",
        "evidence[].title",
        "evidence[].url",
        "product_id",
        "stance",
        "summary",
    ],
    "catalog.decision.recorded.v1": [
        "cases_against",
        "cases_for",
        "decided_at",
        "decided_by",
        "decided_by.name",
        "decided_by.subject",
        "decision_id",
        "number",
        "outcome",
        "product_id",
        "rationale",
    ],
    "catalog.variant.created.v1": [
        "attributes",
        "axes",
        *COMPLETENESS,
        "created_at",
        "lifecycle",
        "product_id",
        "sku",
        "variant_id",
        "version",
    ],
    "catalog.variant.updated.v1": [
        *CHANGES,
        *COMPLETENESS,
        "product_id",
        "sku",
        "variant_id",
        "version",
    ],
    "catalog.variant.lifecycle_changed.v1": [
        "from",
        "product_id",
        "reason",
        "sku",
        "to",
        "variant_id",
        "version",
    ],
    "catalog.requirement.recorded.v1": [
        "count",
        "first_seen",
        "key",
        "kind",
        "last_seen",
        "origin",
        "product_id",
        "product_type",
        "recommendation_id",
        "requirement_id",
        "text",
        "version",
    ],
    "catalog.requirement.merged.v1": [
        "added",
        "count",
        "kind",
        "last_seen",
        "product_id",
        "product_type",
        "recommendation_id",
        "requirement_id",
        "version",
    ],
    "catalog.recommendation.dismissed.v1": [
        "dismissed_by",
        "key",
        "reason",
        "recommendation_id",
        "title",
        "version",
    ],
    "catalog.recommendation.adopted.v1": [
        "adopted_by",
        "count",
        "key",
        "product_id",
        "recommendation_id",
        "requirement_count",
        "sku",
        "title",
        "version",
    ],
}


def key_paths(data: dict[str, Any], prefix: str = "") -> set[str]:
    """The key paths of an event's data: `a`, `a.b` for objects, `a[].b` for lists of them."""
    paths: set[str] = set()
    for key, value in data.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if key in FREE_FORM:
            continue
        if isinstance(value, dict):
            paths |= key_paths(value, f"{path}.")
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    paths |= key_paths(item, f"{path}[].")
    return paths


async def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.is_success, response.text
    return response.json()


async def emit_every_event(client: httpx.AsyncClient) -> None:
    """Walk the API so that the catalog writes each of its event types at least once."""
    await make_type(client, "kettle", ("color",))
    product = await make_product(client)
    pid = product["id"]
    url = f"/v1/products/{pid}"
    patch = {"attributes": {"color": "red"}, "cost": {"amount": "21.50", "currency": "EUR"}}
    await ok(await client.patch(url, json=patch, headers=WRITE))

    criteria = [
        {"name": "build", "weight": 2, "description": "sturdiness"},
        {"name": "noise", "weight": 1},
    ]
    await ok(await client.put("/v1/product-types/kettle/criteria", json=criteria, headers=WRITE))
    benchmark = {"product_id": pid, "scores": {"build": 8}, "source": "lab"}
    await ok(
        await client.post("/v1/product-types/kettle/benchmarks", json=benchmark, headers=WRITE)
    )

    study = {
        "competitor": "Kettlo",
        "competitor_product": "Kettlo Pro",
        "strengths": "Fast.",
        "sources": [{"url": "https://e.org/r", "text": "Review"}],
    }
    made = await ok(
        await client.post("/v1/product-types/kettle/case-studies", json=study, headers=WRITE)
    )
    await ok(await client.post(f"/v1/case-studies/{made['id']}/archive", headers=WRITE))

    questions = [
        {"key": "model", "text": "Model?", "type": "text", "required": True},
        {"key": "cordless", "text": "Cordless?", "type": "yes_no"},
    ]
    template = await ok(
        await client.post(
            "/v1/questionnaires",
            json={"title": "Survey", "product_type": "kettle", "questions": questions},
            headers=WRITE,
        )
    )
    responses = f"/v1/questionnaires/{template['id']}/responses"
    # Each vendor answers with a key of its own (a response is its key owner's).
    answered = {"product_id": pid, "answers": {"model": "K9"}}
    await ok(await client.post(responses, json=answered, headers=auth(WRITES, owner="Acme")))
    draft = {"product_id": pid, "answers": {"cordless": True}, "status": "draft"}
    await ok(await client.post(responses, json=draft, headers=auth(WRITES, owner="Bolt")))

    case = {"stance": "for", "summary": "Asked for.", "evidence": [{"url": "https://e.org/a"}]}
    await ok(await client.post(f"{url}/cases", json=case, headers=WRITE))
    decision = {"outcome": "defer", "rationale": "More research."}
    await ok(await client.post(f"{url}/decision", json=decision, headers=BOTH))

    variants = f"{url}/variants"
    variant = await ok(
        await client.post(variants, json={"sku": "KT-1000-L", "axes": {"size": "L"}}, headers=WRITE)
    )
    variant_url = f"{variants}/{variant['id']}"
    await ok(await client.patch(variant_url, json={"attributes": {"x": 1}}, headers=WRITE))
    await ok(await client.post(f"{url}/lifecycle", json={"to": "incoming"}, headers=WRITE))
    await ok(await client.post(f"{variant_url}/lifecycle", json={"to": "incoming"}, headers=WRITE))

    for _ in range(2):  # recorded, then merged
        await ok(
            await client.post("/v1/requirements", json={"text": "glass kettle"}, headers=WRITE)
        )
    await ok(await client.post("/v1/requirements", json={"text": "quiet fan"}, headers=WRITE))
    ideas = "/v1/recommendations"
    glass = recommendation_id(requirement_key("glass kettle"))
    fan = recommendation_id(requirement_key("quiet fan"))
    await ok(await client.post(f"{ideas}/{glass}/dismiss", json={"reason": "no"}, headers=BOTH))
    adopt = {"sku": "FAN-1", "name": "Quiet fan", "product_type": "kettle", "brand": "Airy"}
    await ok(await client.post(f"{ideas}/{fan}/adopt", json=adopt, headers=BOTH))


async def test_every_catalog_event_keeps_its_wire_keys(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await emit_every_event(client)
    # The snapshots come from `productops republish catalog`, not from the API.
    runtime = app.state.runtime
    await write_snapshots(runtime.uow, runtime.spec.snapshots, chunk_rows=100)
    seen: dict[str, set[str]] = {}
    for event in await outbox_events(app):
        paths = key_paths(event.data)
        expected = set(WIRE_KEYS[event.type])
        # Every event has exactly the top-level keys; a nested object may be null (no cost).
        assert {p for p in paths if "." not in p} == {p for p in expected if "." not in p}
        assert paths <= expected, (event.type, sorted(paths - expected))
        seen.setdefault(event.type, set()).update(paths)
    # A new type must be added here with its shape: the walk has to cover the registry.
    assert sorted(seen) == registry.types == sorted(WIRE_KEYS)
    for event_type, paths in seen.items():
        assert sorted(paths) == sorted(WIRE_KEYS[event_type]), event_type
