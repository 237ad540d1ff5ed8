"""The triage model: embeddings, a classifier trained on the seed set, and the text rules.

`load_triage()` builds it once per process (about two seconds: hashing and loading the model,
then embedding and fitting the train part of the seed set) and returns the same instance after.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.feedback.triage import classifier as linear
from services.feedback.triage.encoder import BATCH_SIZE, Encoder
from services.feedback.triage.labels import Category, TriageInput, TriageResult
from services.feedback.triage.rules import compose_text, decide_category, decide_severity
from services.feedback.triage.safety import is_hazard
from services.feedback.triage.seed import SEED_PATH, load_seed, split
from services.feedback.triage.sentiment import sentiment
from services.feedback.triage.topic import topic

KINDS = ("review", "return", "support_ticket", "question", "search_miss")
RATINGS = (None, 1, 2, 3, 4, 5)
CATEGORIES = tuple(category.value for category in Category)


def features(embeddings: np.ndarray, items: Sequence[TriageInput]) -> np.ndarray:
    """Classifier input: the embedding, the kind (one-hot) and the rating (one-hot, or none)."""
    extra = np.array(
        [
            [item.kind == kind for kind in KINDS]
            + [_rating(item.rating) == rating for rating in RATINGS]
            for item in items
        ],
        dtype=np.float32,
    ).reshape(len(items), len(KINDS) + len(RATINGS))
    return np.hstack([embeddings, extra])


def _rating(rating: int | None) -> int | None:
    return min(max(rating, 1), 5) if rating is not None else None


class ModelTriage:
    """The real Triage: thread-safe, so one instance serves every worker thread."""

    def __init__(self, *, encoder: Encoder, classifier: linear.LinearClassifier) -> None:
        self.encoder = encoder
        self.classifier = classifier

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of raw texts, one row per text."""
        return self.encoder.encode(texts)

    def triage(self, items: Sequence[TriageInput]) -> list[TriageResult]:
        """Triage a batch; one result per input, in order."""
        if not items:
            return []
        texts = [compose_text(item) for item in items]
        embeddings = self.encoder.encode(texts, batch_size=BATCH_SIZE)
        predicted = self.classifier.predict(features(embeddings, items))
        results = []
        for item, text, embedding, label in zip(items, texts, embeddings, predicted, strict=True):
            hazard = is_hazard(text)
            mood = sentiment(text, item.rating)
            category = decide_category(Category(label), item=item, text=text, hazard=hazard)
            results.append(
                TriageResult(
                    category=category,
                    severity=decide_severity(
                        category, item=item, text=text, sentiment=mood, hazard=hazard
                    ),
                    sentiment=mood,
                    safety_hazard=hazard,
                    embedding=tuple(embedding.tolist()),
                    topic=topic(text, kind=item.kind),
                )
            )
        return results


def build_triage(
    *, encoder: Encoder | None = None, seed_path: Path = SEED_PATH, threads: int = 1
) -> ModelTriage:
    """A new ModelTriage whose classifier is fitted on the train part of the seed set only."""
    encoder = encoder or Encoder(threads=threads)
    train, _ = split(load_seed(seed_path))
    inputs = [item.as_input() for item in train]
    embeddings = encoder.encode([compose_text(item) for item in inputs])
    fitted = linear.fit(
        features(embeddings, inputs), [item.category.value for item in train], CATEGORIES
    )
    return ModelTriage(encoder=encoder, classifier=fitted)


_lock = threading.Lock()
_loaded: dict[int, ModelTriage] = {}


def load_triage(*, threads: int = 1) -> ModelTriage:
    """The real model, built once per process (per thread count) from the shipped files."""
    with _lock:
        if threads not in _loaded:
            _loaded[threads] = build_triage(threads=threads)
        return _loaded[threads]
