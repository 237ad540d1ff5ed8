"""`GET /v1/customer-events/stats`: events stored per minute, by the service's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.feedback.app import create_app
from shared.settings import Settings
from tests.feedback.conftest import FAST, READ, event, ingest
from tests.feedback.fakes import FakeClock, FakeTriage
from tests.support import assert_problem, auth


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2030, 5, 1, 12, 0, 30, tzinfo=UTC))


@pytest.fixture
def app(settings: Settings, fake_triage: FakeTriage, clock: FakeClock) -> FastAPI:
    return create_app(settings, feedback=FAST, triage=lambda: fake_triage, clock=clock)


async def test_events_are_counted_per_minute_of_arrival(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    # Stamped by the service's clock: events may be at most 90 days old.
    recent = {"occurred_at": "2030-05-01T11:00:00Z"}
    await ingest(client, *(event("question", **recent) for _ in range(3)))
    clock.advance(timedelta(minutes=2))
    await ingest(client, event("question", **recent))
    replayed = event("question", **recent)
    await ingest(client, replayed)
    await ingest(client, replayed)  # a duplicate is not stored again
    clock.advance(timedelta(seconds=30))

    response = await client.get("/v1/customer-events/stats", params={"minutes": 4}, headers=READ)

    assert response.status_code == 200, response.text
    stats = response.json()
    assert [(m["start"], m["events"]) for m in stats["per_minute"]] == [
        ("2030-05-01T11:59:00Z", 0),
        ("2030-05-01T12:00:00Z", 3),
        ("2030-05-01T12:01:00Z", 0),
        ("2030-05-01T12:02:00Z", 2),
    ]
    assert stats["total"] == 5
    assert stats["minutes"] == 4
    assert stats["per_second"] == round(5 / 240, 3)


async def test_fifteen_minutes_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/customer-events/stats", headers=READ)

    assert len(response.json()["per_minute"]) == 15
    assert response.json()["total"] == 0


@pytest.mark.parametrize("minutes", ["0", "61", "soon"])
async def test_a_bad_window_is_a_422_problem(client: httpx.AsyncClient, minutes: str) -> None:
    response = await client.get(
        "/v1/customer-events/stats", params={"minutes": minutes}, headers=READ
    )

    assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", "minutes"]


async def test_ingestion_stats_need_feedback_read(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/customer-events/stats"), 401)
    denied = await client.get("/v1/customer-events/stats", headers=auth("feedback:ingest"))
    assert assert_problem(denied, 403)["required_scope"] == "feedback:read"
