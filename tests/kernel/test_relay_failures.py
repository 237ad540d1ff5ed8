"""The outbox relay's failure paths, against the real embedded broker (reliability issue 9)."""

from __future__ import annotations

import gc
import uuid
import warnings

import pytest
from sqlalchemy import func, select

from shared.broker import EmbeddedBroker
from shared.tables import outbox
from tests.kernel.sample_service import create_app
from tests.support import assert_problem, auth, running

pytestmark = pytest.mark.broker

WRITE = auth("catalog:write")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# 1. One oversized event must not stop a service's relay.


async def test_an_event_over_the_size_limit_is_refused_where_it_is_made(make_settings):
    app = create_app(make_settings(max_event_bytes=4096), handlers={})
    note_id = unique("huge")
    async with running(app) as client:
        response = await client.post(
            "/v1/notes", json={"id": note_id, "text": "x" * 5000}, headers=WRITE
        )
        body = assert_problem(response, 413, detail_has="4096")
        assert body["max_event_bytes"] == 4096
        assert body["event_type"] == "sample.note.created.v1"
        async with app.state.runtime.db.reader() as session:
            written = await session.scalar(select(func.count()).select_from(outbox))
        assert written == 0, "the whole transaction rolled back"
        ok = await client.post("/v1/notes", json={"id": unique("n"), "text": "x"}, headers=WRITE)
        assert ok.status_code == 201


# 6. The broker's log file.


def test_the_broker_log_file_is_closed_across_restarts(tmp_path):
    log_path = tmp_path / "broker.log"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        broker = EmbeddedBroker(log_path=log_path)
        for _ in range(2):
            broker.start()
            broker.stop()
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]
    assert log_path.exists()
