"""Storage details: finding centroids pack to float32."""

from __future__ import annotations

import pytest

from services.feedback.triaging import pack, unpack


def test_embedding_sums_are_stored_as_float32() -> None:
    vector = [0.1, -2.5, 3.25, 1e-3]
    stored = pack(vector)
    assert len(stored) == 4 * len(vector)
    assert unpack(stored) == pytest.approx(vector, rel=1e-6)
