"""The offline tools' remembering encoder: each (text, spans) read once, the same rows after."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.feedback.triage.pipeline import ModelTriage
from services.feedback.triage.remembering import RememberingEncoder, Spans


def test_it_reads_each_text_once_and_gives_the_encoders_rows(model: ModelTriage) -> None:
    calls: list[list[str]] = []

    class Counting:
        def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
            return model.encoder.encode(texts, batch_size=batch_size)

        def encode_spans(
            self, texts: Sequence[str], spans: Sequence[Spans], *, batch_size: int = 32
        ) -> tuple[np.ndarray, list[np.ndarray]]:
            calls.append(list(texts))
            return model.encoder.encode_spans(texts, spans, batch_size=batch_size)

    remembering = RememberingEncoder(Counting())
    text = "The lid cracked. It leaks now."
    first = remembering.encode([text, "Lovely kettle."])
    again = remembering.encode(["Lovely kettle.", text, text])
    assert calls == [[text, "Lovely kettle."]]
    assert np.array_equal(again, first[[1, 0, 0]])
    assert np.allclose(first, model.encoder.encode([text, "Lovely kettle."]), atol=1e-6)
    # The same text read with spans is another reading, made once too.
    embeddings, sentences = remembering.encode_spans([text], [[(0, 16), (17, 30)]])
    remembering.encode_spans([text], [[(0, 16), (17, 30)]])
    assert len(calls) == 2
    assert np.array_equal(embeddings[0], first[0])
    assert sentences[0].shape == (2, first.shape[1])
