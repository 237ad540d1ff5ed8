"""Launch's event contract without a broker: the registry, the payloads the use cases
produce, and the CloudEvents envelope around them."""

from __future__ import annotations

import orjson
import pytest

from services.launch.domain import approve, cancel, plan_launch, refresh, reschedule
from services.launch.events import (
    SOURCE,
    Blocked,
    GateChanged,
    PlanCreated,
    PlanEvent,
    launch_event,
    registry,
)
from services.launch.facts import Facts
from shared.events import decode, encode
from tests.launch.builders import (
    APPROVER,
    GOOD,
    OWNER,
    PRODUCT,
    TARGET,
    TODAY,
    at,
    finding,
    new_plan,
    price,
    product,
    ready_plan,
)

TYPES = [
    "launch.approved.v1",
    "launch.at_risk.v1",
    "launch.blocked.v1",
    "launch.cancelled.v1",
    "launch.gate.changed.v1",
    "launch.launched.v1",
    "launch.plan.created.v1",
    "launch.ready.v1",
    "launch.rescheduled.v1",
]


def test_the_registry_holds_the_nine_launch_event_types() -> None:
    assert registry.types == TYPES
    for event_type in TYPES:
        model = registry.model(event_type)
        assert issubclass(model, PlanEvent)
        assert model.event_type == event_type  # type: ignore[attr-defined]
        assert registry.topic(event_type, service="launch") == "launch.events"
        assert model.model_json_schema()["type"] == "object"


def every_event() -> list[PlanEvent]:
    """One run through a plan's life that produces every event type."""
    critical = Facts(product(), (price(),), (finding(),))
    created = plan_launch(
        launch_id="launch-1",
        product_id=PRODUCT,
        price_list="web-eur",
        target_date=TARGET,
        actor=OWNER,
        facts=critical,
        now=at(0),
    )
    plan = ready_plan(target=TODAY)
    ready = refresh(refresh(plan, facts=critical, now=at(1)).plan, facts=GOOD, now=at(2))
    moved = reschedule(
        ready.plan, new_date=TARGET, reason="stock late", actor=OWNER, facts=GOOD, now=at(2)
    )
    launched = approve(ready_plan(target=TODAY), actor=APPROVER, facts=GOOD, now=at(1))
    at_risk = refresh(launched.plan, facts=critical, now=at(2))
    cancelled = cancel(new_plan(), reason="dropped", actor=None, now=at(1))
    return [
        *created.events,
        *ready.events,
        *moved.events,
        *launched.events,
        *at_risk.events,
        *cancelled.events,
    ]


def test_a_plans_life_produces_every_event_type_with_valid_payloads() -> None:
    events = every_event()
    assert {type(e).event_type for e in events} == set(TYPES)  # type: ignore[attr-defined]
    for payload in events:
        model = registry.model(type(payload).event_type)  # type: ignore[attr-defined]
        data = payload.model_dump(mode="json")
        assert model.model_validate(data) == payload
        assert data["product_id"] == PRODUCT


@pytest.mark.parametrize("sequence", [1, 42])
def test_an_event_travels_as_a_cloudevent_about_the_product(sequence: int) -> None:
    [created, blocked] = plan_launch(
        launch_id="launch-1",
        product_id=PRODUCT,
        price_list="web-eur",
        target_date=TARGET,
        actor=OWNER,
        facts=Facts(product(), (), ()),
        now=at(0),
    ).events
    assert isinstance(created, PlanCreated)
    assert isinstance(blocked, Blocked)
    envelope = decode(encode(launch_event(blocked, sequence=sequence)))
    assert (envelope.source, envelope.type, envelope.subject) == (
        SOURCE,
        "launch.blocked.v1",
        PRODUCT,
    )
    assert envelope.sequence_number == sequence
    payload = registry.payload(envelope)
    assert isinstance(payload, Blocked)
    [gate] = payload.blocking
    assert gate.name == "price_approved"
    assert gate.reasons[0].data == {"price_list": "web-eur", "target_date": TARGET.isoformat()}


def test_readers_ignore_fields_they_do_not_know() -> None:
    [created] = plan_launch(
        launch_id="launch-1",
        product_id=PRODUCT,
        price_list="web-eur",
        target_date=TARGET,
        actor=OWNER,
        facts=GOOD,
        now=at(0),
    ).events
    data = orjson.loads(orjson.dumps(created.model_dump(mode="json")))
    data["added_in_a_later_version"] = True
    assert PlanCreated.model_validate(data) == created
    assert GateChanged.model_fields.keys() >= {"gate", "previous_status", "previous_waived"}
