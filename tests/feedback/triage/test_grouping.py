"""similarity() and the threshold helpers, without the model."""

from __future__ import annotations

import math

import pytest

from services.feedback.triage import SAME_PROBLEM_THRESHOLD, similarity
from services.feedback.triage.grouping import best_threshold, pair_scores


def unit(*values: float) -> tuple[float, ...]:
    norm = math.sqrt(sum(v * v for v in values))
    return tuple(v / norm for v in values)


def test_similarity_is_the_cosine_of_unit_vectors() -> None:
    a, b = unit(1, 0, 0), unit(1, 1, 0)
    assert similarity(a, a) == pytest.approx(1.0)
    assert similarity(a, b) == pytest.approx(math.sqrt(0.5))
    assert similarity(a, unit(-1, 0, 0)) == pytest.approx(-1.0)
    assert similarity(a, unit(0, 0, 1)) == pytest.approx(0.0)


def test_similarity_stays_in_range_and_refuses_mismatched_sizes() -> None:
    assert similarity((1.0000001, 0.0), (1.0000001, 0.0)) == 1.0
    with pytest.raises(ValueError, match="sizes"):
        similarity((1.0, 0.0), (1.0, 0.0, 0.0))


def test_the_threshold_is_a_cosine() -> None:
    assert 0.0 < SAME_PROBLEM_THRESHOLD < 1.0


def test_pair_scores_and_best_threshold() -> None:
    pairs = [(0.9, True), (0.7, True), (0.6, False), (0.3, False), (0.2, True)]
    assert pair_scores(pairs, 0.65) == pytest.approx((1.0, 2 / 3, 0.8))
    threshold, f1 = best_threshold(pairs)
    assert f1 == pytest.approx(0.8)
    assert 0.6 <= threshold < 0.7
    assert pair_scores([], 0.5) == (0.0, 0.0, 0.0)
