"""`settle_heap`, run by a served component once its app is built: what is alive then is out
of the collector's generations, and garbage made afterwards is still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from shared.app import settle_heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def thawed() -> Iterator[None]:
    # The test process must not keep the frozen heap for the tests after this one.
    yield
    gc.unfreeze()


def test_start_up_objects_are_frozen_and_later_garbage_is_collected(thawed: None) -> None:
    garbage_before = weakref.ref(Node())
    kept = Node()
    settle_heap()
    assert garbage_before() is None, "what was garbage at start-up is collected first"
    assert gc.get_freeze_count() > 0
    assert not any(obj is kept for obj in gc.get_objects()), "alive then, frozen now"

    garbage_after = weakref.ref(Node())
    gc.collect()
    assert garbage_after() is None
