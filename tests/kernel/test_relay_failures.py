"""The outbox relay's failure paths, against the real embedded broker (reliability issue 9)."""

from __future__ import annotations

import gc
import warnings

import pytest

from shared.broker import EmbeddedBroker

pytestmark = pytest.mark.broker


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
