"""End to end with the real triage model (the app's default `load_triage`): categories,
critical safety whatever the rating, paraphrases in one finding and different problems apart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from services.feedback.app import create_app
from shared.settings import Settings
from tests.feedback.conftest import FAST, event, ingest, items, triaged
from tests.support import running


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        make_settings(feedback_database_url=database_url, run_consumers=False), feedback=FAST
    )
    async with running(app) as http:
        yield http


TEXTS = {
    "burn": ("review", 5, "The lid burned my hand when I poured the water"),
    "voltage": ("question", None, "Does this kettle work with 110V outlets?"),
    "love": ("review", 5, "Absolutely love it, boils fast and looks great on the counter"),
    "lid1": ("review", 2, "The lid won't close properly anymore"),
    "lid2": ("review", 2, "Lid doesn't shut all the way, it keeps popping open"),
    "lid3": ("support_ticket", None, "The lid no longer stays closed"),
    "base1": ("review", 2, "The base leaks water onto the counter"),
    "base2": ("review", 1, "Water drips out from under the base"),
    "bulk": ("question", None, "How much for 50 units for our office?"),
}


def as_event(name: str) -> dict:
    kind, rating, text = TEXTS[name]
    fields: dict = {"event_id": f"real-{name}", "text": text}
    if kind == "review":
        fields["rating"] = rating
    if kind == "support_ticket":
        fields["subject"] = "Lid"
    return event(kind, **fields)


async def test_the_real_model_triages_and_groups(client: httpx.AsyncClient) -> None:
    await ingest(client, *(as_event(name) for name in TEXTS))
    await triaged(client, *(f"real-{name}" for name in TEXTS))

    found = {i["event_id"].removeprefix("real-"): i for i in await items(client, "/v1/feedback")}
    assert set(found) == set(TEXTS)
    # A five-star review that says the lid burned someone is a critical defect.
    assert (found["burn"]["category"], found["burn"]["severity"]) == ("defect", "critical")
    assert found["burn"]["safety_hazard"] is True
    assert found["voltage"]["category"] == "question"
    assert found["love"]["category"] == "praise"
    assert found["love"]["sentiment"] > 0.5
    assert found["base1"]["sentiment"] < 0

    lid = {found[n]["finding_id"] for n in ("lid1", "lid2", "lid3")}
    base = {found[n]["finding_id"] for n in ("base1", "base2")}
    assert len(lid) == 1, "paraphrases of one problem share a finding"
    assert len(base) == 1
    assert lid != base, "different problems do not"
    findings = {f["id"]: f for f in await items(client, "/v1/findings")}
    assert findings[lid.pop()]["item_count"] == 3

    escalations = {(e["route"], e["rule"]) for e in await items(client, "/v1/escalations")}
    assert escalations == {("pm", "critical_defect"), ("sales", "sales_question")}
