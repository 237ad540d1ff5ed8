"""When two items about one product are the same problem: cosine similarity of embeddings.

SAME_PROBLEM_THRESHOLD was chosen on the train part of the seed set by `evaluate.py`: among
pairs of items about one product that both name a problem, the threshold with the best F1 of
"same problem" (paraphrases above, different problems below), rounded to two decimals.
Re-run `python -m services.feedback.triage.evaluate` after changing the model or the seed set;
it prints the threshold the train part would choose next to this constant.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

SAME_PROBLEM_THRESHOLD = 0.4


def similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two L2-normalised embeddings (their dot product), in -1..1."""
    if len(a) != len(b):
        raise ValueError(f"embeddings of different sizes: {len(a)} and {len(b)}")
    return max(-1.0, min(1.0, sum(map(operator.mul, a, b))))


def best_threshold(pairs: Iterable[tuple[float, bool]]) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of `score > threshold` against `same`, over 0.01 steps."""
    scored = list(pairs)
    best = (1.0, 0.0)
    for step in range(100):
        threshold = step / 100
        f1 = pair_scores(scored, threshold)[2]
        if f1 > best[1]:
            best = (threshold, f1)
    return best


def pair_scores(
    pairs: Iterable[tuple[float, bool]], threshold: float
) -> tuple[float, float, float]:
    """(precision, recall, F1) of "same problem" when a pair scores above `threshold`."""
    tp = fp = fn = 0
    for score, same in pairs:
        predicted = score > threshold
        tp += predicted and same
        fp += predicted and not same
        fn += same and not predicted
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
