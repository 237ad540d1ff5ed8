"""Triage into items and findings over HTTP (with the fake model): grouping, trend, status
and regressions, user stories, search misses, the events written, and the triage lag."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.feedback.app import create_app
from services.feedback.handlers import on_product_created
from services.feedback.triage import TriageInput, TriageResult
from shared.broker import EmbeddedBroker
from shared.events import new_event
from shared.pagination import encode_cursor
from shared.settings import Settings
from tests.feedback.conftest import (
    FAST,
    READ,
    WRITE,
    at,
    event,
    ingest,
    items,
    outbox_events,
    triaged,
)
from tests.feedback.fakes import FakeTriage
from tests.support import assert_problem, auth, eventually, running


async def send(client: httpx.AsyncClient, *events: dict[str, Any]) -> list[str]:
    """Ingest, wait for triage; the event ids."""
    await ingest(client, *events)
    ids = [e["event_id"] for e in events]
    await triaged(client, *ids)
    return ids


def review(text: str, **fields: Any) -> dict[str, Any]:
    return event("review", rating=2, text=text, **fields)


async def finding_of(client: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    (item,) = [i for i in await items(client, "/v1/feedback") if i["event_id"] == event_id]
    response = await client.get(f"/v1/findings/{item['finding_id']}", headers=READ)
    assert response.status_code == 200
    return response.json()


async def test_similar_texts_share_a_finding_and_different_ones_do_not(
    client: httpx.AsyncClient, fake_triage: FakeTriage
) -> None:
    lid1, lid2, cable, praise, other_product = await send(
        client,
        review("The lid cracked after a week", occurred_at=at(hours=3)),
        review("Lid broke when I opened it", occurred_at=at(hours=1)),
        review("The cable frays and broke"),
        event("review", rating=5, text="I love the colour"),
        review("The lid cracked", product_id="prod-2"),
    )
    assert fake_triage.batches == [5]  # one model call for the whole batch

    listed = await items(client, "/v1/feedback", product_id="prod-1")
    assert len(listed) == 4
    by_event = {i["event_id"]: i for i in listed}
    assert by_event[lid1]["finding_id"] == by_event[lid2]["finding_id"]
    assert len({by_event[e]["finding_id"] for e in (lid1, cable, praise)}) == 3
    first = by_event[lid1]
    assert first["category"] == "defect"
    assert first["severity"] == "high"
    assert first["sentiment"] == -0.6
    assert first["product_id"] == "prod-1"
    assert first["quote"] == "The lid cracked after a week"

    lid = await finding_of(client, lid1)
    assert lid["kind"] == "defect"
    assert lid["severity"] == "high"
    assert lid["status"] == "open"
    assert lid["item_count"] == 2
    assert lid["topic"] == "lid"
    assert lid["representative_quote"] in {
        "The lid cracked after a week",
        "Lid broke when I opened it",
    }
    assert lid["first_seen"] < lid["last_seen"]
    assert lid["trend"] == {"last_24h": 2, "daily_average_prior_7d": 0.0, "direction": "new"}
    assert lid["regression"] is False

    assert len(await items(client, "/v1/findings")) == 4
    assert len(await items(client, "/v1/findings", product_id="prod-1")) == 3
    assert [f["kind"] for f in await items(client, "/v1/findings", kind="praise")] == ["praise"]
    assert len(await items(client, "/v1/feedback", category="defect")) == 4
    same = await items(client, "/v1/feedback", finding_id=lid["id"])
    assert sorted(i["event_id"] for i in same) == sorted([lid1, lid2])
    assert (await items(client, "/v1/feedback", product_id="prod-2"))[0][
        "event_id"
    ] == other_product
    # Pages walk by cursor.
    assert len(await items(client, "/v1/feedback", limit=1)) == 5


async def test_trend_compares_the_last_day_with_the_week_before(client: httpx.AsyncClient) -> None:
    recent = [review("Lid loose", occurred_at=at(hours=h)) for h in (1, 2, 3)]
    older = [review("Lid loose", occurred_at=at(days=d + 1.5)) for d in range(7)]
    ancient = [review("Lid loose", occurred_at=at(days=30))]
    ids = await send(client, *recent, *older, *ancient)

    finding = await finding_of(client, ids[0])
    assert finding["item_count"] == 11
    assert finding["trend"] == {"last_24h": 3, "daily_average_prior_7d": 1.0, "direction": "rising"}


async def test_status_moves_forward_and_new_items_reopen_a_resolved_finding(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    (first,) = await send(client, review("The handle broke off"))
    finding = await finding_of(client, first)
    url = f"/v1/findings/{finding['id']}/status"

    response = await client.post(url, json={"status": "acknowledged"}, headers=WRITE)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "acknowledged"
    assert response.headers["ETag"] == '"2"'
    assert_problem(
        await client.post(url, json={"status": "acknowledged"}, headers=WRITE),
        409,
        detail_has="from acknowledged to acknowledged",
    )
    stale = await client.post(url, json={"status": "resolved"}, headers={**WRITE, "If-Match": "1"})
    assert_problem(stale, 412)
    response = await client.post(
        url, json={"status": "resolved", "note": "new hinge"}, headers={**WRITE, "If-Match": "2"}
    )
    assert response.json()["status"] == "resolved"
    assert response.json()["status_note"] == "new hinge"
    assert_problem(await client.post(url, json={"status": "resolved"}, headers=WRITE), 409)

    (again,) = await send(client, review("Handle broke again"))
    reopened = await finding_of(client, again)
    assert reopened["id"] == finding["id"]
    assert reopened["status"] == "open"
    assert reopened["regression"] is True
    assert reopened["item_count"] == 2

    types = [(e.type, e.data["status"]) for e in await outbox_events(app)]
    assert types == [
        ("feedback.finding.opened.v1", "open"),
        ("feedback.finding.updated.v1", "acknowledged"),
        ("feedback.finding.resolved.v1", "resolved"),
        ("feedback.finding.updated.v1", "open"),
    ]
    last = (await outbox_events(app))[-1]
    assert last.data["regression"] is True
    assert last.data["changed"] == ["item_count", "regression", "status"]


async def test_status_change_errors(client: httpx.AsyncClient) -> None:
    (first,) = await send(client, review("The handle broke off"))
    finding = await finding_of(client, first)
    url = f"/v1/findings/{finding['id']}/status"
    assert_problem(await client.post(url, json={"status": "open"}, headers=WRITE), 422)
    assert_problem(
        await client.post(url, json={"status": "resolved", "by": "me"}, headers=WRITE), 422
    )
    assert_problem(await client.post(url, json={"status": "resolved"}, headers=READ), 403)
    assert_problem(await client.post(url, json={"status": "resolved"}), 401)
    assert_problem(
        await client.post("/v1/findings/nope/status", json={"status": "resolved"}, headers=WRITE),
        404,
    )
    assert_problem(await client.get("/v1/findings/nope", headers=READ), 404)
    assert_problem(await client.get("/v1/findings/nope/user-story", headers=READ), 404)
    assert_problem(await client.get("/v1/findings", params={"kind": "rant"}, headers=READ), 422)
    assert_problem(await client.get("/v1/feedback", params={"cursor": "%%%"}, headers=READ), 422)
    assert_problem(await client.get("/v1/feedback", params={"limit": 500}, headers=READ), 422)
    assert_problem(await client.get("/v1/findings", headers=WRITE), 403)


async def test_a_cursor_not_made_for_the_list_is_422_with_the_field(
    client: httpx.AsyncClient,
) -> None:
    await send(client, review("The lid cracked"), review("The cable frays"))
    page = await client.get("/v1/feedback", params={"limit": 1}, headers=READ)
    feedback_cursor = page.json()["next_cursor"]
    assert feedback_cursor is not None
    lists = ("/v1/feedback", "/v1/findings", "/v1/escalations", "/v1/search-misses")
    for url in lists:
        for cursor in ("%%%", encode_cursor(["x"]), encode_cursor([1, 2])):
            problem = assert_problem(
                await client.get(url, params={"cursor": cursor}, headers=READ),
                422,
                detail_has="cursor is malformed",
            )
            assert problem["errors"] == [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]
    # The same shape (one id) but another list's order.
    other = await client.get("/v1/findings", params={"cursor": feedback_cursor}, headers=READ)
    assert_problem(other, 422, detail_has="cursor is malformed")


async def test_finding_events_are_coalesced_per_batch(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await send(client, *(review(f"Lid cracked ({n})") for n in range(3)))
    await send(client, review("Lid completely dead"), review("Lid cracked too"))

    events = await outbox_events(app)
    opened, updated = (e for e in events if e.type.startswith("feedback.finding."))
    assert opened.type == "feedback.finding.opened.v1"
    assert opened.subject == "prod-1"
    assert {
        k: opened.data[k] for k in ("product_id", "kind", "severity", "status", "item_count")
    } == {
        "product_id": "prod-1",
        "kind": "defect",
        "severity": "high",
        "status": "open",
        "item_count": 3,
    }
    assert updated.type == "feedback.finding.updated.v1"
    assert updated.data["item_count"] == 5
    assert updated.data["severity"] == "critical"
    assert updated.data["changed"] == ["item_count", "severity"]
    assert updated.data["representative_quote"] == "Lid completely dead"
    assert opened.sequence is None  # the subject is the product, not the finding


async def test_escalations(app: FastAPI, client: httpx.AsyncClient) -> None:
    burn, _, price, _, urgent = await send(
        client,
        review("The lid burned my hand"),
        review("Lid burned me as well"),
        event("question", text="Do you give a discount for 40 units for our office?"),
        event("question", text="Is it dishwasher safe?"),
        event("support_ticket", subject="Button stuck", text="It stopped", priority="urgent"),
    )
    listed = await items(client, "/v1/escalations")
    assert [(e["route"], e["rule"]) for e in listed] == [
        ("sales", "sales_question"),
        ("pm", "urgent_ticket"),
        ("pm", "critical_defect"),
    ]
    sales, ticket, critical = listed
    assert sales["event_id"] == price
    assert "bulk" in sales["reason"]
    assert ticket["event_id"] == urgent
    assert critical["event_id"] is None
    assert critical["finding_id"] == (await finding_of(client, burn))["id"]
    assert critical["product_id"] == "prod-1"
    assert critical["status"] == "open"
    assert critical["overdue"] is False
    hours = _hours_between(critical["created_at"], critical["due_at"])
    assert hours == 24  # the default SLA for a critical defect
    assert _hours_between(ticket["created_at"], ticket["due_at"]) == 8
    assert [e["rule"] for e in await items(client, "/v1/escalations", route="sales")] == [
        "sales_question"
    ]

    url = f"/v1/escalations/{sales['id']}/status"
    done = await client.post(url, json={"status": "done", "note": "quoted"}, headers=WRITE)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert done.json()["done_at"] is not None
    assert_problem(await client.post(url, json={"status": "done"}, headers=WRITE), 409)
    assert_problem(await client.post(url, json={"status": "open"}, headers=WRITE), 422)
    assert_problem(
        await client.post("/v1/escalations/x/status", json={"status": "done"}, headers=WRITE), 404
    )
    assert [e["id"] for e in await items(client, "/v1/escalations", status="done")] == [sales["id"]]

    # Resolving the finding answers the product manager's critical-defect escalation.
    resolved = await client.post(
        f"/v1/findings/{critical['finding_id']}/status", json={"status": "resolved"}, headers=WRITE
    )
    assert resolved.status_code == 200
    closed = await items(client, "/v1/escalations", finding_id=critical["finding_id"])
    assert [(e["rule"], e["status"], e["note"]) for e in closed] == [
        ("critical_defect", "done", "finding resolved")
    ]
    assert [e["rule"] for e in await items(client, "/v1/escalations", status="open")] == [
        "urgent_ticket"
    ]

    created = [e for e in await outbox_events(app) if e.type == "feedback.escalation.created.v1"]
    assert [(e.data["route"], e.data["rule"]) for e in created] == [
        ("sales", "sales_question"),
        ("pm", "urgent_ticket"),
        ("pm", "critical_defect"),
    ]
    assert created[2].data["finding_id"] == critical["finding_id"]


async def test_an_escalation_row_and_its_event_say_the_same(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Both come from one Escalation and are written in the triage batch's transaction."""
    (urgent,) = await send(
        client,
        event("support_ticket", subject="Button stuck", text="It stopped", priority="urgent"),
    )
    (listed,) = await items(client, "/v1/escalations")
    (created,) = [e for e in await outbox_events(app) if e.type == "feedback.escalation.created.v1"]
    fields = ("route", "rule", "reason", "product_id", "finding_id", "event_id")
    assert created.data["escalation_id"] == listed["id"]
    assert {key: created.data[key] for key in fields} == {key: listed[key] for key in fields}
    assert listed["event_id"] == urgent
    for moment in ("due_at", "created_at"):
        assert datetime.fromisoformat(created.data[moment]) == datetime.fromisoformat(
            listed[moment]
        )
    assert created.subject == listed["product_id"]


