"""A multinomial logistic regression in numpy: small, inspectable, reproducible.

Trained at load time on the train part of the seed set (a few hundred rows, well under a
second): features are standardised with the train mean and spread, the weights start at zero
and full-batch gradient descent runs a fixed number of steps on a convex loss, so the same
data gives the same weights on every machine. Classes are weighted by inverse frequency so
that the many defects in the seed set do not drown the rarer categories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The category classifier's L2 (the hazard classifier sets its own, `hazard.HAZARD_L2`). Chosen
# on the three development sets, leaving one product type out at a time: of 0.3, 1, 3, 10,
# 30, 100 and 300, 10 and 30 gave the best accuracy (0.903; 1: 0.891, 100: 0.891) and 30 the
# better macro F1 (0.905 against 0.902).
L2 = 30.0
ITERATIONS = 300
LEARNING_RATE = 0.5


@dataclass(frozen=True)
class LinearClassifier:
    """Softmax over standardised features: p(class | x) = softmax(((x - mean) / scale) W + b)."""

    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: np.ndarray

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per feature row, columns in `classes` order."""
        return _softmax(((features - self.mean) / self.scale) @ self.weights + self.bias)

    def predict(self, features: np.ndarray) -> list[str]:
        """The most probable class of each row."""
        return [self.classes[i] for i in self.probabilities(features).argmax(axis=1)]


def fit(
    features: np.ndarray,
    labels: Sequence[str],
    classes: Sequence[str],
    *,
    l2: float = L2,
    iterations: int = ITERATIONS,
    learning_rate: float = LEARNING_RATE,
) -> LinearClassifier:
    """Fit the classifier to labelled rows (every class in `classes` should occur)."""
    x = np.asarray(features, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0  # constant columns (e.g. a kind absent from the data) stay inert
    x = (x - mean) / scale
    index = {name: i for i, name in enumerate(classes)}
    y = np.zeros((len(labels), len(classes)))
    y[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    counts = y.sum(axis=0)
    row_weight = (y @ (len(labels) / (len(classes) * np.maximum(counts, 1.0))))[:, None]
    row_weight /= row_weight.sum()
    weights = np.zeros((x.shape[1], len(classes)))
    bias = np.zeros(len(classes))
    for _ in range(iterations):
        error = (_softmax(x @ weights + bias) - y) * row_weight
        weights -= learning_rate * (x.T @ error + l2 * weights / len(labels))
        bias -= learning_rate * error.sum(axis=0)
    return LinearClassifier(
        classes=tuple(classes),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        weights=weights.astype(np.float32),
        bias=bias.astype(np.float32),
    )


def mean_of_logits(a: LinearClassifier, b: LinearClassifier) -> LinearClassifier:
    """The classifier whose logits are the mean of `a`'s and `b`'s (same classes): one linear
    map of the raw features, so it is stored and read like any fitted classifier."""
    if a.classes != b.classes:
        raise ValueError(f"classes differ: {a.classes} and {b.classes}")

    def raw(model: LinearClassifier) -> tuple[np.ndarray, np.ndarray]:
        # ((x - mean) / scale) W + b  ==  x (W / scale) + (b - (mean / scale) W)
        weights = model.weights.astype(np.float64) / model.scale.astype(np.float64)[:, None]
        return weights, model.bias - (model.mean / model.scale).astype(np.float64) @ model.weights

    (weights_a, bias_a), (weights_b, bias_b) = raw(a), raw(b)
    width = weights_a.shape[0]
    return LinearClassifier(
        classes=a.classes,
        mean=np.zeros(width, dtype=np.float32),
        scale=np.ones(width, dtype=np.float32),
        weights=((weights_a + weights_b) / 2).astype(np.float32),
        bias=((bias_a + bias_b) / 2).astype(np.float32),
    )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
