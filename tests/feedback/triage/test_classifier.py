"""The linear classifier's arithmetic (classifier.py): pure, no model."""

from __future__ import annotations

import numpy as np
import pytest

from services.feedback.triage import classifier as linear


def fitted(seed: int, classes: tuple[str, ...] = ("safe", "hazard")) -> linear.LinearClassifier:
    rows = np.random.default_rng(seed).normal(size=(60, 5))
    labels = [classes[int(row[0] + row[1] > 0)] for row in rows]
    return linear.fit(rows, labels, classes, l2=1.0, iterations=200)


def logits(model: linear.LinearClassifier, rows: np.ndarray) -> np.ndarray:
    return np.log(model.probabilities(rows))


def test_the_mean_of_two_classifiers_has_the_mean_of_their_logits() -> None:
    a, b = fitted(1), fitted(2)
    rows = np.random.default_rng(3).normal(size=(20, 5))
    mean = linear.mean_of_logits(a, b)
    expected = (logits(a, rows) + logits(b, rows)) / 2
    # Softmax logits are known up to a constant per row: compare the two classes' difference.
    np.testing.assert_allclose(
        np.diff(logits(mean, rows), axis=1), np.diff(expected, axis=1), rtol=1e-4, atol=1e-4
    )
    assert mean.classes == a.classes


def test_a_classifier_is_its_own_mean() -> None:
    a = fitted(1)
    rows = np.random.default_rng(4).normal(size=(10, 5))
    np.testing.assert_allclose(
        linear.mean_of_logits(a, a).probabilities(rows), a.probabilities(rows), atol=1e-5
    )


def test_classifiers_of_other_classes_have_no_mean() -> None:
    with pytest.raises(ValueError, match="classes differ"):
        linear.mean_of_logits(fitted(1), fitted(2, classes=("no", "yes")))
