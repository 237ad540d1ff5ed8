"""Confidence and review over HTTP (issue 15): unsure items are listed for a person, whose
label is kept as training data and moves the item to the finding it belongs in."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.feedback.tables import feedback_item, triage_label
from tests.feedback.conftest import (
    READ,
    WRITE,
    at,
    event,
    ingest,
    items,
    known_product,
    triaged,
)
from tests.support import assert_problem, auth, eventually

HAZARD = {"category": "defect", "severity": "critical", "hazard": True}


async def _two_items(app: FastAPI, client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    await known_product(app)
    unsure = event("review", rating=2, text="maybe the lid gets a bit warm")
    sure = event("review", rating=5, text="Great kettle, love the lid")
    await ingest(client, unsure, sure)
    await triaged(client, unsure["event_id"], sure["event_id"])
    by_event = {item["event_id"]: item for item in await items(client, "/v1/feedback")}
    return {"unsure": by_event[unsure["event_id"]], "sure": by_event[sure["event_id"]]}


async def test_unsure_items_wait_for_a_person(app: FastAPI, client: httpx.AsyncClient) -> None:
    both = await _two_items(app, client)
    assert both["unsure"]["confidence"] == 0.3
    assert both["unsure"]["needs_review"] is True
    assert both["sure"]["confidence"] == 0.95
    assert both["sure"]["needs_review"] is False
    waiting = await items(client, "/v1/feedback", needs_review="true")
    assert [item["id"] for item in waiting] == [both["unsure"]["id"]]
    others = await items(client, "/v1/feedback", needs_review="false")
    assert [item["id"] for item in others] == [both["sure"]["id"]]


async def test_a_label_is_kept_and_moves_the_item(app: FastAPI, client: httpx.AsyncClient) -> None:
    unsure = (await _two_items(app, client))["unsure"]
    old_finding = unsure["finding_id"]
    response = await client.post(f"/v1/feedback/{unsure['id']}/label", json=HAZARD, headers=WRITE)
    assert response.status_code == 200, response.text
    labelled = response.json()
    assert (labelled["category"], labelled["severity"], labelled["safety_hazard"]) == (
        "defect",
        "critical",
        True,
    )
    assert labelled["needs_review"] is False
    assert labelled["labelled_by"]
    assert labelled["labelled_at"]
    assert labelled["finding_id"] != old_finding
    assert await items(client, "/v1/feedback", needs_review="true") == []

    moved_to = (await client.get(f"/v1/findings/{labelled['finding_id']}", headers=READ)).json()
    assert (moved_to["kind"], moved_to["severity"], moved_to["safety_hazard"]) == (
        "defect",
        "critical",
        True,
    )
    left = (await client.get(f"/v1/findings/{old_finding}", headers=READ)).json()
    assert (left["item_count"], left["status"]) == (0, "resolved")
    escalations = await items(client, "/v1/escalations", finding_id=labelled["finding_id"])
    assert [e["rule"] for e in escalations] == ["critical_defect"]

    async with app.state.runtime.db.reader() as session:
        kept = (await session.execute(select(triage_label))).all()
    assert [(row.item_id, row.text, row.rating, row.hazard) for row in kept] == [
        (unsure["id"], "maybe the lid gets a bit warm", 2, True)
    ]


async def test_labelling_needs_feedback_write(app: FastAPI, client: httpx.AsyncClient) -> None:
    path = "/v1/feedback/any/label"
    assert_problem(await client.post(path, json=HAZARD), 401)
    body = assert_problem(await client.post(path, json=HAZARD, headers=READ), 403)
    assert body["required_scope"] == "feedback:write"


async def test_bad_labels_are_problems(app: FastAPI, client: httpx.AsyncClient) -> None:
    unsure = (await _two_items(app, client))["unsure"]
    path = f"/v1/feedback/{unsure['id']}/label"
    cases: list[tuple[Any, list[str]]] = [
        ({"severity": "low", "hazard": False}, ["body", "category"]),
        ({**HAZARD, "category": "bug"}, ["body", "category"]),
        ({**HAZARD, "severity": "urgent"}, ["body", "severity"]),
        ({**HAZARD, "hazard": "perhaps"}, ["body", "hazard"]),
        ({**HAZARD, "note": "x"}, ["body", "note"]),
        ({**HAZARD, "category": "praise"}, ["body", "category"]),
        ({**HAZARD, "severity": "high"}, ["body", "severity"]),
        ({"category": "defect", "severity": "critical", "hazard": False}, ["body", "severity"]),
    ]
    for content, loc in cases:
        body = assert_problem(await client.post(path, json=content, headers=WRITE), 422)
        assert [error["loc"] for error in body["errors"]] == [loc], (content, body)
    assert_problem(
        await client.post("/v1/feedback/no-such-item/label", json=HAZARD, headers=WRITE),
        404,
        detail_has="no-such-item",
    )
    still = await items(client, "/v1/feedback", needs_review="true")
    assert [item["id"] for item in still] == [unsure["id"]]


async def test_needs_review_must_be_a_boolean(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/feedback", params={"needs_review": "often"}, headers=READ)
    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["query", "needs_review"]]


async def test_a_label_of_the_same_kind_keeps_the_item_in_its_finding(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    sure = (await _two_items(app, client))["sure"]
    label = {"category": sure["category"], "severity": "medium", "hazard": False}
    response = await client.post(f"/v1/feedback/{sure['id']}/label", json=label, headers=WRITE)
    assert response.status_code == 200, response.text
    assert response.json()["finding_id"] == sure["finding_id"]
    kept = (await client.get(f"/v1/findings/{sure['finding_id']}", headers=READ)).json()
    assert (kept["item_count"], kept["severity"], kept["status"]) == (1, "medium", "open")


async def test_the_finding_left_behind_is_spoken_for_by_its_other_items(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await known_product(app)
    first = event("review", rating=1, text="The lid broke", occurred_at=at(minutes=30))
    second = event("review", rating=1, text="The lid cracked", occurred_at=at(minutes=20))
    await ingest(client, first, second)
    await triaged(client, first["event_id"], second["event_id"])
    by_event = {item["event_id"]: item for item in await items(client, "/v1/feedback")}
    finding_id = by_event[first["event_id"]]["finding_id"]
    assert by_event[second["event_id"]]["finding_id"] == finding_id
    shared = (await client.get(f"/v1/findings/{finding_id}", headers=READ)).json()
    moved = next(i for i in by_event.values() if i["quote"] == shared["representative_quote"])
    stays = next(i for i in by_event.values() if i["id"] != moved["id"])

    label = {"category": "praise", "severity": "low", "hazard": False}
    response = await client.post(f"/v1/feedback/{moved['id']}/label", json=label, headers=WRITE)
    assert response.status_code == 200, response.text
    left = (await client.get(f"/v1/findings/{finding_id}", headers=READ)).json()
    assert (left["item_count"], left["status"]) == (1, "open")
    assert left["representative_quote"] == stays["quote"]


async def test_a_label_leaves_the_representative_of_another_source_with_the_same_event_id(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # An event id is unique only within its source: two storefronts may both send "e-1".
    await known_product(app)
    speaks = event("review", rating=1, text="The lid broke", occurred_at=at(minutes=30))
    await ingest(client, speaks)
    await triaged(client, speaks["event_id"])
    namesake = {**speaks, "text": "The lid cracked", "occurred_at": at(minutes=20)}
    other_source = auth("feedback:ingest", subject="storefront-2")
    sent = await client.post(
        "/v1/customer-events", json={"events": [namesake]}, headers=other_source
    )
    assert sent.status_code == 202, sent.text
    latest = event("review", rating=1, text="The lid leaks", occurred_at=at(minutes=10))
    await ingest(client, latest)
    await triaged(client, latest["event_id"])
    listed = await items(client, "/v1/feedback", limit=100)
    finding_id = listed[0]["finding_id"]

    async def all_three() -> bool:
        found = (await client.get(f"/v1/findings/{finding_id}", headers=READ)).json()
        return bool(found["item_count"] == 3)

    await eventually(all_three, timeout_s=10)
    before = (await client.get(f"/v1/findings/{finding_id}", headers=READ)).json()
    assert before["representative_quote"] == "The lid broke"
    async with app.state.runtime.db.reader() as session:
        moved = await session.scalar(
            select(feedback_item.c.id).where(feedback_item.c.quote == "The lid cracked")
        )

    label = {"category": "praise", "severity": "low", "hazard": False}
    response = await client.post(f"/v1/feedback/{moved}/label", json=label, headers=WRITE)
    assert response.status_code == 200, response.text
    after = (await client.get(f"/v1/findings/{finding_id}", headers=READ)).json()
    assert after["item_count"] == 2
    assert after["representative_quote"] == "The lid broke", "its speaker stayed"


async def test_labels_of_one_item_at_once_keep_the_counts_true(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Each label read the item before the findings lock: on PostgreSQL both moved it out of
    # a finding it had left already, and counts drifted from the items (5 for 4 items).
    await known_product(app)
    texts = [event("review", rating=2, text=f"maybe the lid gets a bit warm {i}") for i in range(4)]
    await ingest(client, *texts)
    await triaged(client, *(text["event_id"] for text in texts))
    item = (await items(client, "/v1/feedback"))[0]
    question = {"category": "question", "severity": "low", "hazard": False}
    url = f"/v1/feedback/{item['id']}/label"
    sent = [client.post(url, json=HAZARD if i % 2 else question, headers=WRITE) for i in range(4)]
    responses = await asyncio.gather(*sent)
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    members = Counter(i["finding_id"] for i in await items(client, "/v1/feedback"))
    counts = {f["id"]: f["item_count"] for f in await items(client, "/v1/findings")}
    assert {f: n for f, n in counts.items() if n} == dict(members)
