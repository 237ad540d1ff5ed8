"""`/v1/dead-letters` of the sample service: list, replay through the handler and inbox,
discard; admin only; every bad input answers problem+json.

Most tests store their dead letters with the store's own function in an app that runs no
consumer (replay must work on an API-only replica); the last one takes them from the consumer
on the real broker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select, update

from shared.broker import ensure_topics, free_port
from shared.dead_letters import DeadLetter, record_dead_letter, value_id
from shared.errors import Invalid
from shared.events import CloudEvent, encode, kafka_headers, new_event
from shared.inbox import apply_event
from shared.settings import Settings
from shared.tables import dead_letter, inbox, outbox
from shared.uow import UnitOfWork
from tests.kernel.sample_service import count_note, create_app
from tests.kernel.test_delivery import produce, seen_count, unique
from tests.support import TEST_SECRET, assert_problem, auth, eventually, running

NOTE = "sample.note.created.v1"
ADMIN = auth("admin", subject="key-operator")
TOPIC = "sample.events"


class BreakableNoteHandler:
    """count_note, refusing every event while `broken` (a rule that was wrong, then fixed)."""

    def __init__(self) -> None:
        self.broken = True

    async def __call__(self, event: CloudEvent, uow: UnitOfWork) -> None:
        if self.broken:
            raise Invalid("the rules refuse notes for now")
        await count_note(event, uow)


@pytest.fixture
def handler() -> BreakableNoteHandler:
    return BreakableNoteHandler()


@pytest.fixture
def app(tmp_path: Path, handler: BreakableNoteHandler) -> FastAPI:
    """The sample service as an API-only replica: no consumer, no relay, no broker."""
    settings = Settings(
        data_dir=tmp_path,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        jwt_secret=SecretStr(TEST_SECRET),
        run_consumers=False,
        run_relay=False,
    )
    return create_app(settings, handlers={NOTE: handler})


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as http:
        yield http


def note(subject: str, text: str = "hello") -> CloudEvent:
    return new_event(source="/sample", type=NOTE, subject=subject, data={"text": text})


async def store(
    app: FastAPI,
    value: bytes,
    *,
    event: CloudEvent | None = None,
    offset: int = 0,
    error: BaseException | None = None,
) -> str:
    """Dead-letter `value` as the consumer would; returns the letter's id."""
    record = ConsumerRecord(TOPIC, 1, offset, 0, 0, b"k", value, None, 0, 0, kafka_headers())
    letter = DeadLetter(
        consumer="sample",
        event_id=event.id if event else value_id(TOPIC, value),
        type=event.type if event else None,
        record=record,
        error=error or Invalid("the rules refuse notes for now"),
        attempts=1 if event else 0,
    )
    async with app.state.runtime.uow() as uow:
        await record_dead_letter(uow.session, dialect=uow.dialect, letter=letter, now=now())
    async with app.state.runtime.db.reader() as session:
        return await session.scalar(
            select(dead_letter.c.id).where(dead_letter.c.event_id == letter.event_id)
        )


def now() -> datetime:
    return datetime.now(UTC)


