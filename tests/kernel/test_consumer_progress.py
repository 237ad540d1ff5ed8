"""A consumer whose lag stops falling rebuilds itself instead of sitting there."""

from __future__ import annotations

import time

import pytest

from shared.consumer import ConsumerStalled, EventConsumer
from shared.settings import Settings
from shared.uow import UnitOfWork


def no_unit_of_work() -> UnitOfWork:
    raise AssertionError("the progress check opens no unit of work")


def consumer(stall_s: float) -> EventConsumer:
    settings = Settings(kafka_bootstrap="127.0.0.1:1", consumer_stall_s=stall_s)
    return EventConsumer(
        group="g", topics=["t"], handlers={}, uow_factory=no_unit_of_work, settings=settings
    )


def test_lag_without_progress_past_the_limit_is_a_stall() -> None:
    stuck = consumer(stall_s=5)
    stuck.lag = {"t/0": 3}
    stuck.last_progress = time.monotonic() - 6
    with pytest.raises(ConsumerStalled, match="lag 3"):
        stuck._check_progress()


def test_lag_with_recent_progress_is_not_a_stall() -> None:
    busy = consumer(stall_s=5)
    busy.lag = {"t/0": 3}
    busy.last_progress = time.monotonic() - 1
    busy._check_progress()


def test_no_lag_counts_as_progress() -> None:
    idle = consumer(stall_s=5)
    idle.lag = {"t/0": 0, "t/1": 0}
    idle.last_progress = time.monotonic() - 600
    idle._check_progress()
    # Events arriving after the idle spell are not a stall: the quiet time counted as progress.
    idle.lag = {"t/0": 3, "t/1": 0}
    idle._check_progress()
