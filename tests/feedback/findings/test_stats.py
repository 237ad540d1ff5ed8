"""`GET /v1/findings/stats`: findings at a glance, counted in the database (with the fake
model), for every product or one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.feedback.app import create_app
from shared.settings import Settings
from tests.feedback.conftest import FAST, READ, WRITE, event, ingest, items, triaged
from tests.feedback.fakes import FakeClock, FakeTriage
from tests.support import assert_problem, auth, running


def review(text: str, product_id: str = "prod-1", **fields: object) -> dict[str, Any]:
    return event("review", rating=2, text=text, product_id=product_id, **fields)


async def stats(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get("/v1/findings/stats", params=params, headers=READ)
    assert response.status_code == 200, response.text
    return response.json()


async def test_counts_findings_escalations_and_sentiment_of_one_product_or_all(
    settings: Settings, fake_triage: FakeTriage
) -> None:
    clock = FakeClock(datetime.now(UTC))
    app = create_app(settings, feedback=FAST, triage=lambda: fake_triage, clock=clock)
    async with running(app) as client:
        sent = [
            review("The lid caught fire"),  # critical defect, escalated to the PM
            review("The cable frays and broke"),  # high defect
            event("review", rating=5, text="I love the colour", product_id="prod-1"),
            review("The lid broke", product_id="prod-2"),
        ]
        await ingest(client, *sent)
        await triaged(client, *(e["event_id"] for e in sent))
        (cable,) = [
            f
            for f in await items(client, "/v1/findings", product_id="prod-1")
            if f["topic"] == "cable"
        ]
        resolved = await client.post(
            f"/v1/findings/{cable['id']}/status", json={"status": "resolved"}, headers=WRITE
        )
        assert resolved.status_code == 200, resolved.text
        assert (await stats(client, product_id="prod-1"))["overdue_escalations"] == 0
        clock.advance(timedelta(days=2))  # past the critical defect's 24 h

        one = await stats(client, product_id="prod-1")
        every = await stats(client)

    opened = one.pop("opened_per_day")
    assert one == {
        "product_id": "prod-1",
        "open_findings": 2,
        "critical_open": 1,
        "by_category": {
            "defect": 1,
            "modification_request": 0,
            "requirement": 0,
            "question": 0,
            "praise": 1,
            "other": 0,
        },
        "by_severity": {"low": 1, "medium": 0, "high": 0, "critical": 1},
        "by_status": {"open": 2, "acknowledged": 0, "resolved": 1},
        "by_source": {"customer": 2, "internal": 0, "vendor": 0},
        "overdue_escalations": 1,
        "feedback_items": 3,
        "sentiment": pytest.approx((-0.9 - 0.6 + 0.8) / 3, abs=1e-3),
        "days": 14,
    }
    # Opened two days before "now": the resolved one too, it was opened all the same.
    assert sum(sum(day["by_severity"].values()) for day in opened) == 3
    assert every["product_id"] is None
    assert every["open_findings"] == 3
    assert every["by_category"]["defect"] == 2
    assert every["by_severity"]["high"] == 1
    assert every["feedback_items"] == 4


async def test_a_product_feedback_never_heard_of_counts_nothing(client: httpx.AsyncClient) -> None:
    found = await stats(client, product_id="unknown")

    assert found["open_findings"] == 0
    assert found["feedback_items"] == 0
    assert found["sentiment"] is None


async def test_stats_errors(client: httpx.AsyncClient) -> None:
    too_long = await client.get(
        "/v1/findings/stats", params={"product_id": "p" * 129}, headers=READ
    )
    body = assert_problem(too_long, 422)
    assert body["errors"][0]["loc"] == ["query", "product_id"]
    assert_problem(await client.get("/v1/findings/stats"), 401)
    denied = await client.get("/v1/findings/stats", headers=auth("feedback:ingest"))
    assert assert_problem(denied, 403)["required_scope"] == "feedback:read"


async def test_findings_opened_per_day_by_severity_by_the_services_clock(
    settings: Settings, fake_triage: FakeTriage
) -> None:
    clock = FakeClock(datetime(2030, 5, 10, 23, 30, tzinfo=UTC))
    app = create_app(settings, feedback=FAST, triage=lambda: fake_triage, clock=clock)
    async with running(app) as client:
        # Sent when they happened by the service's clock (an event older than
        # PRODUCTOPS_INGEST_MAX_AGE_DAYS is refused).
        def recent() -> str:
            return (clock() - timedelta(minutes=10)).isoformat()

        first = [
            review("The lid caught fire", occurred_at=recent()),
            review("The cable frays and broke", product_id="prod-2", occurred_at=recent()),
        ]
        await ingest(client, *first)
        await triaged(client, *(e["event_id"] for e in first))
        clock.advance(timedelta(days=2))  # 2030-05-12, 23:30
        later = review("The lid caught fire", product_id="prod-3", occurred_at=recent())
        await ingest(client, later)
        await triaged(client, later["event_id"])

        three = await stats(client, days="3")
        one_product = await stats(client, days="3", product_id="prod-2")
        today = await stats(client, days="1")
        default = await stats(client)

    nothing = {"low": 0, "medium": 0, "high": 0, "critical": 0}
    assert three["days"] == 3
    assert three["opened_per_day"] == [
        {"day": "2030-05-10", "by_severity": {**nothing, "critical": 1, "high": 1}},
        {"day": "2030-05-11", "by_severity": nothing},
        {"day": "2030-05-12", "by_severity": {**nothing, "critical": 1}},
    ]
    assert [day["by_severity"]["high"] for day in one_product["opened_per_day"]] == [1, 0, 0]
    assert today["opened_per_day"] == [
        {"day": "2030-05-12", "by_severity": {**nothing, "critical": 1}}
    ]
    assert default["days"] == 14
    days = [day["day"] for day in default["opened_per_day"]]
    assert (len(days), days[0], days[-1]) == (14, "2030-04-29", "2030-05-12")


@pytest.mark.parametrize("days", ["0", "91", "soon"])
async def test_a_bad_number_of_days_is_a_422_problem(client: httpx.AsyncClient, days: str) -> None:
    response = await client.get("/v1/findings/stats", params={"days": days}, headers=READ)

    assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", "days"]