async def letters(client: httpx.AsyncClient, **params: Any) -> dict:
    response = await client.get("/v1/dead-letters", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


# --- Listing -----------------------------------------------------------------------------


async def test_list_is_newest_first_filtered_and_paged(app, client):
    first = await store(app, encode(note("a")), event=note("a"), offset=1)
    garbage = await store(app, b"\xff not json", offset=2, error=ValueError("Unexpected byte"))
    last = await store(app, encode(note("c")), event=note("c"), offset=3)

    everything = await letters(client)
    assert [item["id"] for item in everything["items"]] == [last, garbage, first]
    assert everything["next_cursor"] is None
    shown = everything["items"][1]
    assert shown["source"] == "consumer"
    assert shown["value_encoding"] == "base64"
    assert shown["status"] == "open"
    assert shown["type"] is None
    assert shown["headers"] == [["content-type", "application/cloudevents+json"]]
    assert everything["items"][0]["value_encoding"] == "utf-8"

    assert [i["id"] for i in (await letters(client, type=NOTE))["items"]] == [last, first]
    assert [i["id"] for i in (await letters(client, error="UNEXPECTED"))["items"]] == [garbage]
    assert [i["id"] for i in (await letters(client, error="invalid"))["items"]] == [last, first]
    assert len((await letters(client, topic=TOPIC, consumer="sample"))["items"]) == 3
    assert (await letters(client, consumer="pricing"))["items"] == []
    assert (await letters(client, status="replayed"))["items"] == []

    page_one = await letters(client, limit=2)
    page_two = await letters(client, limit=2, cursor=page_one["next_cursor"])
    assert [i["id"] for i in page_one["items"] + page_two["items"]] == [last, garbage, first]
    assert page_two["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyJhIiwiYiJd"}, "cursor"),  # ["a","b"]: well-formed, wrong shape
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"status": "lost"}, "status"),
        ({"error": "x" * 201}, "error"),
        ({"type": ""}, "type"),
    ],
)
async def test_bad_list_queries_are_422(client, params, where):
    response = await client.get("/v1/dead-letters", params=params, headers=ADMIN)
    body = assert_problem(response, 422)
    assert any(where in error["loc"] for error in body["errors"]), body


# --- Replay ------------------------------------------------------------------------------


async def test_a_failed_replay_keeps_the_new_error_and_a_fixed_handler_closes_it(
    app, client, handler
):
    event = note(unique("replayed"), "applied at last")
    letter = await store(app, encode(event), event=event, error=RuntimeError("first failure"))

    failed = await client.post(f"/v1/dead-letters/{letter}/replay", headers=ADMIN)
    body = assert_problem(failed, 409, detail_has="the rules refuse notes for now")
    assert body["error_type"] == "Invalid"
    still_open = (await letters(client))["items"][0]
    assert still_open["status"] == "open"
    assert still_open["error_type"] == "Invalid"
    assert still_open["attempts"] == 2

    handler.broken = False
    replayed = await client.post(f"/v1/dead-letters/{letter}/replay", headers=ADMIN)
    assert replayed.status_code == 200, replayed.text
    closed = replayed.json()
    assert closed["outcome"] == "handled"
    assert closed["status"] == "replayed"
    assert closed["resolved_by"] == "key-operator"
    assert closed["resolved_at"] is not None
    assert await seen_count(app, event.subject) == 1
    assert await inbox_count(app, event.id) == 1

    again = await client.post(f"/v1/dead-letters/{letter}/replay", headers=ADMIN)
    assert_problem(again, 409, detail_has="already replayed")
    assert await seen_count(app, event.subject) == 1


async def inbox_count(app: FastAPI, event_id: str) -> int:
    async with app.state.runtime.db.reader() as session:
        return await session.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id == event_id)
        )


async def test_replaying_an_event_the_inbox_already_holds_changes_nothing(app, client, handler):
    handler.broken = False
    event = note(unique("twice"))
    # Applied meanwhile, e.g. by a redelivery the consumer handled.
    record = ConsumerRecord(TOPIC, 0, 9, 0, 0, None, encode(event), None, 0, 0, ())
    await apply_event(
        app.state.runtime.uow, consumer="sample", record=record, event=event, handler=handler
    )
    letter = await store(app, encode(event), event=event)
    replayed = await client.post(f"/v1/dead-letters/{letter}/replay", headers=ADMIN)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["outcome"] == "duplicate"
    assert await seen_count(app, event.subject) == 1


async def test_replaying_a_value_that_is_no_event_is_409(app, client):
    letter = await store(app, b"{broken", error=ValueError("not json"))
    response = await client.post(f"/v1/dead-letters/{letter}/replay", headers=ADMIN)
    body = assert_problem(response, 409, detail_has="the replay failed")
    assert body["error_type"] == "JSONDecodeError"
    assert (await letters(client))["items"][0]["error_type"] == "JSONDecodeError"


