"""Every service takes each event type it handles only from where the type's owner writes
it (security issue 12, finding 11): the origin the consumer checks agrees with the owner's
registry (topic) and its events module (`SOURCE`)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from shared.settings import Settings
from shared.stack.components import GATEWAY, event_registries, load_factory, service_names


@pytest.mark.parametrize("service", service_names())
def test_each_handled_type_is_taken_from_its_owners_topic_and_source(
    service: str, tmp_path: Path
) -> None:
    registries = event_registries()
    app = load_factory(service)(Settings(data_dir=tmp_path, run_consumers=False))
    origins = app.state.runtime.dead_letters.origins
    # The service's own handlers, and the kernel's of the gateway's key revocations.
    assert set(origins) == set(app.state.runtime.handlers)
    for event_type, origin in origins.items():
        owner = next(name for name, registry in registries.items() if event_type in registry)
        # A service's events module names its source; the gateway's key management does.
        module = "gateway.keys" if owner == GATEWAY else f"services.{owner}.events"
        source = importlib.import_module(module).SOURCE
        written_to = registries[owner].topic(event_type, service=owner)
        assert (origin.topic, origin.source) == (written_to, source), event_type
