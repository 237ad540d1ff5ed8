"""Answering customers over HTTP (fake model, SQLite and PostgreSQL): escalations and
question findings answered and re-answered, escalations forwarded to sales, the product's
known questions and answers, their events, and every refused input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.feedback.app import create_app
from services.feedback.events import EscalationForwarded, QuestionAnswered
from shared.settings import Settings
from tests.feedback.conftest import FAST, READ, WRITE, event, items, outbox_events
from tests.feedback.fakes import FakeTriage
from tests.feedback.findings.test_api import review, send
from tests.support import assert_problem, auth, running

PM = auth("feedback:write", subject="key-pm", owner="pm@example.com")
LEAD = auth("feedback:write", subject="key-lead", owner="lead@example.com")
PRICE_QUESTION = "Do you give a discount for 40 units for our office?"


async def escalations(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    return await items(client, "/v1/escalations", **params)


async def a_sales_question(client: httpx.AsyncClient) -> dict[str, Any]:
    """A customer's price question: its escalation to sales (the question finding has it)."""
    await send(client, event("question", text=PRICE_QUESTION))
    (escalation,) = await escalations(client, rule="sales_question")
    return escalation


async def known(client: httpx.AsyncClient, product_id: str = "prod-1", **params: Any) -> list:
    return await items(client, f"/v1/products/{product_id}/answers", **params)


async def test_an_answered_escalation_joins_the_products_known_answers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    escalation = await a_sales_question(client)
    url = f"/v1/escalations/{escalation['id']}/answer"

    response = await client.post(url, json={"answer": "  10% from 25 units.  "}, headers=PM)
    assert response.status_code == 201, response.text
    first = response.json()
    assert first == {
        "id": first["id"],
        "product_id": "prod-1",
        "question": PRICE_QUESTION,
        "answer": "10% from 25 units.",
        "answered_by": "pm@example.com",
        "answered_at": first["answered_at"],
        "source_kind": "escalation",
        "source_id": escalation["id"],
    }
    (answered,) = await escalations(client, rule="sales_question")
    assert (answered["status"], answered["overdue"]) == ("answered", False)
    assert answered["done_at"] is not None
    assert (answered["answer"], answered["answered_by"], answered["answered_at"]) == (
        "10% from 25 units.",
        "pm@example.com",
        first["answered_at"],
    )
    assert await known(client) == [first]

    # Answering again replaces the answer; the first stays in the history.
    again = await client.post(url, json={"answer": "12% from 25 units."}, headers=LEAD)
    assert again.status_code == 201, again.text
    second = again.json()
    assert second["answered_by"] == "lead@example.com"
    assert second["question"] == PRICE_QUESTION
    assert await known(client) == [second]
    history = (await client.get(f"/v1/escalations/{escalation['id']}/answers", headers=READ)).json()
    assert [(a["id"], a["replaces"]) for a in history] == [
        (second["id"], first["id"]),
        (first["id"], None),
    ]
    assert history[0]["superseded_at"] is None
    assert history[1]["superseded_at"] == second["answered_at"]
    (listed,) = await escalations(client, rule="sales_question")
    assert listed["done_at"] == answered["done_at"]  # closed when first answered
    assert (listed["answer"], listed["answered_by"]) == ("12% from 25 units.", "lead@example.com")

    events = [e for e in await outbox_events(app) if e.type == "feedback.question.answered.v1"]
    assert [e.subject for e in events] == ["prod-1", "prod-1"]
    payloads = [QuestionAnswered.model_validate(e.data) for e in events]
    assert [(p.answer_id, p.replaces, p.answer) for p in payloads] == [
        (first["id"], None, "10% from 25 units."),
        (second["id"], first["id"], "12% from 25 units."),
    ]
    assert payloads[0].source_kind == "escalation"
    assert payloads[0].question == PRICE_QUESTION