# --- Discard -----------------------------------------------------------------------------


async def test_discard_keeps_the_reason_and_closes_the_letter(app, client):
    letter = await store(app, encode(note("d")), event=note("d"))
    path = f"/v1/dead-letters/{letter}/discard"
    response = await client.post(path, json={"reason": "a test note, never meant"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    closed = response.json()
    assert (closed["status"], closed["reason"]) == ("discarded", "a test note, never meant")
    assert closed["resolved_by"] == "key-operator"

    again = await client.post(path, json={"reason": "twice"}, headers=ADMIN)
    assert_problem(again, 409, detail_has="already discarded")
    replay = await client.post(f"/v1/dead-letters/{letter}/replay", headers=ADMIN)
    assert_problem(replay, 409, detail_has="already discarded")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
        ({"reason": "ok", "status": "open"}, "status"),
    ],
)
async def test_discard_needs_a_reason_and_nothing_else(app, client, body, where):
    letter = await store(app, encode(note("r")), event=note("r"))
    response = await client.post(f"/v1/dead-letters/{letter}/discard", json=body, headers=ADMIN)
    problem = assert_problem(response, 422)
    assert any(where in error["loc"] for error in problem["errors"]), problem
    assert (await letters(client))["items"][0]["status"] == "open"


@pytest.mark.parametrize("action", ["replay", "discard"])
async def test_an_unknown_letter_is_404(client, action):
    response = await client.post(
        f"/v1/dead-letters/no-such-letter/{action}", json={"reason": "gone"}, headers=ADMIN
    )
    assert_problem(response, 404, detail_has="no-such-letter")


# --- Parked outbox events ------------------------------------------------------------------


async def park(app: FastAPI, subject: str, error: str = "RecordTooLargeError: too big") -> str:
    """An event of this service's outbox, set aside as the relay does with one the broker
    can never take (the relay's own parking is tested in test_relay_failures.py)."""
    event = note(subject)
    async with app.state.runtime.uow() as uow:
        uow.publish(event)
    async with app.state.runtime.uow() as uow:
        await uow.session.execute(
            update(outbox)
            .where(outbox.c.id == event.id)
            .values(parked_at=now(), last_error=error, attempts=1)
        )
    return event.id


async def test_parked_events_are_listed_with_the_outbox_source(app, client):
    first = await park(app, "p1")
    second = await park(app, "p2", error="InvalidTopicError: bad name")
    await store(app, encode(note("m1")), event=note("m1"))

    listed = (await letters(client, source="outbox"))["items"]
    assert [(item["source"], item["id"], item["status"]) for item in listed] == [
        ("outbox", second, "open"),
        ("outbox", first, "open"),
    ]
    assert listed[0]["error_message"] == "InvalidTopicError: bad name"
    assert listed[0]["type"] == NOTE
    filtered = (await letters(client, source="outbox", error="TOOLARGE"))["items"]
    assert [item["id"] for item in filtered] == [first]
    # The consumer's letters stay apart, under the default source.
    assert [item["source"] for item in (await letters(client))["items"]] == ["consumer"]


