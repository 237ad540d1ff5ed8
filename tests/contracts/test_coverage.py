"""Every event type one service publishes and another consumes has a contract test here.

The consumed types come from each registered service's handler map (its `ServiceSpec`), the
producers from the services' event registries: a new consumer of another service's event
fails this test until a contract test for that type is added.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from shared.settings import Settings
from shared.stack.components import event_registries, load_factory, service_names
from tests.contracts import (
    test_catalog_product_events,
    test_feedback_events,
    test_launch_events,
    test_launch_goals,
    test_launch_inputs,
)
from tests.support import TEST_SECRET

COVERED = {
    *test_catalog_product_events.CONTRACTS,
    *test_feedback_events.CONTRACTS,
    *test_launch_events.CONTRACTS,
    *test_launch_goals.CONTRACTS,
    *test_launch_inputs.CONTRACTS,
}


def consumed_types(tmp_path: Path) -> dict[str, set[str]]:
    """The event types each service's consumer hands to a handler, by service."""
    # Building an app opens nothing: no database connection, broker or consumer until its
    # lifespan starts.
    settings = Settings(data_dir=tmp_path, jwt_secret=SecretStr(TEST_SECRET), run_consumers=False)
    return {
        name: set(load_factory(name)(settings).state.runtime.spec.handlers)
        for name in service_names()
    }


def test_every_consumed_type_has_a_producer_and_a_contract_test(tmp_path: Path) -> None:
    producers = {
        event_type: service
        for service, registry in event_registries().items()
        for event_type in registry.types
    }
    crossing = set()
    for consumer, types in consumed_types(tmp_path).items():
        for event_type in types:
            assert event_type in producers, f"{consumer} handles {event_type}, which no one sends"
            assert producers[event_type] != consumer, f"{consumer} consumes its own {event_type}"
            crossing.add(event_type)
    assert crossing == COVERED