def _hours_between(start: str, end: str) -> float:
    return round(
        (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600
    )


async def test_overdue_escalations_are_flagged_and_counted(
    settings: Settings, fake_triage: FakeTriage
) -> None:
    fast_sla = FAST.model_copy(update={"critical_defect_sla_h": 1e-6})
    app = create_app(settings, feedback=fast_sla, triage=lambda: fake_triage)
    async with running(app) as client:
        await send(client, review("The lid caught fire"))
        (late,) = await items(client, "/v1/escalations", overdue="true")
        assert late["overdue"] is True
        assert await items(client, "/v1/escalations", overdue="false") == []

        async def counted() -> bool:
            metrics = (await client.get("/metrics")).text
            return (
                'productops_feedback_escalations_overdue{route="pm",service="feedback"} 1.0'
                in metrics
            )

        await eventually(counted, timeout_s=10)
        ready = (await client.get("/readyz", headers=auth("admin"))).json()
        assert ready["escalations_overdue"] == {"pm": 1, "sales": 0}


async def test_user_story(app: FastAPI, client: httpx.AsyncClient) -> None:
    created = new_event(
        source="/catalog",
        type="catalog.product.created.v1",
        subject="prod-1",
        data={
            "product_id": "prod-1",
            "sku": "KT-1",
            "name": "Kettle 100",
            "product_type": "kettle",
        },
        sequence=1,
    )
    async with app.state.runtime.uow() as uow:
        await on_product_created(created, uow)
    first, *_ = await send(
        client,
        review("The lid cracked after a week"),
        review("the lid CRACKED after a week!"),
        event("support_ticket", subject="Lid", text="Lid broke, water everywhere"),
    )
    finding = await finding_of(client, first)
    response = await client.get(f"/v1/findings/{finding['id']}/user-story", headers=READ)

    assert response.status_code == 200, response.text
    story = response.json()
    assert story["finding_id"] == finding["id"]
    assert story["story"] == (
        "As a kettle owner, I want the Kettle 100 to work without problems with lid, "
        "so that I can rely on it every day."
    )
    assert story["acceptance_criteria"] == [
        "The problem reported as “The lid cracked after a week” no longer occurs",
        "The problem reported as “Lid broke, water everywhere” no longer occurs",
        "No new reports about lid arrive after the fix is released",
    ]
    assert (
        await client.get(f"/v1/findings/{finding['id']}/user-story", headers=READ)
    ).json() == story


async def test_search_misses_and_requirements_emit_requirement_identified(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await send(
        client,
        event("search_miss", query="Glass kettle", product_id=None),
        event("search_miss", query="  glass KETTLE!", product_id=None),
        event("search_miss", query="bamboo lid"),
        review("I wish it had a timer"),
        event("question", text="Please add a keep-warm mode, I wish it had one"),
    )
    await send(client, event("search_miss", query="glass kettle", product_id=None))

    clusters = await items(client, "/v1/search-misses")
    assert [(c["query"], c["occurrences"]) for c in clusters] == [
        ("glass kettle", 3),
        ("bamboo lid", 1),
    ]
    assert clusters[1]["product_id"] == "prod-1"
    requirements = [
        e for e in await outbox_events(app) if e.type == "feedback.requirement.identified.v1"
    ]
    as_tuples = sorted(
        (e.data["kind"], e.data["text"], e.data["occurrences"]) for e in requirements
    )
    assert as_tuples == [
        ("requirement", "general", 2),
        ("search_miss", "bamboo lid", 1),
        ("search_miss", "glass kettle", 1),
        ("search_miss", "glass kettle", 2),
    ]
    glass = [e for e in requirements if e.data["text"] == "glass kettle"]
    assert glass[0].data["requirement_id"] == glass[1].data["requirement_id"] == clusters[0]["id"]
    assert set(glass[0].data) == {
        "requirement_id",
        "product_id",
        "product_type",
        "kind",
        "text",
        "quote",
        "occurrences",
        "occurred_at",
    }
    (requirement,) = [e for e in requirements if e.data["kind"] == "requirement"]
    assert requirement.subject == requirement.data["product_id"] == "prod-1"
    # The Kafka key is never null: without a product, the normalised query.
    assert all(e.subject for e in requirements)
    assert {e.subject for e in glass} == {"query:glass kettle"}
    (bamboo,) = [e for e in requirements if e.data["text"] == "bamboo lid"]
    assert bamboo.subject == bamboo.data["product_id"] == "prod-1"
    assert requirement.data["quote"] in {
        "I wish it had a timer",
        "Please add a keep-warm mode, I wish it had one",
    }


class GatedTriage(FakeTriage):
    """Waits for the test to open the gate: triage lag the test can see."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def triage(self, items: Sequence[TriageInput]) -> list[TriageResult]:
        self.gate.wait(timeout=30)
        return super().triage(items)


async def test_triage_lag_shows_in_readiness_and_metrics(
    settings: Settings, broker: EmbeddedBroker
) -> None:
    # /readyz reports ready only with a reachable broker.
    model = GatedTriage()
    app = create_app(settings, feedback=FAST, triage=lambda: model)
    async with running(app) as client:
        ids = [e["event_id"] for e in [event("question"), event("purchase")]]
        await ingest(client, event("question", event_id=ids[0]), event("purchase", event_id=ids[1]))

        async def lagging() -> bool:
            body = (await client.get("/readyz", headers=auth("admin"))).json()
            return body["triage"]["backlog"] == 1 and body["triage"]["oldest_waiting_s"] > 0

        await eventually(lagging, timeout_s=10)
        ready = await client.get("/readyz", headers=auth("admin"))
        assert ready.status_code == 200  # ingestion works while triage lags
        assert ready.json()["triage"]["model"] == "ready"
        metrics = (await client.get("/metrics")).text
        assert 'productops_feedback_triage_backlog{service="feedback"} 1.0' in metrics
        assert "productops_feedback_triage_lag_seconds" in metrics

        model.gate.set()
        await triaged(client, *ids)
        assert (await client.get("/readyz", headers=auth("admin"))).json()["triage"]["backlog"] == 0


async def test_a_text_the_model_cannot_read_does_not_hold_up_the_rest(
    client: httpx.AsyncClient,
) -> None:
    bad, good = await send(client, review("explode-the-model please"), review("Lid cracked"))
    assert (await client.get(f"/v1/customer-events/{bad}", headers=READ)).json()[
        "triage"
    ] == "failed"
    assert (await client.get(f"/v1/customer-events/{good}", headers=READ)).json()[
        "triage"
    ] == "done"
    ready = (await client.get("/readyz", headers=auth("admin"))).json()
    assert ready["triage"]["failed"] == 1
    assert [i["event_id"] for i in await items(client, "/v1/feedback")] == [good]
