"""Suggestions from the product team over HTTP (fake model, SQLite and PostgreSQL): triaged
and grouped with customers' texts, marked as internal wherever findings appear, filtered
by source, never escalated; and every refused input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.feedback.events import FindingSnapshot
from tests.feedback.conftest import READ, event, items, outbox_events
from tests.feedback.findings.test_api import send
from tests.support import assert_problem, auth, eventually

# A product manager's key: files suggestions and reads what its owner filed.
TEAM = auth("feedback:write feedback:read", subject="key-pm", owner="pm@example.com")


async def suggest(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    """File a suggestion and wait until triage has taken it."""
    response = await client.post("/v1/suggestions", json=body, headers=TEAM)
    assert response.status_code == 202, response.text
    filed = response.json()

    async def done() -> bool:
        got = await client.get(f"/v1/customer-events/{filed['event_id']}", headers=TEAM)
        return got.json()["triage"] == "done"

    await eventually(done, timeout_s=20)
    return filed


async def test_a_suggestion_joins_customers_asking_the_same(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    filed = await suggest(
        client, text="Please add a glass lid option", title="Glass lid", product_id="prod-1"
    )
    assert filed == {
        "event_id": filed["event_id"],
        "product_id": "prod-1",
        "product_type": None,
        "scope": "prod-1",
        "title": "Glass lid",
        "text": "Please add a glass lid option",
        "source": "internal",
        "submitted_by": "pm@example.com",
        "submitted_at": filed["submitted_at"],
    }
    (internal,) = await items(client, "/v1/findings", source="internal")
    assert (internal["kind"], internal["sources"]) == ("requirement", ["internal"])

    (customer,) = await send(client, event("review", rating=3, text="I wish the lid were glass"))
    (grouped,) = await items(client, "/v1/findings", product_id="prod-1")
    assert grouped["id"] == internal["id"]
    assert (grouped["item_count"], grouped["sources"]) == (2, ["customer", "internal"])
    assert [f["id"] for f in await items(client, "/v1/findings", source="customer")] == [
        grouped["id"]
    ]
    assert await items(client, "/v1/findings", source="vendor") == []

    by_source = {i["event_id"]: i["source"] for i in await items(client, "/v1/feedback")}
    assert by_source == {filed["event_id"]: "internal", customer: "customer"}
    (team_item,) = await items(client, "/v1/feedback", source="internal")
    assert team_item["event_id"] == filed["event_id"]
    assert team_item["quote"] == "Please add a glass lid option"

    stats = (await client.get("/v1/findings/stats", headers=READ)).json()
    assert stats["by_source"] == {"customer": 1, "internal": 1, "vendor": 0}

    findings = [e for e in await outbox_events(app) if e.type.startswith("feedback.finding.")]
    assert [(e.type, e.data["sources"]) for e in findings] == [
        ("feedback.finding.opened.v1", ["internal"]),
        ("feedback.finding.updated.v1", ["customer", "internal"]),
    ]
    assert "sources" in findings[1].data["changed"]
    FindingSnapshot.model_validate(findings[1].data)
    # Not a storefront fact: nothing for pricing on the customer-events topic.
    published = await outbox_events(app, "storefront.customer-events")
    assert filed["event_id"] not in {e.data["event_id"] for e in published}


async def test_a_relabelled_suggestion_takes_its_source_with_it(
    client: httpx.AsyncClient,
) -> None:
    await send(client, event("review", rating=3, text="I wish the lid were glass"))
    filed = await suggest(client, text="Please add a glass lid option", product_id="prod-1")
    (shared_finding,) = await items(client, "/v1/findings", source="internal")
    assert shared_finding["sources"] == ["customer", "internal"]
    (team_item,) = await items(client, "/v1/feedback", source="internal")
    assert team_item["event_id"] == filed["event_id"]

    label = {"category": "praise", "severity": "low", "hazard": False}
    moved = await client.post(f"/v1/feedback/{team_item['id']}/label", json=label, headers=TEAM)
    assert moved.status_code == 200, moved.text
    assert moved.json()["source"] == "internal"
    left = (await client.get(f"/v1/findings/{shared_finding['id']}", headers=READ)).json()
    assert (left["item_count"], left["sources"]) == (1, ["customer"])
    (praise,) = await items(client, "/v1/findings", source="internal")
    assert (praise["kind"], praise["sources"]) == ("praise", ["internal"])


async def test_a_suggestion_about_a_type_or_nothing_becomes_its_requirement(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    typed = await suggest(client, text="Please add a keep-warm mode", product_type="kettle")
    general = await suggest(client, text="Please add gift wrapping to every product")
    assert (typed["scope"], general["scope"]) == ("type:kettle", "general")
    scopes = {f["product_id"] for f in await items(client, "/v1/findings", source="internal")}
    assert scopes == {"type:kettle", "general"}

    identified = [
        e.data for e in await outbox_events(app) if e.type == "feedback.requirement.identified.v1"
    ]
    assert sorted(((r["product_id"], r["product_type"]) for r in identified), key=str) == sorted(
        [(None, "kettle"), (None, None)], key=str
    )


async def test_a_team_question_raises_no_escalation(client: httpx.AsyncClient) -> None:
    await suggest(client, text="Should we offer a bulk discount for 50 units?", product_id="p-9")
    (question,) = await items(client, "/v1/findings", source="internal")
    assert question["kind"] == "question"
    assert await items(client, "/v1/escalations") == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "text"]),
        ({"text": "   "}, ["body", "text"]),
        ({"text": "x" * 5001}, ["body", "text"]),
        ({"text": "a\x00b"}, ["body", "text"]),
        ({"text": "idea", "title": "t" * 201}, ["body", "title"]),
        ({"text": "idea", "product_id": "no spaces allowed"}, ["body", "product_id"]),
        ({"text": "idea", "product_type": "Kettle"}, ["body", "product_type"]),
        ({"text": "idea", "product_type": "k" * 32}, ["body", "product_type"]),
        ({"text": "idea", "product_id": "p-1", "product_type": "kettle"}, ["body"]),
        ({"text": "idea", "source": "customer"}, ["body", "source"]),
        ({"text": 7}, ["body", "text"]),
    ],
)
async def test_a_suggestion_is_refused_when_it_breaks_a_rule(
    client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    problem = assert_problem(await client.post("/v1/suggestions", json=body, headers=TEAM), 422)
    assert problem["errors"][0]["loc"] == loc
    assert await items(client, "/v1/feedback") == []


async def test_filing_needs_the_write_scope(client: httpx.AsyncClient) -> None:
    body = {"text": "Please add a timer"}
    assert_problem(await client.post("/v1/suggestions", json=body, headers=READ), 403)
    assert_problem(await client.post("/v1/suggestions", json=body), 401)


@pytest.mark.parametrize("path", ["/v1/findings", "/v1/feedback"])
async def test_an_unknown_source_is_refused(client: httpx.AsyncClient, path: str) -> None:
    problem = assert_problem(
        await client.get(path, params={"source": "partner"}, headers=READ), 422
    )
    assert problem["errors"][0]["loc"] == ["query", "source"]
