"""The embedding model: shape, unit length, meaning, and refusal of a tampered file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from services.feedback.triage import ModelIntegrityError, similarity
from services.feedback.triage.encoder import (
    EMBEDDING_DIM,
    MODEL_SHA256,
    RUN_COST_TOKENS,
    TOKENIZER_PATH,
    Encoder,
    default_model_path,
    plan_batches,
)
from services.feedback.triage.int8_matmul import with_int8_matmuls
from services.feedback.triage.pipeline import ModelTriage

TEXTS = [
    "The lid of the kettle burned my hand.",
    "I scalded my fingers on the kettle's hot lid.",
    "Does this phone case come in blue?",
    "Battery dies after two hours.",
    "",
]


def test_embeddings_are_unit_length_rows_of_384(model: ModelTriage) -> None:
    vectors = model.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_texts(model: ModelTriage) -> None:
    lid, scald, blue, battery, _ = (tuple(v.tolist()) for v in model.embed(TEXTS))
    assert similarity(lid, scald) > 0.6
    assert similarity(lid, scald) > similarity(lid, blue) + 0.4
    assert similarity(lid, scald) > similarity(lid, battery) + 0.3
    assert similarity(lid, lid) == pytest.approx(1.0, abs=1e-5)


def test_an_embedding_does_not_depend_on_its_batch(model: ModelTriage) -> None:
    alone = model.embed([TEXTS[0]])[0]
    together = model.embed([*TEXTS, "a much longer text " * 40])[0]
    assert float(alone @ together) > 0.999


def test_batches_take_each_text_once_shortest_first_and_pad_little() -> None:
    lengths = [40, 12, 12, 13, 200, 12, 14, 41, 12, 12, 12]
    batches = plan_batches(lengths, batch_size=4)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(len(batch) <= 4 for batch in batches)
    longest = [max(lengths[i] for i in batch) for batch in batches]
    assert longest == sorted(longest)
    for batch in batches:
        padding = sum(max(lengths[i] for i in batch) - lengths[i] for i in batch)
        assert padding <= RUN_COST_TOKENS * (len(batch) - 1)
    # The six texts of 12 tokens fill a batch of four before any longer text joins them.
    assert [lengths[i] for i in batches[0]] == [12, 12, 12, 12]
    assert [[lengths[i] for i in batch] for batch in batches[1:]] == [
        [12, 12, 13, 14],
        [40, 41],
        [200],
    ]
    assert plan_batches([]) == []


def test_long_texts_are_truncated_not_refused(model: ModelTriage) -> None:
    assert model.embed(["word " * 5000]).shape == (1, EMBEDDING_DIM)


def test_the_installed_model_is_the_pinned_one() -> None:
    import hashlib

    assert hashlib.sha256(default_model_path().read_bytes()).hexdigest() == MODEL_SHA256


def _flip_a_byte(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    tampered = _flip_a_byte(default_model_path(), tmp_path / "model.onnx")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        Encoder(model_path=tampered)


def test_a_tampered_tokenizer_is_refused(tmp_path: Path) -> None:
    tampered = _flip_a_byte(TOKENIZER_PATH, tmp_path / "tokenizer.json")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        Encoder(tokenizer_path=tampered)


def test_an_untampered_copy_loads(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    shutil.copyfile(default_model_path(), copy)
    assert Encoder(model_path=copy).encode(["fine"]).shape == (1, EMBEDDING_DIM)


def test_every_linear_layer_multiplies_in_int8_close_to_the_float_products() -> None:
    # MODEL.md, "Fourteenth round": all 36 weight-only int8 layers of the six blocks (query,
    # key, value, attention output, two feed-forward) multiply in int8, per token row.
    _, rewritten = with_int8_matmuls(default_model_path().read_bytes())
    assert rewritten == 36
    int8 = Encoder().encode(TEXTS[:4])
    float32 = Encoder(int8_products=False).encode(TEXTS[:4])
    cosines = np.sum(int8 * float32, axis=1)
    assert cosines.min() > 0.99
    assert not np.array_equal(int8, float32)