@pytest.mark.parametrize(
    ("params", "where"), [({"consumer": "sample"}, "consumer"), ({"status": "replayed"}, "status")]
)
async def test_parked_listing_refuses_what_outbox_events_do_not_have(client, params, where):
    response = await client.get(
        "/v1/dead-letters", params={"source": "outbox", **params}, headers=ADMIN
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["query", where]


async def test_a_parked_event_is_requeued_once_for_the_relay(app, client):
    event_id = await park(app, "p1")

    response = await client.post(f"/v1/dead-letters/{event_id}/replay", headers=ADMIN)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "requeued"
    assert await app.state.runtime.relay.parked() == 0
    assert (await letters(client, source="outbox"))["items"] == []
    again = await client.post(f"/v1/dead-letters/{event_id}/replay", headers=ADMIN)
    assert_problem(again, 409, detail_has="not parked")


async def test_a_parked_event_is_discarded_with_its_reason(app, client):
    event_id = await park(app, "p1")

    response = await client.post(
        f"/v1/dead-letters/{event_id}/discard", json={"reason": "a test event"}, headers=ADMIN
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["source"], body["status"], body["reason"]) == (
        "outbox",
        "discarded",
        "a test event",
    )
    assert body["resolved_at"] is not None
    assert await app.state.runtime.relay.parked() == 0
    kept = (await letters(client, source="outbox", status="discarded"))["items"]
    assert [item["id"] for item in kept] == [event_id]
    for action in ("discard", "replay"):
        again = await client.post(
            f"/v1/dead-letters/{event_id}/{action}", json={"reason": "again"}, headers=ADMIN
        )
        assert_problem(again, 409, detail_has="already discarded")


async def test_an_event_still_queued_is_no_dead_letter(app, client):
    event = note("q1")
    async with app.state.runtime.uow() as uow:
        uow.publish(event)
    response = await client.post(f"/v1/dead-letters/{event.id}/replay", headers=ADMIN)
    assert_problem(response, 409, detail_has="not parked")


# --- Access ------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/v1/dead-letters"),
    ("POST", "/v1/dead-letters/some-id/replay"),
    ("POST", "/v1/dead-letters/some-id/discard"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_without_a_token_it_is_401(client, method, path):
    response = await client.request(method, path, json={"reason": "r"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_without_the_admin_scope_it_is_403(client, method, path):
    headers = auth("catalog:read catalog:write pricing:approve")
    response = await client.request(method, path, json={"reason": "r"}, headers=headers)
    body = assert_problem(response, 403, detail_has="admin")
    assert body["required_scope"] == "admin"


# --- Counts --------------------------------------------------------------------------------


async def test_counts_per_group_and_status_in_readyz_and_metrics(app, client):
    kept = await store(app, encode(note("m1")), event=note("m1"))
    await store(app, encode(note("m2")), event=note("m2"))
    await client.post(f"/v1/dead-letters/{kept}/discard", json={"reason": "r"}, headers=ADMIN)

    # 503 here: this replica has no broker
    ready = (await client.get("/readyz", headers=ADMIN)).json()
    assert ready["dead_letters"] == {"sample": {"open": 1, "replayed": 0, "discarded": 1}}
    metrics = (await client.get("/metrics")).text
    assert (
        'productops_dead_letters{consumer="sample",service="sample",status="open"} 1.0' in metrics
    )
    assert (
        'productops_dead_letters{consumer="sample",service="sample",status="discarded"} 1.0'
        in metrics
    )


# --- From the consumer, on the real broker ---------------------------------------------------


@pytest.mark.broker
async def test_a_letter_the_consumer_stored_replays_into_the_same_inbox(
    make_settings, broker, handler
):
    topic = unique("sample.events")
    app = create_app(make_settings(), consumes=[topic], handlers={NOTE: handler})
    event = note(unique("consumed"), "late")
    await ensure_topics(broker.bootstrap, [topic], partitions=3)
    await produce(broker.bootstrap, topic, [(event.subject.encode(), encode(event))])
    async with running(app) as client:

        async def dead_lettered() -> bool:
            return app.state.runtime.consumer.dead_lettered == 1

        await eventually(dead_lettered)
        [letter] = (await letters(client, topic=topic))["items"]
        assert (letter["event_id"], letter["attempts"]) == (event.id, 1)
        assert letter["error_message"] == "the rules refuse notes for now"

        handler.broken = False
        replayed = await client.post(f"/v1/dead-letters/{letter['id']}/replay", headers=ADMIN)
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["outcome"] == "handled"
        assert await seen_count(app, event.subject) == 1
        assert await inbox_count(app, event.id) == 1
