"""An encoder that reads each text once, for the offline tools that triage the same texts
with several models (`evaluate --dev`'s folds, `refit`'s served and refitted models).

Not for the service: it keeps every reading for its lifetime, and is not thread-safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from services.feedback.triage.encoder import BATCH_SIZE

Spans = Sequence[tuple[int, int]]
# A reading's key: the text and the spans read in it.
_Key = tuple[str, tuple[tuple[int, int], ...]]


class SpanEncoder(Protocol):
    """What triage needs of an encoder (`encoder.Encoder`): unit embeddings of texts, and of
    spans of them read in their context."""

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray: ...

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Spans], *, batch_size: int = BATCH_SIZE
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...


class RememberingEncoder:
    """Embeds each (text, spans) once through `encoder` and gives the same rows after: a
    reading depends on nothing but the text and its spans (test_outputs_kept)."""

    def __init__(self, encoder: SpanEncoder) -> None:
        self.encoder = encoder
        self.readings: dict[_Key, tuple[np.ndarray, np.ndarray]] = {}

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        return self.encode_spans(texts, [()] * len(texts), batch_size=batch_size)[0]

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Spans], *, batch_size: int = BATCH_SIZE
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        keys: list[_Key] = [
            (text, tuple((start, end) for start, end in each))
            for text, each in zip(texts, spans, strict=True)
        ]
        new = [key for key in dict.fromkeys(keys) if key not in self.readings]
        if new:
            embeddings, sentences = self.encoder.encode_spans(
                [text for text, _ in new], [list(each) for _, each in new], batch_size=batch_size
            )
            self.readings.update(zip(new, zip(embeddings, sentences, strict=True), strict=True))
        rows = [self.readings[key] for key in keys]
        embedded = np.array([row for row, _ in rows], dtype=np.float32).reshape(len(keys), -1)
        return embedded, [spans_read for _, spans_read in rows]