async def test_a_question_finding_is_answered_and_another_kind_is_not(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await send(
        client,
        event("question", text="Is it dishwasher safe?"),
        review("The handle broke off"),
    )
    findings = {f["kind"]: f for f in await items(client, "/v1/findings")}
    question, defect = findings["question"], findings["defect"]

    response = await client.post(
        f"/v1/findings/{question['id']}/answer", json={"answer": "The jug is."}, headers=PM
    )
    assert response.status_code == 201, response.text
    answer = response.json()
    assert (answer["source_kind"], answer["source_id"]) == ("finding", question["id"])
    assert answer["question"] == "Is it dishwasher safe?"
    # Answering is not resolving: more customers asking the same still join the finding.
    after = (await client.get(f"/v1/findings/{question['id']}", headers=READ)).json()
    assert (after["status"], after["version"]) == ("open", question["version"])
    assert [a["id"] for a in await known(client)] == [answer["id"]]
    history = (await client.get(f"/v1/findings/{question['id']}/answers", headers=READ)).json()
    assert [a["id"] for a in history] == [answer["id"]]

    body = assert_problem(
        await client.post(
            f"/v1/findings/{defect['id']}/answer", json={"answer": "Fixed."}, headers=PM
        ),
        409,
        detail_has="only a question finding is answered",
    )
    assert body["kind"] == "defect"
    assert_problem(
        await client.post("/v1/findings/nope/answer", json={"answer": "x"}, headers=PM), 404
    )
    answered = [e for e in await outbox_events(app) if e.type == "feedback.question.answered.v1"]
    assert [e.data["source_kind"] for e in answered] == ["finding"]


async def test_an_escalation_is_forwarded_to_sales_then_answered(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await send(
        client,
        event("support_ticket", subject="Invoice", text="Need it fast", priority="urgent"),
    )
    (ticket,) = await escalations(client)
    assert (ticket["route"], ticket["status"], ticket["answer"]) == ("pm", "open", None)
    url = f"/v1/escalations/{ticket['id']}/forward"

    response = await client.post(url, json={"to": "sales", "note": "a billing matter"}, headers=PM)
    assert response.status_code == 200, response.text
    forwarded = response.json()
    assert (forwarded["route"], forwarded["status"]) == ("sales", "forwarded")
    assert (forwarded["forwarded_by"], forwarded["forward_note"]) == (
        "pm@example.com",
        "a billing matter",
    )
    assert forwarded["due_at"] == ticket["due_at"]
    assert [e["id"] for e in await escalations(client, route="sales")] == [ticket["id"]]
    assert [e["id"] for e in await escalations(client, status="forwarded")] == [ticket["id"]]
    assert_problem(await client.post(url, json={"to": "sales"}, headers=PM), 409)

    (sent,) = [e for e in await outbox_events(app) if e.type == "feedback.escalation.forwarded.v1"]
    payload = EscalationForwarded.model_validate(sent.data)
    assert (payload.escalation_id, payload.from_route, payload.route) == (
        ticket["id"],
        "pm",
        "sales",
    )
    assert sent.subject == "prod-1"

    answered = await client.post(
        f"/v1/escalations/{ticket['id']}/answer", json={"answer": "Sent today."}, headers=LEAD
    )
    assert answered.status_code == 201, answered.text
    (now,) = await escalations(client)
    assert (now["route"], now["status"]) == ("sales", "answered")


async def test_a_done_escalation_is_not_answered(client: httpx.AsyncClient) -> None:
    escalation = await a_sales_question(client)
    done = await client.post(
        f"/v1/escalations/{escalation['id']}/status", json={"status": "done"}, headers=PM
    )
    assert done.status_code == 200
    assert_problem(
        await client.post(
            f"/v1/escalations/{escalation['id']}/answer", json={"answer": "x"}, headers=PM
        ),
        409,
        detail_has="from done to answered",
    )
    assert_problem(
        await client.post(
            f"/v1/escalations/{escalation['id']}/forward", json={"to": "sales"}, headers=PM
        ),
        409,
        detail_has="from done to forwarded",
    )
    assert await known(client) == []


async def test_known_answers_are_newest_first_and_paginated(client: httpx.AsyncClient) -> None:
    await send(
        client,
        event("question", text="Can I get 30 units at a wholesale price?"),
        event("question", text="Do you have it in stock?"),
        event("question", text="What does shipping cost?"),
        event("question", text="Is the price lower for 20 units?", product_id="prod-2"),
    )
    open_ones = await escalations(client, product_id="prod-1")
    assert len(open_ones) == 3
    given = []
    for n, escalation in enumerate(open_ones):
        response = await client.post(
            f"/v1/escalations/{escalation['id']}/answer", json={"answer": f"answer {n}"}, headers=PM
        )
        assert response.status_code == 201, response.text
        given.append(response.json()["id"])

    listed = await known(client, limit=1)
    assert [a["id"] for a in listed] == list(reversed(given))
    assert [a["answer"] for a in listed] == ["answer 2", "answer 1", "answer 0"]
    page = (await client.get("/v1/products/prod-1/answers", headers=READ)).json()
    assert (len(page["items"]), page["next_cursor"]) == (3, None)
    # A product nobody answered about, or feedback never heard of: an empty list.
    assert await known(client, "prod-2") == []
    assert await known(client, "no-such-product") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor!"}, "cursor"),
    ],
)
async def test_known_answers_refuse_bad_paging(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    body = assert_problem(
        await client.get("/v1/products/prod-1/answers", params=params, headers=READ), 422
    )
    assert body["errors"][0]["loc"] == ["query", field]


async def test_known_answers_refuse_a_cursor_of_another_list(client: httpx.AsyncClient) -> None:
    await send(client, event("question", text="Is it dishwasher safe?"), review("Lid loose"))
    page = (await client.get("/v1/findings", params={"limit": 1}, headers=READ)).json()
    assert page["next_cursor"] is not None
    assert_problem(
        await client.get(
            "/v1/products/prod-1/answers", params={"cursor": page["next_cursor"]}, headers=READ
        ),
        422,
        detail_has="cursor",
    )


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "answer"]),
        ({"answer": "   "}, ["body", "answer"]),
        ({"answer": "x" * 5001}, ["body", "answer"]),
        ({"answer": 42}, ["body", "answer"]),
        ({"answer": "ok", "answered_by": "someone else"}, ["body", "answered_by"]),
    ],
)
async def test_an_answer_must_be_text(
    client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    escalation = await a_sales_question(client)
    problem = assert_problem(
        await client.post(f"/v1/escalations/{escalation['id']}/answer", json=body, headers=PM),
        422,
    )
    assert problem["errors"][0]["loc"] == loc
    (unchanged,) = await escalations(client)
    assert unchanged["status"] == "open"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "to"]),
        ({"to": "pm"}, ["body", "to"]),
        ({"to": "sales", "note": "x" * 1001}, ["body", "note"]),
        ({"to": "sales", "route": "pm"}, ["body", "route"]),
    ],
)
async def test_a_forward_names_sales(
    client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    escalation = await a_sales_question(client)
    problem = assert_problem(
        await client.post(f"/v1/escalations/{escalation['id']}/forward", json=body, headers=PM),
        422,
    )
    assert problem["errors"][0]["loc"] == loc


async def test_unknown_escalations_and_missing_scopes(client: httpx.AsyncClient) -> None:
    for path, body in (
        ("/v1/escalations/nope/answer", {"answer": "x"}),
        ("/v1/escalations/nope/forward", {"to": "sales"}),
    ):
        assert_problem(await client.post(path, json=body, headers=PM), 404)
        assert_problem(await client.post(path, json=body, headers=READ), 403)
        assert_problem(await client.post(path, json=body), 401)
    assert_problem(
        await client.post("/v1/findings/nope/answer", json={"answer": "x"}, headers=READ), 403
    )
    assert_problem(await client.get("/v1/products/prod-1/answers", headers=WRITE), 403)
    assert_problem(await client.get("/v1/escalations/nope/answers", headers=WRITE), 403)
    assert (await client.get("/v1/escalations/nope/answers", headers=READ)).json() == []


async def test_a_forwarded_escalation_past_due_is_still_overdue(settings: Settings) -> None:
    """Sales owes the answer now: lists and stats count it overdue until it is answered."""
    due_at_once = FAST.model_copy(update={"urgent_ticket_sla_h": 1e-6})
    app = create_app(settings, feedback=due_at_once, triage=FakeTriage, threshold=0.8)
    async with running(app) as client:
        await send(
            client, event("support_ticket", subject="Late", text="Where is it", priority="urgent")
        )
        (ticket,) = await escalations(client)
        forwarded = await client.post(
            f"/v1/escalations/{ticket['id']}/forward", json={"to": "sales"}, headers=PM
        )
        assert forwarded.json()["overdue"] is True
        assert [e["id"] for e in await escalations(client, overdue="true")] == [ticket["id"]]
        stats = (await client.get("/v1/findings/stats", headers=READ)).json()
        assert stats["overdue_escalations"] == 1

        answered = await client.post(
            f"/v1/escalations/{ticket['id']}/answer", json={"answer": "Shipped."}, headers=PM
        )
        assert answered.status_code == 201
        assert await escalations(client, overdue="true") == []
        assert [e["id"] for e in await escalations(client, overdue="false")] == [ticket["id"]]
        stats = (await client.get("/v1/findings/stats", headers=READ)).json()
        assert stats["overdue_escalations"] == 0


async def test_a_critical_defects_escalation_is_asked_by_its_findings_quote(
    client: httpx.AsyncClient,
) -> None:
    """It was raised by the finding, not by one customer's event: the finding speaks."""
    await send(client, review("The lid burned my hand"))
    (critical,) = await escalations(client, rule="critical_defect")
    assert critical["event_id"] is None
    response = await client.post(
        f"/v1/escalations/{critical['id']}/answer",
        json={"answer": "Stop using it; a replacement lid ships this week."},
        headers=PM,
    )
    assert response.status_code == 201, response.text
    assert response.json()["question"] == "The lid burned my hand"
    assert [a["source_id"] for a in await known(client)] == [critical["id"]]
