"""A fake triage model that keeps the `Triage` contract, for API and worker tests, one that
is out of order for a while, and a clock that moves when told.

It reads keywords: a topic word picks the embedding's axis (so paraphrases about one part
land together and different parts apart), safety words make a critical defect, and "maybe"
makes it unsure (confidence 0.3).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from services.feedback.triage import Category, Severity, TriageInput, TriageResult

TOPICS = ("lid", "handle", "cable", "button", "colour", "size", "price", "stock", "app")
_SAFETY = re.compile(r"\b(burn\w*|fire|smok\w*|shock\w*|injur\w*|melt\w*)\b")
_DEFECT = re.compile(r"\b(broke\w*|crack\w*|leak\w*|stopped|fault\w*|loose)\b")


def _embedding(topic: str) -> tuple[float, ...]:
    axis = TOPICS.index(topic) if topic in TOPICS else len(TOPICS)
    vector = [0.0] * (len(TOPICS) + 1)
    vector[axis] = 1.0
    vector[(axis + 1) % len(vector)] = 0.1  # not exactly one-hot: the norm matters
    norm = math.sqrt(sum(x * x for x in vector))
    return tuple(x / norm for x in vector)


class FakeTriage:
    """Deterministic keyword triage; counts its calls so tests can see batching."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def triage(self, items: Sequence[TriageInput]) -> list[TriageResult]:
        self.batches.append(len(items))
        return [self._one(item) for item in items]

    def _one(self, item: TriageInput) -> TriageResult:
        text = item.text.casefold()
        if "explode-the-model" in text:
            raise ValueError("the fake cannot read this")
        topic = next((t for t in TOPICS if t in text), "general")
        safety = bool(_SAFETY.search(text))
        if safety:
            category, severity, sentiment = Category.DEFECT, Severity.CRITICAL, -0.9
        elif "completely dead" in text:
            category, severity, sentiment = Category.DEFECT, Severity.CRITICAL, -0.8
        elif _DEFECT.search(text):
            category, severity, sentiment = Category.DEFECT, Severity.HIGH, -0.6
        elif "?" in text:
            category, severity, sentiment = Category.QUESTION, Severity.LOW, 0.0
        elif "wish" in text or "please add" in text:
            category, severity, sentiment = Category.REQUIREMENT, Severity.MEDIUM, -0.1
        elif "love" in text or "great" in text:
            category, severity, sentiment = Category.PRAISE, Severity.LOW, 0.8
        else:
            category, severity, sentiment = Category.OTHER, Severity.LOW, 0.0
        return TriageResult(
            category=category,
            severity=severity,
            sentiment=sentiment,
            safety_hazard=safety,
            embedding=_embedding(topic),
            topic=topic,
            confidence=0.3 if "maybe" in text else 0.95,
        )


class FlakyTriage(FakeTriage):
    """The fake model, failing its first `failures` calls (every call while `failures` is
    None) the way a model fails when its runtime is out of order; `heal()` ends that."""

    def __init__(self, failures: int | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.failed = 0
        self._lock = threading.Lock()  # the worker calls from its thread, tests from theirs

    def heal(self) -> None:
        with self._lock:
            self.failures = self.failed

    def triage(self, items: Sequence[TriageInput]) -> list[TriageResult]:
        with self._lock:
            if self.failures is None or self.failed < self.failures:
                self.failed += 1
                raise RuntimeError("the model's runtime is out of order")
        return super().triage(items)


class FakeClock:
    """A `Clock` that stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by
