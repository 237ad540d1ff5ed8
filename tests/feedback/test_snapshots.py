"""`productops republish feedback`: one `feedback.finding.snapshot.v1` per finding, keyed by
its product and, like the finding events, without a `sequence`; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from shared.settings import Settings
from shared.stack.republish import republish
from shared.tables import outbox
from tests.feedback.conftest import WRITE, event, ingest, items, outbox_events, triaged

SNAPSHOT = "feedback.finding.snapshot.v1"


async def test_one_snapshot_per_finding_as_it_is_now(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    database_url: str,
) -> None:
    reviews = [
        event("review", rating=1, text="The lid cracked after a week"),
        event("review", rating=1, text="The lid cracked again", product_id="prod-2"),
        event("question", text="Is it dishwasher safe?"),
    ]
    await ingest(client, *reviews)
    await triaged(client, *(r["event_id"] for r in reviews))
    findings = await items(client, "/v1/findings")
    assert len(findings) == 3
    acknowledged = await client.post(
        f"/v1/findings/{findings[0]['id']}/status", json={"status": "acknowledged"}, headers=WRITE
    )
    assert acknowledged.status_code == 200, acknowledged.text
    before = await outbox_events(app)
    # The latest event of each finding, less what only a change carries.
    latest = {
        e.data["finding_id"]: {k: v for k, v in e.data.items() if k not in ("changed", "note")}
        for e in before
        if e.type.startswith("feedback.finding.")
    }

    settings = make_settings(feedback_database_url=database_url, outbox_chunk_rows=2)
    assert await republish(settings, "feedback") == 3

    snapshots = (await outbox_events(app))[len(before) :]
    assert [e.type for e in snapshots] == [SNAPSHOT] * 3
    assert {e.data["finding_id"]: e.data for e in snapshots} == latest
    assert latest[findings[0]["id"]]["status"] == "acknowledged"
    assert all(e.subject == e.data["product_id"] and e.sequence is None for e in snapshots)
    async with app.state.runtime.db.reader() as session:
        keys = (await session.scalars(select(outbox.c.key).where(outbox.c.type == SNAPSHOT))).all()
    assert sorted(keys) == sorted(e.data["product_id"] for e in snapshots)
