"""Security issue 12, finding 4: a storefront key could stall the catalog's consumer.

Feedback and the catalog read a text's words the same way (`shared.text`) and take the same
product ids (`shared.product_ids`), so what a storefront sends cannot make feedback publish
a requirement the catalog refuses; and an event the catalog does refuse goes to the dead
letters at once (`shared.faults.InvalidEvent`), so it holds nothing back.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.catalog.app import create_app as create_catalog
from services.catalog.requirements.domain import requirement_key, tokens
from services.catalog.requirements.events import REQUIREMENT_IDENTIFIED
from services.feedback.app import create_app as create_feedback
from services.feedback.ingest.search_misses import normalize_query
from shared.broker import EmbeddedBroker
from shared.events import CloudEvent, new_event
from shared.tables import dead_letter
from tests.catalog.requirements.test_handlers import (
    TOPIC,
    all_committed,
    handled,
    produce,
    requirements_with,
)
from tests.feedback.conftest import FAST, event, ingest, outbox_events, triaged
from tests.feedback.fakes import FakeTriage
from tests.support import eventually, running

UNDERSCORES = ["_", "___", "__ _ __", "\uff3f\uff3f"]  # the last: fullwidth low lines


@pytest.fixture
async def feedback(
    make_settings: Any, tmp_path: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The feedback service (API and triage worker, no consumer) on its own SQLite file."""
    settings = make_settings(
        feedback_database_url=f"sqlite+aiosqlite:///{tmp_path / 'feedback.db'}",
        run_consumers=False,
    )
    app = create_feedback(settings, feedback=FAST, triage=FakeTriage, threshold=0.8)
    async with running(app) as client:
        yield app, client


def identified(subject: str, text: str, **data: Any) -> CloudEvent:
    """A requirement event as feedback publishes it, on `subject`'s partition."""
    body = {
        "kind": "search_miss",
        "text": text,
        "occurrences": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    body.update(data)
    return new_event(source="/feedback", type=REQUIREMENT_IDENTIFIED, subject=subject, data=body)


@pytest.mark.parametrize("query", [*UNDERSCORES, "?!", "kettle_lid", "don't", "1,7l kettle"])
def test_feedback_and_the_catalog_find_the_same_words(query: str) -> None:
    # The catalog stems and drops stop words; the words it starts from are feedback's.
    assert tokens(normalize_query(query)) == tokens(query)
    assert (normalize_query(query) == "") == (requirement_key(query) == "")


async def test_an_underscore_only_search_publishes_no_requirement(
    feedback: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = feedback
    misses = [event("search_miss", query=query, product_id=None) for query in UNDERSCORES]
    good = event("search_miss", query="glass_kettle", product_id=None)
    assert (await ingest(client, *misses, good))["accepted"] == 5
    await triaged(client, *(miss["event_id"] for miss in [*misses, good]))

    requirements = [e.data for e in await outbox_events(app) if e.type == REQUIREMENT_IDENTIFIED]
    assert [r["text"] for r in requirements] == ["glass kettle"]


async def test_a_product_id_the_catalog_cannot_hold_is_refused_at_ingestion(
    feedback: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = feedback
    too_long = event("search_miss", product_id="p" * 37)
    fits = event("search_miss", product_id=str(uuid.uuid4()))
    body = await ingest(client, too_long, fits)
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {
            "index": 0,
            "errors": [
                {
                    "loc": ["product_id"],
                    "msg": "must be 1-36 of A-Z, a-z, 0-9, '.', '_', ':' or '-'",
                }
            ],
        }
    ]


async def dead_letters(app: FastAPI) -> list[Any]:
    async with app.state.runtime.db.reader() as session:
        return list((await session.execute(select(dead_letter))).all())


@pytest.mark.broker
async def test_invalid_events_are_dead_lettered_at_once_and_hold_back_nothing(
    make_settings: Any, broker: EmbeddedBroker, tmp_path: Any
) -> None:
    # Twenty events the catalog refuses, then a good one, all on one partition (one subject).
    # A retry would wait 30 s: with retries the good event would come minutes later.
    subject = f"query:{uuid.uuid4().hex}"
    bad = [identified(subject, "___") for _ in range(10)] + [
        identified(subject, f"kettle {n}", product_id="p" * 64) for n in range(10)
    ]
    word = uuid.uuid4().hex[:10]
    good = identified(subject, f"kettle with {word}")
    await produce(broker.bootstrap, [*bad, good])

    settings = make_settings(
        catalog_database_url=f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}",
        consumer_max_attempts=5,
        consumer_backoff_s=30,
    )
    app = create_catalog(settings)
    async with running(app):
        await eventually(lambda: handled(app, good.id), timeout_s=30)
        assert len(await requirements_with(app, requirement_key(f"kettle with {word}"))) == 1
        letters = {row.event_id: row for row in await dead_letters(app)}
        assert {one.id for one in bad} <= set(letters)
        assert {(letters[one.id].attempts, letters[one.id].error_type) for one in bad} == {
            (1, "InvalidEvent")
        }
        await eventually(lambda: all_committed(broker.bootstrap, "catalog", TOPIC))
